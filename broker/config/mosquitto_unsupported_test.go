package config

import (
	"strings"
	"testing"
)

// Never fail open: a feature whose absence weakens security or silently
// breaks the file refuses the import, naming file, line and key, unless
// allow_unsupported names it; then the broker starts without it and the
// notes say what is lost.
func TestMosquittoUnsupportedRefused(t *testing.T) {
	dir := t.TempDir()
	body := strings.Join([]string{
		"listener 8883",           // 1
		"psk_hint device",         // 2
		"listener 1884",           // 3
		"plugin /usr/lib/auth.so", // 4
		"plugin_opt_backends http",
		"auth_plugin_deny_special_chars true",
		"connection cloud", // 7
		"address cloud.example:8883",
		"topic # out 1",
	}, "\n") + "\n"
	p := write(t, dir, "mosquitto.conf", body)
	_, err := Load(p)
	if err == nil {
		t.Fatal("started with a PSK listener, a plugin and a bridge")
	}
	for _, want := range []string{
		"mosquitto.conf:2: psk_hint: TLS-PSK is not available in Go's TLS, and listener 8883 would accept clients without a key; to start without it, add `allow_unsupported psk`",
		"mosquitto.conf:4: plugin: plugins cannot be loaded into midge, and starting without /usr/lib/auth.so would skip the authentication and access checks",
		"mosquitto.conf:7: connection: bridges are not supported yet; bridge \"cloud\" would forward nothing; to start without it, add `allow_unsupported bridge`",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != 3 {
		t.Errorf("%d errors, want 3 (the options of a plugin or a bridge are part of it):\n%v", n, err)
	}

	// allowed, wherever the opt-out stands (here after the directives, in
	// two lines): the PSK listener is not opened, the rest starts.
	p = write(t, dir, "mosquitto.conf", body+"allow_unsupported plugin\nallow_unsupported bridge psk\n")
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Listeners) != 1 || c.Listeners[0].Port != 1884 {
		t.Fatalf("listeners %+v, want only 1884", c.Listeners)
	}
	notes := strings.Join(c.Notes, "\n")
	for _, want := range []string{
		"mosquitto.conf:2: psk_hint: TLS-PSK is not available in Go's TLS: listener 8883 is not opened",
		"mosquitto.conf:4: plugin: /usr/lib/auth.so is not loaded: clients are checked by allow_anonymous, password_file and acl_file only",
		"mosquitto.conf:7: connection: bridges are not supported yet: bridge \"cloud\" is not started and forwards nothing",
	} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
	if strings.Contains(notes, "address") || strings.Contains(notes, "plugin_opt") {
		t.Errorf("a bridge's or a plugin's options noted one by one:\n%s", notes)
	}
	if out, err := c.TOML(); TOMLSupported && err != nil || TOMLSupported && !strings.Contains(string(out), "allow_unsupported = ['plugin', 'bridge', 'psk']") {
		t.Errorf("converted: %v\n%s", err, out)
	}
}

func TestMosquittoUnsupportedDetails(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]string{
		// options outside their section, as Mosquitto refuses them
		"address h:1883\n":                  "mosquitto.conf:1: address: requires a bridge to be defined first",
		"plugin_opt_db x\n":                 "mosquitto.conf:1: plugin_opt_db: requires plugin, global_plugin or plugin_load before it",
		"auth_opt_x y\n":                    "mosquitto.conf:1: auth_opt_x: requires plugin",
		"allow_unsupported tls\n":           "mosquitto.conf:1: allow_unsupported: unknown kind \"tls\"",
		"allow_unsupported\n":               "mosquitto.conf:1: allow_unsupported: expected one or more of plugin, bridge, psk",
		"global_plugin /p.so\n":             "mosquitto.conf:1: global_plugin: plugins cannot be loaded",
		"auth_plugin /p.so\n":               "mosquitto.conf:1: auth_plugin: plugins cannot be loaded",
		"psk_file /etc/psk\n":               "mosquitto.conf:1: psk_file: TLS-PSK is not available in Go's TLS, and the listeners that use these keys",
		"connection\n":                      "mosquitto.conf:1: connection: expected: connection <name>",
		"listener 1\nbind_interface eth0\n": "mosquitto.conf:2: bind_interface: not supported yet, and the listener would accept connections on every interface",
		"listener 1\nmount_point tenant/\n": "mosquitto.conf:2: mount_point: not supported yet, and this listener's clients would reach every topic outside \"tenant/\"",
		"clientid_prefixes sec-\n":          "mosquitto.conf:1: clientid_prefixes: not supported, and clients with any other id would be let in",
		// no opt-out for these: the file must change
		"allow_unsupported plugin bridge psk\nlistener 1\nbind_interface eth0\n": "bind_interface: not supported yet",
	}
	for body, want := range cases {
		p := write(t, dir, "mosquitto.conf", body)
		if _, err := Load(p); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", body, err, want)
		}
	}

	// Mosquitto's persist-sqlite plugin is replaced by midge's own store:
	// a note, not a refusal, and its options are accepted.
	p := write(t, dir, "mosquitto.conf", "plugin /usr/lib/mosquitto_persist_sqlite.so\nplugin_opt_db_file /var/lib/m.db\n")
	c, err := Load(p)
	if err != nil || !strings.Contains(strings.Join(c.Notes, "\n"), "mosquitto.conf:1: plugin: Mosquitto's persist-sqlite plugin is not loaded: midge's own store replaces it") {
		t.Fatalf("persist-sqlite: %v %v", err, c)
	}

	// A global psk_file, allowed: nothing to skip, a note.
	p = write(t, dir, "mosquitto.conf", "listener 1883\npsk_file /etc/psk\nallow_unsupported psk\n")
	if c, err = Load(p); err != nil || len(c.Listeners) != 1 || !strings.Contains(strings.Join(c.Notes, "\n"), "psk_file: TLS-PSK is not available in Go's TLS: the keys are not read") {
		t.Fatalf("global psk_file: %v %+v", err, c)
	}

	// The opt-out from a board file (TOML) applies to the mosquitto.conf
	// on top of it; a TOML value is checked like the directive.
	if TOMLSupported {
		b := write(t, dir, "board.toml", "allow_unsupported = [\"bridge\"]\n")
		p = write(t, dir, "mosquitto.conf", "listener 1883\nconnection b\naddress h\n")
		if _, err := LoadWithBoard(p, b); err != nil {
			t.Fatalf("board's allow_unsupported: %v", err)
		}
		p = write(t, dir, "m.toml", "allow_unsupported = [\"bridges\"]\n")
		if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "m.toml:1: allow_unsupported: unknown kind \"bridges\"") {
			t.Fatalf("TOML allow_unsupported: %v", err)
		}
	}
}

// Directives midge accepts without acting on them say what the user loses.
func TestMosquittoIgnoredSayWhatIsLost(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "mosquitto.conf", "listener 1883\ncheck_retain_source true\nsocket_domain ipv6\ndhparamfile /d\nretain_expiry_interval 60\n")
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	notes := strings.Join(c.Notes, "\n")
	for _, want := range []string{
		"mosquitto.conf:2: check_retain_source: retained messages are delivered without re-checking that their publisher may still write to the topic",
		"mosquitto.conf:3: socket_domain: the address family follows bind_address",
		"mosquitto.conf:4: dhparamfile: no DHE key exchange",
		"mosquitto.conf:5: retain_expiry_interval: retained messages do not expire",
	} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
	for _, n := range c.Notes {
		if strings.Contains(n, "not supported yet (") {
			t.Errorf("a note that does not say what is lost: %s", n)
		}
	}
}

// LocalOnly marks configurations whose listener is the embedded loopback
// default because no file configured one: only then does -p move it.
func TestLocalOnly(t *testing.T) {
	dir := t.TempDir()
	if !Default().LocalOnly {
		t.Error("the embedded default is not local only")
	}
	cases := map[string]bool{
		"mosquitto.conf|max_keepalive 60\n":              true,
		"mosquitto.conf|listener 1883\n":                 false,
		"mosquitto.conf|port 1884\n":                     false,
		"mosquitto.conf|listener 1\nprotocol http_api\n": true, // its only listener is skipped
	}
	if TOMLSupported {
		cases["m.toml|max_keepalive = 60\n"] = true
		cases["m.toml|[[listener]]\nport = 1884\n"] = false
	}
	for k, want := range cases {
		name, body, _ := strings.Cut(k, "|")
		c, err := Load(write(t, dir, name, body))
		if err != nil {
			t.Fatal(err)
		}
		if c.LocalOnly != want {
			t.Errorf("%s %q: LocalOnly %v, want %v", name, body, c.LocalOnly, want)
		}
	}
	if TOMLSupported {
		b := write(t, dir, "board.toml", "[[listener]]\nport = 1885\nprotocol = \"mqtt\"\n")
		c, err := LoadWithBoard("", b)
		if err != nil || c.LocalOnly || len(c.Listeners) != 1 || c.Listeners[0].Port != 1885 {
			t.Fatalf("board with a listener: %v %+v", err, c)
		}
	}
}
