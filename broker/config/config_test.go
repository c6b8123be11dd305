package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func write(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultIsValidAndFinite(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(c.Listeners) != 1 || c.Listeners[0].BindAddress != "127.0.0.1" || c.Listeners[0].Port != 1883 || !c.AllowAnonymous {
		t.Fatalf("default listener: %+v", c)
	}
	if c.MaxConnections <= 0 || c.MaxQueuedMessages <= 0 || c.MaxPacketSize <= 0 || c.MaxInflightMessages <= 0 {
		t.Fatal("a limit is unbounded")
	}
}

func TestTOMLUnknownKeyNamesLine(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "m.toml", "max_connections = 10\nmax_conections = 5\n")
	_, err := Load(p)
	if err == nil || !strings.Contains(err.Error(), "m.toml:2") || !strings.Contains(err.Error(), "max_conections") {
		t.Fatalf("got %v", err)
	}
}

func TestValidateReportsAllProblems(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "m.toml", "max_connections = 0\nmax_keepalive = 70000\n[[listener]]\nport = 70000\n")
	_, err := Load(p)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"m.toml:1: max_connections", "m.toml:2: max_keepalive", "listener[0].port"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

func TestMosquittoImport(t *testing.T) {
	dir := t.TempDir()
	inc := filepath.Join(dir, "conf.d")
	os.Mkdir(inc, 0o755)
	write(t, inc, "b.conf", "max_queued_messages 50\n")
	write(t, inc, "A.conf", "max_queued_messages 40\n")
	p := write(t, dir, "mosquitto.conf", strings.Join([]string{
		"# comment",
		"per_listener_settings false",
		"listener 1884 127.0.0.1",
		"max_connections 10",
		"listener 0x76d",
		"allow_zero_length_clientid false",
		"auto_id_prefix pre-",
		"max_keepalive 120",
		"max_packet_size 4096",
		"max_inflight_messages 5",
		"retain_available false",
		"sys_interval 0",
		"log_dest stdout",
		"log_type all",
		"persistence true",
		"password_file /etc/mosquitto/pw\r",
		"include_dir conf.d",
	}, "\n"))
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Listeners) != 2 || c.Listeners[0].Port != 1884 || c.Listeners[0].MaxConnections != 10 || c.Listeners[1].Port != 1901 {
		t.Fatalf("listeners %+v", c.Listeners)
	}
	if c.AllowAnonymous || c.AllowZeroLengthClientID || c.AutoIDPrefix != "pre-" || c.MaxKeepalive != 120 ||
		c.MaxPacketSize != 4096 || c.MaxConnectPacketSize != 4096 || c.MaxInflightMessages != 5 || c.RetainAvailable ||
		c.SysInterval != 0 || c.Log.Dest[0] != "stdout" || c.Log.Types[0] != "all" || c.MaxQueuedMessages != 50 {
		t.Fatalf("%+v", c)
	}
	if notes := strings.Join(c.Notes, "\n"); strings.Contains(notes, "per_listener_settings") {
		t.Errorf("per_listener_settings is implemented, yet noted:\n%s", notes)
	}
}

// per_listener_settings true: the security options after a listener are
// that listener's; the other listeners keep Mosquitto's defaults.
func TestMosquittoPerListenerSettings(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "mosquitto.conf", strings.Join([]string{
		"per_listener_settings true",
		"listener 1884 127.0.0.1",
		"allow_anonymous true",
		"listener 1885",
		"password_file /etc/mosquitto/pw",
		"acl_file /etc/mosquitto/acl",
		"allow_zero_length_clientid false",
		"auto_id_prefix b-",
		"listener 1886",
		"listener_allow_anonymous true", // 2.1's spelling, whatever the mode
	}, "\n"))
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.AllowAnonymous || c.PasswordFile != "" || c.ACLFile != "" || !c.AllowZeroLengthClientID || c.AutoIDPrefix != "auto-" {
		t.Fatalf("global security changed: %+v", c)
	}
	want := []Security{
		{AllowAnonymous: true, AllowZeroLengthClientID: true, AutoIDPrefix: "auto-"},
		{PasswordFile: "/etc/mosquitto/pw", ACLFile: "/etc/mosquitto/acl", AutoIDPrefix: "b-"},
		{AllowAnonymous: true, AllowZeroLengthClientID: true, AutoIDPrefix: "auto-"},
	}
	for i, w := range want {
		if got := c.ListenerSecurity(i); !reflect.DeepEqual(got, w) {
			t.Errorf("listener %d: %+v, want %+v", i, got, w)
		}
	}
	// Mosquitto refuses the switch after a security option was set.
	p = write(t, dir, "late.conf", "password_file /x\nper_listener_settings true\nlistener 1\n")
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "late.conf:2: per_listener_settings: must be set before any other security option (") {
		t.Fatalf("late per_listener_settings: %v", err)
	}
	// The converted TOML keeps the per-listener options.
	data, err := c.TOML()
	if err != nil {
		t.Fatal(err)
	}
	back, err := parseTOML(data, "conv.toml")
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range want {
		if got := back.ListenerSecurity(i); !reflect.DeepEqual(got, w) {
			t.Errorf("converted listener %d: %+v, want %+v", i, got, w)
		}
	}
}

func TestMosquittoParserRules(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]string{
		" # indented comment is a directive": "mosquitto.conf:1: #",
		"bogus_directive 1":                  "mosquitto.conf:1: bogus_directive: unknown",
		"max_keepalive 20abc":                "not an integer",
		"allow_anonymous yes":                "expected true or false",
		"port 1883\nlistener\tx":             "mosquitto.conf:2",
	}
	for body, want := range cases {
		p := write(t, dir, "mosquitto.conf", body)
		if _, err := Load(p); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", body, err, want)
		}
	}
	// No listener at all: local only mode with anonymous allowed.
	p := write(t, dir, "mosquitto.conf", "max_keepalive 60\n")
	c, err := Load(p)
	if err != nil || !c.AllowAnonymous || c.Listeners[0].BindAddress != "127.0.0.1" {
		t.Fatalf("%v %+v", err, c)
	}
	// port alone: all addresses, anonymous refused.
	p = write(t, dir, "mosquitto.conf", "port 1999\n")
	c, err = Load(p)
	if err != nil || c.AllowAnonymous || c.Listeners[0].Port != 1999 || c.Listeners[0].BindAddress != "" {
		t.Fatalf("%v %+v", err, c)
	}
}

func TestMosquittoMaxConnectionsIsPerListener(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "mosquitto.conf", "listener 1883\nmax_connections 3000\nlistener 1884\nmax_connections 2000\n")
	c, err := Load(p)
	if err != nil || c.MaxConnections != 5000 {
		t.Fatalf("%v: global max_connections %d, want the listeners' 5000", err, c.MaxConnections)
	}
	p = write(t, dir, "mosquitto.conf", "global_max_connections 50\nlistener 1883\nmax_connections 3000\n")
	if c, err = Load(p); err != nil || c.MaxConnections != 50 {
		t.Fatalf("%v: %d", err, c.MaxConnections)
	}
}

func TestMosquittoPersistence(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "mosquitto.conf", "persistence true\npersistence_location /data/mq/\npersistence_file m.db\nautosave_interval 60\npersistent_client_expiration 2d\n")
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	ps := c.Persistence
	if !ps.Enabled || ps.Dir != "/data/mq/" || ps.Sync != "interval" || ps.SyncInterval.D() != time.Minute ||
		c.PersistentClientExpiration.D() != 48*time.Hour {
		t.Fatalf("%+v %v", ps, c.PersistentClientExpiration)
	}
	notes := strings.Join(c.Notes, "\n")
	if !strings.Contains(notes, "mosquitto.conf:3: persistence_file") || !strings.Contains(notes, "mosquitto.conf:4: autosave_interval") {
		t.Fatalf("notes %s", notes)
	}
}

func TestConvertRoundTrip(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "mosquitto.conf", "listener 1885\nallow_anonymous true\nmax_queued_messages 7\n")
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.TOML()
	if err != nil {
		t.Fatal(err)
	}
	q := write(t, dir, "converted.toml", string(out))
	c2, err := Load(q)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if c2.MaxQueuedMessages != 7 || c2.Listeners[0].Port != 1885 || !c2.AllowAnonymous {
		t.Fatalf("%+v", c2)
	}
}

// mosquitto.conf's OpenSSL cipher list keeps the suites Go offers and says
// what it left out; a TOML list with a suite Go lacks is refused.
func TestCiphers(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "mosquitto.conf", "listener 8883\ncertfile /c\nkeyfile /k\n"+
		"ciphers ECDHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:HIGH:!aNULL\nciphers_tls1.3 TLS_AES_256_GCM_SHA384\n"+
		"listener 8884\ncertfile /c\nkeyfile /k\nciphers HIGH:!MD5\n")
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Listeners[0].Ciphers; len(got) != 1 || got[0] != "ECDHE-RSA-AES128-GCM-SHA256" || c.Listeners[1].Ciphers != nil {
		t.Fatalf("ciphers %v / %v", got, c.Listeners[1].Ciphers)
	}
	notes := strings.Join(c.Notes, "\n")
	for _, want := range []string{"mosquitto.conf:4: ciphers: not offered by Go's TLS, left out: DHE-RSA-AES256-GCM-SHA384:HIGH:!aNULL",
		"mosquitto.conf:5: ciphers_tls1.3: Go's TLS always offers", "mosquitto.conf:9: ciphers: names no TLS 1.2 suite"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
	p = write(t, dir, "c.toml", "[[listener]]\nport = 8883\ncertfile = \"/c\"\nkeyfile = \"/k\"\nciphers = [\"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\", \"AES128-SHA\"]\n")
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), `c.toml:5: listener[0].ciphers: "AES128-SHA" is not a TLS 1.2 suite Go offers`) {
		t.Fatalf("TOML ciphers: %v", err)
	}
}

// Mosquitto 2's rule in TOML too: a file that configures listeners makes
// anonymous access opt-in; without listeners (loopback only) it stays on.
func TestTOMLAnonymousDefault(t *testing.T) {
	dir := t.TempDir()
	for body, want := range map[string]bool{
		"[[listener]]\nport = 1883\nbind_address = \"\"\n":                         false,
		"allow_anonymous = true\n[[listener]]\nport = 1883\nbind_address = \"\"\n": true,
		"max_keepalive = 60\n": true,
	} {
		c, err := Load(write(t, dir, "m.toml", body))
		if err != nil {
			t.Fatal(err)
		}
		if c.AllowAnonymous != want {
			t.Errorf("%q: allow_anonymous %v, want %v", body, c.AllowAnonymous, want)
		}
	}
}

// `listener 0 /path` is a unix socket listener; it speaks plain MQTT only.
func TestUnixSocketListenerConfig(t *testing.T) {
	dir := t.TempDir()
	c, err := Load(write(t, dir, "mosquitto.conf", "listener 0 /run/midge.sock\nlistener 1883\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Listeners[0].UnixSocket != "/run/midge.sock" || c.Listeners[0].BindAddress != "" || c.Listeners[1].UnixSocket != "" {
		t.Fatalf("%+v", c.Listeners)
	}
	if strings.Contains(strings.Join(c.Notes, "\n"), "unix") {
		t.Fatalf("noted as unsupported: %v", c.Notes)
	}
	_, err = Load(write(t, dir, "u.toml", "[[listener]]\nunix_socket = \"/run/m.sock\"\nprotocol = \"websockets\"\n"))
	if err == nil || !strings.Contains(err.Error(), "listener[0].unix_socket: a unix socket listener speaks plain MQTT") {
		t.Fatalf("websockets on a unix socket: %v", err)
	}
}

// A watchdog timeout the kernel cannot take is refused at load, before
// /dev/watchdog is opened (which arms it).
func TestWatchdogTimeoutValidated(t *testing.T) {
	for _, tc := range []struct {
		d  time.Duration
		ok bool
	}{{0, true}, {time.Second, true}, {15 * time.Second, true}, {500 * time.Millisecond, false}, {1500 * time.Millisecond, false}, {-time.Second, false}} {
		c := Default()
		c.Hardware.WatchdogTimeout = Duration(tc.d)
		err := c.Validate()
		if (err == nil) != tc.ok {
			t.Errorf("watchdog_timeout %s: error %v", tc.d, err)
		}
		if err != nil && !strings.Contains(err.Error(), "hardware.watchdog_timeout") {
			t.Errorf("watchdog_timeout %s: error does not name the key: %v", tc.d, err)
		}
	}
}
