package config

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Mosquitto features midge cannot honour yet, and what ignoring them would
// cost. A feature whose absence weakens security (a plugin that
// authenticates, a TLS-PSK listener) or silently breaks what the file asks
// for (a bridge that forwards nothing) stops the broker from starting,
// naming file, line and key, unless allow_unsupported names it; midge then
// starts without it and says what is lost. The kinds allow_unsupported
// takes:
const (
	unsupportedPlugin = "plugin" // plugins are not loaded
	unsupportedBridge = "bridge" // bridge sections are ignored
	unsupportedPSK    = "psk"    // TLS-PSK listeners are not opened
)

// validUnsupported reports whether kind is one allow_unsupported takes.
func validUnsupported(kind string) bool {
	return kind == unsupportedPlugin || kind == unsupportedBridge || kind == unsupportedPSK
}

// refusal is a directive that stops the import unless its kind is allowed.
type refusal struct {
	_                [0]func() // not comparable: no equality function in the binary
	where, key, kind string
	why              string // the error: what would go wrong
	loss             string // the note when allowed: what the user loses
	listener         int    // psk: the listener not to open (-1 = the default one, -2 = none)
}

// refuse records a refusal, settled once every file is read. Not inlined,
// like note.
//
//go:noinline
func (im *importer) refuse(d *line, kind, why, loss string, listener int) {
	im.refusals = append(im.refusals, refusal{where: d.where, key: d.key, kind: kind, why: why, loss: loss, listener: listener})
}

// allowUnsupported is the midge directive `allow_unsupported <kind>...`.
func allowUnsupported(im *importer, d *line) error {
	if len(d.args) == 0 {
		return fmt.Errorf("expected one or more of plugin, bridge, psk")
	}
	for _, k := range d.args {
		if !validUnsupported(k) {
			return fmt.Errorf("unknown kind %q (plugin, bridge, psk)", k)
		}
		im.c.AllowUnsupported = append(im.c.AllowUnsupported, k)
	}
	return nil
}

// settle turns each refusal into an error, or into a note (and a listener
// not opened) when allow_unsupported names its kind, wherever in the files
// that was said.
func (im *importer) settle() {
	for _, r := range im.refusals {
		if !im.c.allows(r.kind) {
			im.errs = append(im.errs, fmt.Sprintf("%s: %s: %s; to start without it, add `allow_unsupported %s` (see docs/mosquitto-migration.md)",
				r.where, r.key, r.why, r.kind))
			continue
		}
		im.note(r.where, r.key, r.loss)
		switch {
		case r.listener >= 0:
			im.c.Listeners[r.listener].Protocol = "skip"
		case r.listener == -1:
			im.defaultLn.Protocol = "skip"
		}
	}
}

// allows reports whether allow_unsupported names kind.
func (c *Config) allows(kind string) bool {
	for _, k := range c.AllowUnsupported {
		if k == kind {
			return true
		}
	}
	return false
}

// listenerIndex is the current listener's index, -1 for the default one.
func (im *importer) listenerIndex() int {
	if im.listener == nil {
		return -1
	}
	return len(im.c.Listeners) - 1
}

// psk: psk_hint turns TLS-PSK on for the current listener, psk_file names
// the keys (the listener's under per_listener_settings). Go's TLS has no
// PSK, and opening the listener without it would let its clients in with
// no key at all.
func psk(im *importer, d *line) error {
	if d.key == "psk_file" && !im.perLn {
		im.refuse(d, unsupportedPSK,
			"TLS-PSK is not available in Go's TLS, and the listeners that use these keys would accept clients without one",
			"TLS-PSK is not available in Go's TLS: the keys are not read, and no listener offers PSK", -2)
		return nil
	}
	port := im.current().Port
	im.refuse(d, unsupportedPSK,
		fmt.Sprintf("TLS-PSK is not available in Go's TLS, and listener %d would accept clients without a key", port),
		fmt.Sprintf("TLS-PSK is not available in Go's TLS: listener %d is not opened, so its PSK clients cannot connect (move them to certificates, see docs/mosquitto-migration.md)", port),
		im.listenerIndex())
	return nil
}

// plugin: plugin, auth_plugin, global_plugin and 2.1's plugin_load <name>
// <path>. A C plugin cannot be loaded into a static Go binary; an
// authentication or ACL plugin left out would let in clients it exists to
// refuse.
func plugin(im *importer, d *line) error {
	path := d.rest
	if d.key == "plugin_load" && len(d.args) > 0 {
		path = strings.TrimSpace(strings.TrimPrefix(path, d.args[0]))
	}
	if path == "" {
		return fmt.Errorf("expected a plugin path")
	}
	im.plugin = path
	if strings.Contains(filepath.Base(path), "persist_sqlite") {
		im.note(d.where, d.key, "Mosquitto's persist-sqlite plugin is not loaded: midge's own store replaces it (persistence true, persistence_location)")
		return nil
	}
	im.refuse(d, unsupportedPlugin,
		"plugins cannot be loaded into midge, and starting without "+path+" would skip the authentication and access checks it makes",
		path+" is not loaded: clients are checked by allow_anonymous, password_file and acl_file only, and whatever else the plugin did is not done", -2)
	return nil
}

// pluginOption: plugin_opt_*, auth_opt_*, auth_plugin_deny_special_chars
// and plugin_use belong to the last plugin, which is refused or noted as a
// whole.
func pluginOption(im *importer, d *line) error {
	if im.plugin == "" {
		return fmt.Errorf("requires plugin, global_plugin or plugin_load before it")
	}
	return nil
}

// connection starts a bridge section. Bridges are not implemented: a
// broker that starts with one forwards nothing, which the file's author
// would not notice until messages go missing.
func connection(im *importer, d *line) error {
	if len(d.args) == 0 {
		return fmt.Errorf("expected: connection <name>")
	}
	im.bridge = d.args[0]
	im.refuse(d, unsupportedBridge,
		fmt.Sprintf("bridges are not supported yet; bridge %q would forward nothing", im.bridge),
		fmt.Sprintf("bridges are not supported yet: bridge %q is not started and forwards nothing in either direction; its options are ignored", im.bridge), -2)
	return nil
}

// bridgeOption is any option of a bridge section: it belongs to the last
// `connection`, which is refused or noted as a whole.
func bridgeOption(im *importer, d *line) error {
	if im.bridge == "" {
		return fmt.Errorf("requires a bridge to be defined first (connection <name>)")
	}
	return nil
}

// refused are directives midge cannot honour and that would weaken
// security if ignored, with no way to start without them: the file must
// change.
func refused(im *importer, d *line) error {
	switch d.key {
	case "bind_interface":
		return fmt.Errorf("not supported yet, and the listener would accept connections on every interface; use bind_address with the interface's address")
	case "mount_point":
		return fmt.Errorf("not supported yet, and this listener's clients would reach every topic outside %q; give them their own ACL instead", d.rest)
	default: // clientid_prefixes
		return fmt.Errorf("not supported, and clients with any other id would be let in; use a password file or an ACL instead")
	}
}
