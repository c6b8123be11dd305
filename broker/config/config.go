// Package config is midge's configuration: a TOML schema with embedded
// defaults that are finite everywhere, validation that reports every
// problem at once with its key and line, and an importer for Mosquitto's
// mosquitto.conf.
package config

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Config is the whole broker configuration. Fields tagged `reload:"yes"`
// take effect on SIGHUP; the others need a restart.
type Config struct {
	Listeners []Listener `toml:"listener" comment:"one [[listener]] table per listening socket"`

	AllowAnonymous          bool   `toml:"allow_anonymous" reload:"yes"`
	PasswordFile            string `toml:"password_file" reload:"yes" comment:"Mosquitto password file ($6$, $7$, $argon2id$); \"\" = none"`
	ACLFile                 string `toml:"acl_file" reload:"yes" comment:"Mosquitto ACL file; \"\" = every client may do everything"`
	JWTKeyFile              string `toml:"jwt_key_file" reload:"yes" comment:"verify JWTs given as the password: a PEM public key, a JWKS file or an HS256 secret"`
	AllowZeroLengthClientID bool   `toml:"allow_zero_length_clientid" reload:"yes"`
	AutoIDPrefix            string `toml:"auto_id_prefix" reload:"yes"`

	PIDFile              string   `toml:"pid_file,omitempty" comment:"write the process id here once listening (init scripts); removed at exit"`
	MaxConnections       int      `toml:"max_connections" comment:"all listeners together"`
	MaxKeepalive         int      `toml:"max_keepalive" reload:"yes"`
	MaxPacketSize        int      `toml:"max_packet_size" reload:"yes"`
	MaxConnectPacketSize int      `toml:"max_connect_packet_size" reload:"yes" comment:"cap on any packet before CONNECT is accepted"`
	ConnectTimeout       Duration `toml:"connect_timeout" reload:"yes"`
	MaxInflightMessages  int      `toml:"max_inflight_messages" reload:"yes"`
	MaxQueuedMessages    int      `toml:"max_queued_messages" reload:"yes"`
	MaxTopicLevels       int      `toml:"max_topic_levels" reload:"yes"`
	MaxSessionExpiry     Duration `toml:"max_session_expiry" reload:"yes" comment:"cap on the session expiry a client asks for"`
	ClientBufferBytes    int      `toml:"client_buffer_bytes" reload:"yes" comment:"outbound bytes buffered per connection"`
	RetainAvailable      bool     `toml:"retain_available" reload:"yes"`
	SysInterval          Duration `toml:"sys_interval" reload:"yes"`

	MessageSizeLimit          int    `toml:"message_size_limit" reload:"yes" comment:"largest payload routed; larger ones are dropped"`
	MaxInflightBytes          int    `toml:"max_inflight_bytes" reload:"yes"`
	MaxQueuedBytes            int    `toml:"max_queued_bytes" reload:"yes"`
	QueueQoS0Messages         bool   `toml:"queue_qos0_messages" reload:"yes"`
	MaxQoS                    int    `toml:"max_qos" reload:"yes"`
	MaxTopicAlias             int    `toml:"max_topic_alias" reload:"yes" comment:"inbound topic aliases per 5.0 client"`
	UpgradeOutgoingQoS        bool   `toml:"upgrade_outgoing_qos" reload:"yes"`
	MaxSubscriptionsPerClient int    `toml:"max_subscriptions_per_client" reload:"yes"`
	MaxFilterLength           int    `toml:"max_filter_length" reload:"yes" comment:"longest topic filter accepted in SUBSCRIBE, bytes"`
	MaxRetainedMessages       int    `toml:"max_retained_messages" reload:"yes"`
	MaxRetainedBytes          int    `toml:"max_retained_bytes" reload:"yes"`
	MemoryLimit               int    `toml:"memory_limit" reload:"yes" comment:"queued + in-flight + retained bytes, all clients"`
	OverflowPolicy            string `toml:"overflow_policy" reload:"yes" comment:"drop-oldest, drop-newest or reject"`
	ResponseInformation       string `toml:"response_information" reload:"yes" comment:"prefix given to 5.0 clients that request response information"`

	GoMemoryLimit int `toml:"go_memory_limit" comment:"soft limit for the Go runtime (GOMEMLIMIT) in bytes; 0 = none"`

	PersistentClientExpiration Duration `toml:"persistent_client_expiration" reload:"yes" comment:"3.1.1 persistent sessions expire after this long offline (0s = max_session_expiry)"`

	Log         Log         `toml:"log"`
	Persistence Persistence `toml:"persistence"`
	Hardware    Hardware    `toml:"hardware"`

	// AllowUnsupported names the Mosquitto features (plugin, bridge, psk)
	// a mosquitto.conf may use although midge cannot honour them: midge
	// then starts without them and logs what is lost, where it would
	// otherwise refuse to start.
	AllowUnsupported []string `toml:"allow_unsupported,omitempty" comment:"start without these Mosquitto features instead of refusing: plugin (not loaded), bridge (ignored), psk (those listeners not opened)"`

	// Board names the board file whose settings sit under this file's
	// (board-configs/<name>.toml, or the embedded copy).
	Board string `toml:"board,omitempty"`

	// Notes are what an import accepted without acting on (directives not
	// supported yet, values adjusted), each with file and line, for the log.
	Notes []string `toml:"-"`
	// Source names the file the configuration came from ("" = embedded).
	Source string `toml:"-"`
	// LocalOnly reports that no file configured a listener: Listeners is
	// the embedded loopback default (Mosquitto's local only mode), the one
	// case where the command line's -p changes the port.
	LocalOnly bool `toml:"-"`
}

// Listener is one listening socket.
type Listener struct {
	Port           int    `toml:"port"`
	BindAddress    string `toml:"bind_address"`
	Protocol       string `toml:"protocol"`
	MaxConnections int    `toml:"max_connections"`
	// UnixSocket, when set, is the path of a local (unix domain) socket to
	// listen on instead of port and bind_address.
	UnixSocket string `toml:"unix_socket,omitempty"`

	// Per-listener overrides of the global values (unset = global).
	MaxQoS          *int   `toml:"max_qos,omitempty"`
	MaxTopicAlias   *int   `toml:"max_topic_alias,omitempty"`
	OverflowPolicy  string `toml:"overflow_policy,omitempty"`
	ServerReference string `toml:"server_reference,omitempty" comment:"redirect every 5.0 client to this server (CONNACK 0x9C)"`
	ServerMoved     bool   `toml:"server_moved,omitempty" comment:"with server_reference: the move is permanent (0x9D)"`
	// WebSocketOrigins, for protocol "websockets": the Origin values
	// accepted (none = any).
	WebSocketOrigins []string `toml:"websocket_origins,omitempty"`

	// TLS: a listener with certfile and keyfile speaks TLS (MQTT over TLS,
	// or WSS for protocol "websockets").
	CAFile     string `toml:"cafile,omitempty"`
	CAPath     string `toml:"capath,omitempty"`
	CertFile   string `toml:"certfile,omitempty"`
	KeyFile    string `toml:"keyfile,omitempty"`
	CRLFile    string `toml:"crlfile,omitempty"`
	TLSVersion string `toml:"tls_version,omitempty" comment:"minimum: tlsv1.2 (default) or tlsv1.3"`
	// Ciphers are the TLS 1.2 suites offered, by OpenSSL or IANA name
	// (none = Go's secure defaults; Go orders them itself). TLS 1.3 suites
	// cannot be chosen in Go: all three are offered.
	Ciphers               []string `toml:"ciphers,omitempty"`
	RequireCertificate    bool     `toml:"require_certificate,omitempty"`
	UseIdentityAsUsername bool     `toml:"use_identity_as_username,omitempty"`
	UseSubjectAsUsername  bool     `toml:"use_subject_as_username,omitempty"`

	// UseUsernameAsClientID replaces each client's id by its user name;
	// clients without one are refused (Mosquitto's use_username_as_clientid).
	UseUsernameAsClientID bool `toml:"use_username_as_clientid,omitempty"`

	// Security options of this listener's clients (Mosquitto's
	// per_listener_settings); unset = the global value.
	AllowAnonymous          *bool   `toml:"allow_anonymous,omitempty" reload:"yes"`
	PasswordFile            *string `toml:"password_file,omitempty" reload:"yes"`
	ACLFile                 *string `toml:"acl_file,omitempty" reload:"yes"`
	JWTKeyFile              *string `toml:"jwt_key_file,omitempty" reload:"yes"`
	AllowZeroLengthClientID *bool   `toml:"allow_zero_length_clientid,omitempty" reload:"yes"`
	AutoIDPrefix            *string `toml:"auto_id_prefix,omitempty" reload:"yes"`
}

// Security is the effective security options of one listener's clients.
type Security struct {
	_ [0]func() // not comparable: no equality function in the binary

	AllowAnonymous          bool
	AllowZeroLengthClientID bool
	PasswordFile            string
	ACLFile                 string
	JWTKeyFile              string
	AutoIDPrefix            string
}

// ListenerSecurity is the security of listener i: its own options where it
// sets them, the global ones elsewhere.
func (c *Config) ListenerSecurity(i int) Security {
	s := Security{AllowAnonymous: c.AllowAnonymous, AllowZeroLengthClientID: c.AllowZeroLengthClientID,
		PasswordFile: c.PasswordFile, ACLFile: c.ACLFile, JWTKeyFile: c.JWTKeyFile, AutoIDPrefix: c.AutoIDPrefix}
	if i < 0 || i >= len(c.Listeners) {
		return s
	}
	l := &c.Listeners[i]
	pick(&s.AllowAnonymous, l.AllowAnonymous)
	pick(&s.AllowZeroLengthClientID, l.AllowZeroLengthClientID)
	pick(&s.PasswordFile, l.PasswordFile)
	pick(&s.ACLFile, l.ACLFile)
	pick(&s.JWTKeyFile, l.JWTKeyFile)
	pick(&s.AutoIDPrefix, l.AutoIDPrefix)
	return s
}

func pick[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// TLS reports whether the listener speaks TLS.
func (l Listener) TLS() bool { return l.CertFile != "" || l.KeyFile != "" }

// Persistence configures the append-only store (persist package). Its keys
// need a restart.
type Persistence struct {
	_ [0]func() // not comparable: no equality function in the binary

	Enabled       bool     `toml:"enabled"`
	Dir           string   `toml:"dir"`
	Sync          string   `toml:"sync" comment:"always, interval or never"`
	SyncInterval  Duration `toml:"sync_interval"`
	SegmentBytes  int      `toml:"segment_bytes"`
	MaxStoreBytes int      `toml:"max_store_bytes"`
	BatchBytes    int      `toml:"batch_bytes"`
	BatchDelay    Duration `toml:"batch_delay"`
	AckTimeout    Duration `toml:"ack_timeout" reload:"yes" comment:"how long an acknowledgement may wait for its records; then the publisher is disconnected and keeps its message"`
}

// Hardware names the watchdog and LEDs (restart-only).
type Hardware struct {
	_ [0]func() // not comparable: no equality function in the binary

	Watchdog        string   `toml:"watchdog" comment:"watchdog device (\"/dev/watchdog\"), or \"\" for none; systemd's WATCHDOG_USEC is used by itself"`
	WatchdogTimeout Duration `toml:"watchdog_timeout"`
	LEDStatus       string   `toml:"led_status" comment:"\"sysfs:<name>\", \"gpio:<line>\" or \"\""`
	LEDActivity     string   `toml:"led_activity"`
	LEDRoot         string   `toml:"led_root" comment:"where the sysfs LED class lives"`
}

// Log selects where log lines go and which kinds are written.
type Log struct {
	Dest  []string `toml:"dest" reload:"yes" comment:"stderr, stdout, syslog (/dev/log), none"`
	Types []string `toml:"types" reload:"yes" comment:"error warning notice information debug subscribe unsubscribe all none"`
}

// Duration is a time.Duration written as a Go duration string ("10s").
type Duration time.Duration

func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("not a duration (like \"10s\"): %q", b)
	}
	*d = Duration(v)
	return nil
}

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

//go:embed default.toml
var defaultTOML []byte

// DefaultTOML is the embedded default configuration file.
func DefaultTOML() []byte { return defaultTOML }

// Default returns the embedded default configuration: a loopback-only
// listener on 127.0.0.1:1883, anonymous clients allowed, finite limits.
func Default() *Config {
	c, err := defaultConfig()
	if err != nil {
		panic("embedded default config: " + err.Error())
	}
	c.LocalOnly = true
	return c
}

// Boards returns the embedded board file for a name (set by package
// boardconfigs, to keep the files beside their directory's docs).
var Boards func(name string) ([]byte, bool)

// LoadWithBoard loads path (or the embedded default when path is "") over
// a board's settings: the board file is applied first, so the user's own
// file wins. board is a name from board-configs/ or a path to a TOML file;
// "" uses the file's own `board` key, if any.
func LoadWithBoard(path, board string) (*Config, error) {
	var data []byte
	if path != "" {
		var err error
		if data, err = os.ReadFile(path); err != nil {
			return nil, err
		}
		if b, _ := peek(data); board == "" && !IsMosquitto(path, data) {
			board = b
		}
	}
	base := Default()
	if board != "" {
		bdata, name, err := boardFile(board)
		if err != nil {
			return nil, err
		}
		base.Listeners = nil // a board's [[listener]] tables replace the default
		if err := decodeOver(base, bdata, name); err != nil {
			return nil, err
		}
		if len(base.Listeners) == 0 {
			base.Listeners = Default().Listeners
		} else {
			base.LocalOnly = false
		}
		base.Board = board
	}
	if path == "" {
		return base, base.Validate()
	}
	var c *Config
	var err error
	base.LocalOnly = false
	if IsMosquitto(path, data) {
		c, err = importOver(base, path, data)
	} else {
		base.Listeners = nil
		c, err = base, decodeOver(base, data, path)
		if _, anonSet := peek(data); err == nil && len(c.Listeners) > 0 && !anonSet {
			c.AllowAnonymous = false // Mosquitto 2: once listeners are configured, anonymous is opt-in
		}
		if err == nil && len(c.Listeners) == 0 {
			c.Listeners, c.LocalOnly = Default().Listeners, true
		}
		for i := range c.Listeners {
			if c.Listeners[i].Protocol == "" {
				c.Listeners[i].Protocol = "mqtt"
			}
		}
		c.Source = path
	}
	if err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

func boardFile(board string) ([]byte, string, error) {
	if strings.ContainsAny(board, "/.") {
		data, err := os.ReadFile(board)
		return data, board, err
	}
	if Boards != nil {
		if data, ok := Boards(board); ok {
			return data, "board-configs/" + board + ".toml", nil
		}
	}
	return nil, "", fmt.Errorf("unknown board %q", board)
}

// Load reads a configuration file: mosquitto.conf format when the name ends
// in ".conf" or the content does not parse as TOML but looks like Mosquitto's,
// TOML otherwise. The result is validated.
func Load(path string) (*Config, error) { return LoadWithBoard(path, "") }

// IsMosquitto guesses whether data is a mosquitto.conf: by extension, or by
// having no '=' assignments and no [table] headers.
func IsMosquitto(path string, data []byte) bool {
	if strings.HasSuffix(path, ".conf") {
		return true
	}
	if strings.HasSuffix(path, ".toml") {
		return false
	}
	for _, line := range bytes.Split(data, []byte("\n")) {
		l := bytes.TrimSpace(line)
		if len(l) == 0 || l[0] == '#' {
			continue
		}
		if l[0] == '[' || bytes.Contains(l, []byte("=")) {
			return false
		}
	}
	return true
}

// Validate checks every field and returns all problems at once, each naming
// its key (and line, when the configuration came from a TOML file).
func (c *Config) Validate() error {
	var errs []string
	var lines map[string]int // read from the file only when something is wrong
	bad := func(key, format string, args ...any) {
		where := c.Source
		if where == "" {
			where = "<default>"
		}
		if lines == nil {
			lines = keyLines(c.Source)
		}
		if l, ok := lines[key]; ok {
			where = fmt.Sprintf("%s:%d", where, l)
		}
		errs = append(errs, fmt.Sprintf("%s: %s: %s", where, key, fmt.Sprintf(format, args...)))
	}
	positive := func(key string, v, max int) {
		if v <= 0 || v > max {
			bad(key, "must be between 1 and %d, got %d", max, v)
		}
	}
	if len(c.Listeners) == 0 || len(c.Listeners) > 255 {
		bad("listener", "between 1 and 255 listeners are needed, got %d", len(c.Listeners))
	}
	for i, l := range c.Listeners {
		key := fmt.Sprintf("listener[%d]", i)
		if l.Port < 0 || l.Port > 65535 {
			bad(key+".port", "must be 0-65535, got %d", l.Port)
		}
		if l.Protocol != "mqtt" && l.Protocol != "websockets" {
			bad(key+".protocol", "must be \"mqtt\" or \"websockets\", got %q", l.Protocol)
		}
		if l.MaxConnections < 0 {
			bad(key+".max_connections", "must be >= 0 (0 = the global limit), got %d", l.MaxConnections)
		}
		if l.MaxQoS != nil && (*l.MaxQoS < 0 || *l.MaxQoS > 2) {
			bad(key+".max_qos", "must be 0, 1 or 2, got %d", *l.MaxQoS)
		}
		if l.MaxTopicAlias != nil && (*l.MaxTopicAlias < 0 || *l.MaxTopicAlias > 65535) {
			bad(key+".max_topic_alias", "must be 0-65535, got %d", *l.MaxTopicAlias)
		}
		if l.TLS() && (l.CertFile == "" || l.KeyFile == "") {
			bad(key+".certfile", "a TLS listener needs both certfile and keyfile")
		}
		if (l.RequireCertificate || l.UseIdentityAsUsername || l.UseSubjectAsUsername) && l.CAFile == "" && l.CAPath == "" {
			bad(key+".cafile", "client certificates need cafile or capath")
		}
		switch l.TLSVersion {
		case "", "tlsv1.2", "tlsv1.3":
		default:
			bad(key+".tls_version", "must be tlsv1.2 or tlsv1.3 (the minimum), got %q", l.TLSVersion)
		}
		if l.OverflowPolicy != "" && !validPolicy(l.OverflowPolicy) {
			bad(key+".overflow_policy", "must be drop-oldest, drop-newest or reject, got %q", l.OverflowPolicy)
		}
		if l.UnixSocket != "" && (l.Protocol != "mqtt" || l.TLS()) {
			bad(key+".unix_socket", "a unix socket listener speaks plain MQTT (no websockets, no TLS)")
		}
		if err := validCiphers(l.Ciphers); err != nil {
			bad(key+".ciphers", "%v", err)
		}
		if l.AutoIDPrefix != nil && len(*l.AutoIDPrefix) > 64 {
			bad(key+".auto_id_prefix", "at most 64 bytes")
		}
	}
	positive("max_connections", c.MaxConnections, 1<<20)
	if c.MaxKeepalive < 0 || c.MaxKeepalive > 65535 {
		bad("max_keepalive", "must be 0-65535, got %d", c.MaxKeepalive)
	}
	positive("max_packet_size", c.MaxPacketSize, 268435460)
	positive("max_connect_packet_size", c.MaxConnectPacketSize, 268435460)
	positive("max_inflight_messages", c.MaxInflightMessages, 65535)
	positive("max_queued_messages", c.MaxQueuedMessages, 1<<24)
	positive("max_topic_levels", c.MaxTopicLevels, 1024)
	positive("client_buffer_bytes", c.ClientBufferBytes, 1<<30)
	if c.ConnectTimeout.D() <= 0 {
		bad("connect_timeout", "must be positive, got %s", c.ConnectTimeout.D())
	}
	if c.MaxSessionExpiry.D() < 0 {
		bad("max_session_expiry", "must be >= 0, got %s", c.MaxSessionExpiry.D())
	}
	positive("message_size_limit", c.MessageSizeLimit, 268435455)
	positive("max_inflight_bytes", c.MaxInflightBytes, 1<<30)
	positive("max_queued_bytes", c.MaxQueuedBytes, 1<<30)
	positive("max_subscriptions_per_client", c.MaxSubscriptionsPerClient, 1<<20)
	positive("max_filter_length", c.MaxFilterLength, 65535)
	positive("max_retained_messages", c.MaxRetainedMessages, 1<<24)
	positive("max_retained_bytes", c.MaxRetainedBytes, 1<<30)
	positive("memory_limit", c.MemoryLimit, math.MaxInt32)
	if c.MaxQoS < 0 || c.MaxQoS > 2 {
		bad("max_qos", "must be 0, 1 or 2, got %d", c.MaxQoS)
	}
	if c.MaxTopicAlias < 0 || c.MaxTopicAlias > 65535 {
		bad("max_topic_alias", "must be 0-65535, got %d", c.MaxTopicAlias)
	}
	if !validPolicy(c.OverflowPolicy) {
		bad("overflow_policy", "must be drop-oldest, drop-newest or reject, got %q", c.OverflowPolicy)
	}
	if c.GoMemoryLimit < 0 {
		bad("go_memory_limit", "must be >= 0, got %d", c.GoMemoryLimit)
	}
	if c.PersistentClientExpiration.D() < 0 {
		bad("persistent_client_expiration", "must be >= 0, got %s", c.PersistentClientExpiration.D())
	}
	// The watchdog's timeout goes to WDIOC_SETTIMEOUT as whole seconds
	// (the kernel's int); 0 keeps the driver's own.
	if d := c.Hardware.WatchdogTimeout.D(); d != 0 && (d < time.Second || d%time.Second != 0 || d > math.MaxInt32*time.Second) {
		bad("hardware.watchdog_timeout", "must be whole seconds from 1s (or 0 for the driver's own), got %s", d)
	}
	if p := c.Persistence; p.Enabled {
		if p.Dir == "" {
			bad("persistence.dir", "a directory is needed when persistence is enabled")
		}
		switch p.Sync {
		case "always", "interval", "never":
		default:
			bad("persistence.sync", "must be always, interval or never, got %q", p.Sync)
		}
		if p.SyncInterval.D() <= 0 {
			bad("persistence.sync_interval", "must be positive, got %s", p.SyncInterval.D())
		}
		if p.AckTimeout.D() < time.Second {
			bad("persistence.ack_timeout", "must be at least 1s, got %s", p.AckTimeout.D())
		}
		positive("persistence.segment_bytes", p.SegmentBytes, 1<<30)
		positive("persistence.max_store_bytes", p.MaxStoreBytes, math.MaxInt32)
		positive("persistence.batch_bytes", p.BatchBytes, 64<<20)
		if p.BatchDelay.D() <= 0 || p.BatchDelay.D() > time.Second {
			bad("persistence.batch_delay", "must be between 0 and 1s, got %s", p.BatchDelay.D())
		}
	}
	if c.SysInterval.D() < 0 {
		bad("sys_interval", "must be >= 0 (0 = off), got %s", c.SysInterval.D())
	}
	if len(c.AutoIDPrefix) > 64 {
		bad("auto_id_prefix", "at most 64 bytes")
	}
	for _, k := range c.AllowUnsupported {
		if !validUnsupported(k) {
			bad("allow_unsupported", "unknown kind %q (plugin, bridge, psk)", k)
		}
	}
	for _, d := range c.Log.Dest {
		switch d {
		case "stderr", "stdout", "syslog", "none":
		default:
			bad("log.dest", "unknown destination %q (stderr, stdout, syslog, none)", d)
		}
	}
	for _, t := range c.Log.Types {
		if _, ok := logTypes[t]; !ok {
			bad("log.types", "unknown log type %q", t)
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "\n"))
	}
	return nil
}

func validPolicy(p string) bool {
	return p == "drop-oldest" || p == "drop-newest" || p == "reject"
}

var logTypes = map[string]bool{"error": true, "warning": true, "notice": true, "information": true,
	"debug": true, "subscribe": true, "unsubscribe": true, "websockets": true, "all": true, "none": true}

// keyLines maps "table.key" (listener tables as "listener[i]") to the line
// it is set on in a TOML file; empty for imported or embedded configs.
func keyLines(path string) map[string]int {
	m := map[string]int{}
	if path == "" || filepath.Ext(path) == ".conf" {
		return m
	}
	data, err := os.ReadFile(path)
	if err != nil || IsMosquitto(path, data) {
		return m
	}
	table, listeners := "", -1
	for i, raw := range strings.Split(string(data), "\n") {
		l := strings.TrimSpace(raw)
		switch {
		case strings.HasPrefix(l, "[[") && strings.HasSuffix(l, "]]"):
			table = strings.TrimSpace(l[2 : len(l)-2])
			if table == "listener" {
				listeners++
				table = fmt.Sprintf("listener[%d]", listeners)
			}
			m[table] = i + 1
		case strings.HasPrefix(l, "["):
			table = strings.Trim(l, "[] ")
		case strings.Contains(l, "=") && !strings.HasPrefix(l, "#"):
			key := strings.TrimSpace(l[:strings.Index(l, "=")])
			if table != "" {
				key = table + "." + key
			}
			m[key] = i + 1
		}
	}
	return m
}
