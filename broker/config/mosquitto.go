package config

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ImportMosquitto reads a mosquitto.conf with Mosquitto's parser rules:
// a comment is a line whose first byte is '#'; tokens are separated by
// spaces only; options after `listener` belong to that listener; an unknown
// directive is an error naming file and line. Directives midge does not
// implement yet are accepted and recorded in Notes with their line.
func ImportMosquitto(path string, data []byte) (*Config, error) {
	return importOver(Default(), path, data)
}

// importOver imports a mosquitto.conf over base (a board's settings).
func importOver(base *Config, path string, data []byte) (*Config, error) {
	im := &importer{c: base, defaultLn: Listener{Port: 1883, Protocol: "mqtt"}}
	im.c.Listeners = nil
	im.c.Source = path
	im.main = path
	if err := im.file(path, data, true); err != nil {
		return nil, err
	}
	return im.finish()
}

type importer struct {
	c          *Config
	main       string
	listener   *Listener
	defaultLn  Listener // from port / bind_address
	useDefault bool
	globalMax  bool // global_max_connections was given
	anonSet    bool
	perLn      bool   // per_listener_settings true
	secSeen    string // where the first security option was, before per_listener_settings
	errs       []string
	logDests   []string
	logTypes   []string
}

func (im *importer) file(path string, data []byte, top bool) error {
	lines := strings.Split(string(data), "\n")
	for i, raw := range lines {
		line := strings.TrimRight(raw, "\r\n")
		if line == "" || line[0] == '#' {
			continue
		}
		where := fmt.Sprintf("%s:%d", path, i+1)
		toks := strings.FieldsFunc(line, func(r rune) bool { return r == ' ' })
		if len(toks) == 0 {
			continue
		}
		key := toks[0]
		rest := strings.TrimSpace(strings.TrimPrefix(strings.TrimLeft(line, " "), key))
		if key == "include_dir" {
			if !top {
				im.errs = append(im.errs, where+": include_dir: only allowed in the main configuration file")
				continue
			}
			if err := im.includeDir(where, rest); err != nil {
				im.errs = append(im.errs, err.Error())
			}
			continue
		}
		if err := im.directive(where, key, toks[1:], rest); err != nil {
			im.errs = append(im.errs, fmt.Sprintf("%s: %s: %v", where, key, err))
		}
	}
	return nil
}

func (im *importer) includeDir(where, dir string) error {
	if dir == "" {
		return fmt.Errorf("%s: include_dir: missing directory", where)
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(filepath.Dir(im.main), dir)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("%s: include_dir: %v", where, err)
	}
	var names []string
	for _, e := range ents {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".conf") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names) // byte order: case-sensitive, like Mosquitto
	for _, n := range names {
		p := filepath.Join(dir, n)
		if abs, _ := filepath.Abs(p); abs != "" {
			if m, _ := filepath.Abs(im.main); m == abs {
				return fmt.Errorf("%s: include_dir: %s contains the main configuration file", where, dir)
			}
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("%s: include_dir: %v", where, err)
		}
		im.file(p, data, false)
	}
	return nil
}

func parseBool(args []string) (bool, error) {
	if len(args) != 1 {
		return false, fmt.Errorf("expected true or false")
	}
	switch args[0] {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, fmt.Errorf("expected true or false, got %q", args[0])
}

// parseInt follows Mosquitto 2.1: strtol base 0, no trailing junk.
func parseInt(args []string) (int, error) {
	if len(args) != 1 {
		return 0, fmt.Errorf("expected one integer")
	}
	v, err := strconv.ParseInt(args[0], 0, 64)
	if err != nil {
		return 0, fmt.Errorf("not an integer: %q", args[0])
	}
	return int(v), nil
}

func (im *importer) note(where, key, what string) {
	im.c.Notes = append(im.c.Notes, fmt.Sprintf("%s: %s: %s", where, key, what))
}

// current is the listener that listener-scoped options apply to: the last
// `listener`, or before any, the default listener (opened only when `port`
// or `bind_address` is given).
func (im *importer) current() *Listener {
	if im.listener != nil {
		return im.listener
	}
	return &im.defaultLn
}

func (im *importer) directive(where, key string, args []string, rest string) error {
	c := im.c
	var err error
	switch key {
	case "listener":
		if len(args) < 1 || len(args) > 2 {
			return fmt.Errorf("expected: listener <port> [<bind address>]")
		}
		port, err := parseInt(args[:1])
		if err != nil {
			return err
		}
		l := Listener{Port: port, Protocol: "mqtt"}
		if len(args) == 2 && !strings.HasPrefix(args[1], "#") {
			l.BindAddress = args[1]
		}
		if port == 0 && strings.HasPrefix(l.BindAddress, "/") {
			l.UnixSocket, l.BindAddress = l.BindAddress, "" // Mosquitto 2: listener 0 /path/to/socket
		}
		c.Listeners = append(c.Listeners, l)
		im.listener = &c.Listeners[len(c.Listeners)-1] // only the newest is ever changed
	case "port":
		p, err := parseInt(args)
		if err != nil {
			return err
		}
		im.defaultListener().Port = p
	case "bind_address":
		im.defaultListener().BindAddress = rest
	case "protocol":
		if len(args) != 1 {
			return fmt.Errorf("expected mqtt or websockets")
		}
		switch args[0] {
		case "mqtt":
			im.current().Protocol = "mqtt"
		case "websockets":
			im.current().Protocol = "websockets"
		case "http_api":
			im.note(where, key, args[0]+" listeners are not supported yet; listener skipped")
			im.current().Protocol = "skip"
		default:
			return fmt.Errorf("unknown protocol %q", args[0])
		}
	case "max_connections":
		n, err := parseInt(args)
		if err != nil {
			return err
		}
		if n < 0 {
			im.note(where, key, fmt.Sprintf("-1 (unlimited) replaced by the global limit %d", c.MaxConnections))
			n = 0
		}
		im.current().MaxConnections = n
	case "global_max_connections", "global_max_clients":
		var n int
		if n, err = parseInt(args); err == nil && n > 0 {
			c.MaxConnections, im.globalMax = n, true
		} else if err == nil {
			im.note(where, key, fmt.Sprintf("%d (unlimited) replaced by midge's default %d", n, c.MaxConnections))
		}
	case "per_listener_settings":
		if im.perLn, err = parseBool(args); err == nil && im.perLn && im.secSeen != "" {
			return fmt.Errorf("must be set before any other security option (%s)", im.secSeen)
		}
	case "password_file", "acl_file", "auto_id_prefix", "allow_anonymous", "allow_zero_length_clientid":
		if im.secSeen == "" {
			im.secSeen = where + " " + key
		}
		err = im.security(key, args, rest)
	case "listener_allow_anonymous": // Mosquitto 2.1: per listener whatever per_listener_settings says
		var v bool
		if v, err = parseBool(args); err == nil {
			im.current().AllowAnonymous = &v
		}
	case "listener_auto_id_prefix":
		v := rest
		im.current().AutoIDPrefix = &v
	case "max_keepalive":
		c.MaxKeepalive, err = parseInt(args)
	case "max_packet_size":
		var n int
		if n, err = parseInt(args); err == nil {
			if n <= 0 {
				im.note(where, key, fmt.Sprintf("%d (unlimited) replaced by midge's default %d", n, c.MaxPacketSize))
			} else {
				c.MaxPacketSize = n
				if c.MaxConnectPacketSize > n {
					c.MaxConnectPacketSize = n
				}
			}
		}
	case "max_inflight_messages":
		var n int
		if n, err = parseInt(args); err == nil {
			if n <= 0 {
				im.note(where, key, fmt.Sprintf("%d (unlimited) replaced by 65535", n))
				n = 65535
			}
			c.MaxInflightMessages = n
		}
	case "max_queued_messages":
		var n int
		if n, err = parseInt(args); err == nil {
			if n <= 0 {
				im.note(where, key, fmt.Sprintf("%d (unlimited) replaced by midge's default %d", n, c.MaxQueuedMessages))
			} else {
				c.MaxQueuedMessages = n
			}
		}
	case "message_size_limit", "max_inflight_bytes", "max_queued_bytes", "memory_limit":
		var n int
		if n, err = parseInt(args); err == nil {
			dst := &c.MessageSizeLimit
			switch key {
			case "max_inflight_bytes":
				dst = &c.MaxInflightBytes
			case "max_queued_bytes":
				dst = &c.MaxQueuedBytes
			case "memory_limit":
				dst = &c.MemoryLimit
			}
			if n <= 0 {
				im.note(where, key, fmt.Sprintf("%d (unlimited) replaced by midge's default %d", n, *dst))
			} else {
				*dst = n
			}
		}
	case "queue_qos0_messages":
		c.QueueQoS0Messages, err = parseBool(args)
	case "upgrade_outgoing_qos":
		c.UpgradeOutgoingQoS, err = parseBool(args)
	case "max_qos", "max_topic_alias":
		var n int
		if n, err = parseInt(args); err == nil {
			if im.listener != nil || im.useDefault {
				l := im.current()
				if key == "max_qos" {
					l.MaxQoS = &n
				} else {
					l.MaxTopicAlias = &n
				}
			} else if key == "max_qos" {
				c.MaxQoS = n
			} else {
				c.MaxTopicAlias = n
			}
		}
	case "cafile", "capath", "certfile", "keyfile", "crlfile", "tls_version":
		l := im.current()
		dst := &l.CAFile
		switch key {
		case "capath":
			dst = &l.CAPath
		case "certfile":
			dst = &l.CertFile
		case "keyfile":
			dst = &l.KeyFile
		case "crlfile":
			dst = &l.CRLFile
		case "tls_version":
			dst = &l.TLSVersion
		}
		*dst = rest
		if key == "tls_version" && rest == "tlsv1.1" {
			im.note(where, key, "TLS 1.1 is not offered; the minimum is TLS 1.2")
			*dst = "tlsv1.2"
		}
	case "use_username_as_clientid":
		var v bool
		if v, err = parseBool(args); err == nil {
			im.current().UseUsernameAsClientID = v
		}
	case "require_certificate", "use_identity_as_username", "use_subject_as_username":
		var v bool
		if v, err = parseBool(args); err == nil {
			l := im.current()
			switch key {
			case "require_certificate":
				l.RequireCertificate = v
			case "use_identity_as_username":
				l.UseIdentityAsUsername = v
			default:
				l.UseSubjectAsUsername = v
			}
		}
	case "psk_hint", "psk_file":
		im.note(where, key, "TLS-PSK is not available in Go's TLS; use certificates (see docs/mosquitto-migration.md)")
	case "ciphers":
		suites, skipped := importCiphers(rest)
		im.current().Ciphers = suites
		switch {
		case len(suites) == 0:
			im.note(where, key, "names no TLS 1.2 suite Go offers ("+strings.Join(skipped, ":")+"); Go's secure defaults are used")
		case len(skipped) > 0:
			im.note(where, key, "not offered by Go's TLS, left out: "+strings.Join(skipped, ":"))
		}
	case "ciphers_tls1.3":
		im.note(where, key, "Go's TLS always offers its three TLS 1.3 suites (AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305); not configurable, ignored")
	case "websockets_origin":
		l := im.current()
		l.WebSocketOrigins = append(l.WebSocketOrigins, rest)
	case "persistence":
		c.Persistence.Enabled, err = parseBool(args)
	case "persistence_location":
		c.Persistence.Dir = rest
	case "persistence_file":
		im.note(where, key, "midge keeps a directory of log segments (persistence_location), not one file; ignored")
	case "autosave_interval":
		var n int
		if n, err = parseInt(args); err == nil {
			if n <= 0 {
				c.Persistence.Sync = "never"
				im.note(where, key, "0: mapped to sync = never (midge still writes every acknowledged message to the kernel before acknowledging it)")
			} else {
				c.Persistence.Sync, c.Persistence.SyncInterval = "interval", Duration(time.Duration(n)*time.Second)
				im.note(where, key, fmt.Sprintf("mapped to sync = interval, sync_interval = %ds: midge writes every change as it happens and fsyncs at most that often", n))
			}
		}
	case "autosave_on_changes":
		var on bool
		if on, err = parseBool(args); err == nil && on {
			im.note(where, key, "midge writes every change as it happens; the fsync policy is sync/sync_interval (autosave_interval)")
		}
	case "persistent_client_expiration":
		var d time.Duration
		if d, err = parseMosquittoDuration(rest); err == nil {
			c.PersistentClientExpiration = Duration(d)
		}
	case "retain_available":
		c.RetainAvailable, err = parseBool(args)
	case "sys_interval":
		var n int
		if n, err = parseInt(args); err == nil {
			c.SysInterval = Duration(time.Duration(n) * time.Second)
		}
	case "log_dest":
		if len(args) < 1 {
			return fmt.Errorf("missing destination")
		}
		switch args[0] {
		case "stderr", "stdout", "none", "syslog":
			im.logDests = append(im.logDests, args[0])
		case "topic", "file", "dlt", "android":
			im.note(where, key, args[0]+" is not supported yet; logging to stderr")
		default:
			return fmt.Errorf("unknown destination %q", args[0])
		}
	case "log_type":
		if len(args) != 1 {
			return fmt.Errorf("expected one log type")
		}
		if !logTypes[args[0]] {
			return fmt.Errorf("unknown log type %q", args[0])
		}
		im.logTypes = append(im.logTypes, args[0])
	case "pid_file":
		c.PIDFile = rest
	case "set_tcp_nodelay":
		_, err = parseBool(args) // midge always sets TCP_NODELAY
	case "user":
		im.note(where, key, "midge does not switch users; run it as the user it should be (init script or service manager)")
	default:
		if what, ok := laterDirectives[key]; ok || strings.HasPrefix(key, "plugin_opt_") || strings.HasPrefix(key, "auth_opt_") {
			if what == "" {
				what = "plugins"
			}
			im.note(where, key, "not supported yet ("+what+"); ignored")
			return nil
		}
		return fmt.Errorf("unknown configuration directive")
	}
	return err
}

// security sets a security option: the current listener's own under
// per_listener_settings, the global one otherwise.
func (im *importer) security(key string, args []string, rest string) error {
	c, l := im.c, im.current()
	var gs, ls = &c.PasswordFile, &l.PasswordFile
	var gb, lb = &c.AllowAnonymous, &l.AllowAnonymous
	switch key {
	case "acl_file":
		gs, ls = &c.ACLFile, &l.ACLFile
	case "auto_id_prefix":
		gs, ls = &c.AutoIDPrefix, &l.AutoIDPrefix
	case "allow_zero_length_clientid":
		gb, lb = &c.AllowZeroLengthClientID, &l.AllowZeroLengthClientID
	}
	switch key {
	case "password_file", "acl_file", "auto_id_prefix":
		if im.perLn {
			*ls = &rest
		} else {
			*gs = rest
		}
		return nil
	}
	v, err := parseBool(args)
	switch {
	case err != nil:
		return err
	case im.perLn:
		*lb = &v
	default:
		*gb = v
		im.anonSet = im.anonSet || key == "allow_anonymous"
	}
	return nil
}

// defaultListener is the listener `port` and `bind_address` configure.
func (im *importer) defaultListener() *Listener {
	im.useDefault = true
	return &im.defaultLn
}

func (im *importer) finish() (*Config, error) {
	c := im.c
	if len(im.errs) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(im.errs, "\n"))
	}
	if im.useDefault {
		c.Listeners = append([]Listener{im.defaultLn}, c.Listeners...)
	} else if d := im.defaultLn; im.perLn && (d.PasswordFile != nil || d.ACLFile != nil || d.AllowAnonymous != nil ||
		d.AllowZeroLengthClientID != nil || d.AutoIDPrefix != nil) {
		c.Notes = append(c.Notes, c.Source+": per_listener_settings: security options before the first listener belong to the default listener (port), which is not configured; ignored")
	}
	var kept []Listener
	for _, l := range c.Listeners {
		if l.Protocol == "skip" {
			continue
		}
		kept = append(kept, l)
	}
	c.Listeners = kept
	// Mosquitto's max_connections is per listener and it has no global cap
	// (before 2.1): make midge's global cap room for the listeners' sum.
	sum := 0
	for _, l := range c.Listeners {
		if l.MaxConnections == 0 {
			sum = 0
			break
		}
		sum += l.MaxConnections
	}
	if !im.globalMax && sum > c.MaxConnections {
		c.MaxConnections = sum
	}
	if len(c.Listeners) == 0 {
		// Mosquitto 2 "local only mode": no listener configured.
		c.Listeners = Default().Listeners
		if !im.anonSet {
			c.AllowAnonymous = true
		}
		c.Notes = append(c.Notes, c.Source+": no listener configured: local only mode on 127.0.0.1:1883")
	} else if !im.anonSet {
		c.AllowAnonymous = false // Mosquitto 2: false once a listener is configured
	}
	if len(im.logDests) > 0 {
		c.Log.Dest = im.logDests
	}
	if len(im.logTypes) > 0 {
		c.Log.Types = im.logTypes
	}
	return c, nil
}

// laterDirectives are Mosquitto directives midge knows but does not act on
// yet, with the feature that will implement them.
var laterDirectives = map[string]string{}

func init() {
	groups := map[string]string{
		"persistence":      "persistence persistence_file persistence_location autosave_interval autosave_on_changes persistent_client_expiration store_clean_interval",
		"TLS":              "cafile capath certfile keyfile crlfile dhparamfile require_certificate use_identity_as_username use_subject_as_username tls_version ciphers ciphers_tls1.3 tls_engine tls_engine_kpass_sha1 tls_keyform psk_hint psk_file disable_client_cert_date_checks tls_keylog",
		"authentication":   "auth_plugin auth_plugin_deny_special_chars plugin global_plugin clientid_prefixes",
		"bridges":          "connection address addresses topic bridge_attempt_unsubscribe bridge_bind_address bridge_cafile bridge_capath bridge_certfile bridge_keyfile bridge_identity bridge_insecure bridge_max_packet_size bridge_outgoing_retain bridge_protocol_version bridge_psk bridge_require_ocsp bridge_tls_version bridge_alpn cleansession local_cleansession idle_timeout keepalive_interval local_clientid local_password local_username notification_topic notifications notifications_local_only remote_clientid remote_password remote_username restart_timeout round_robin start_type threshold try_private bridge_receive_maximum bridge_session_expiry_interval bridge_max_topic_alias bridge_tcp_keepalive bridge_tcp_user_timeout bridge_reload_type bridge_tls_use_os_certs bridge_ciphers bridge_ciphers_tls1.3",
		"limits":           "max_inflight_bytes max_queued_bytes queue_qos0_messages message_size_limit max_qos max_topic_alias memory_limit upgrade_outgoing_qos allow_duplicate_messages check_retain_source global_max_clients global_max_connections max_topic_alias_broker retain_expiry_interval accept_protocol_versions",
		"listener options": "bind_interface socket_domain mount_point http_dir websockets_log_level websockets_headers_size packet_buffer_size enable_proxy_protocol",
		"logging":          "log_facility log_timestamp log_timestamp_format connection_messages log_file",
		"process":          "enable_control_api retry_interval",
	}
	for what, list := range groups {
		for _, k := range strings.Fields(list) {
			laterDirectives[k] = what
		}
	}
}

// parseMosquittoDuration reads persistent_client_expiration's "<n><unit>"
// with units s (2.1), h, d, w, m (months of 30 days) and y (365 days).
func parseMosquittoDuration(s string) (time.Duration, error) {
	if len(s) < 2 {
		return 0, fmt.Errorf("expected a number and a unit (h, d, w, m, y), got %q", s)
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n < 0 {
		return 0, fmt.Errorf("expected a number and a unit (h, d, w, m, y), got %q", s)
	}
	unit := map[byte]time.Duration{'s': time.Second, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour,
		'm': 30 * 24 * time.Hour, 'y': 365 * 24 * time.Hour}[s[len(s)-1]]
	if unit == 0 {
		return 0, fmt.Errorf("unknown unit in %q (h, d, w, m, y)", s)
	}
	return time.Duration(n) * unit, nil
}
