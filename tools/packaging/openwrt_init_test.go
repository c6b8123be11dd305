package packaging

import (
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"midge/broker/config"
)

// initScript runs body after sourcing the procd script with OpenWrt's
// functions stubbed: config_get answers from uci (option -> value, the
// rest default), df reports freeKiB free, the LEDs live in dir/leds, the
// release file is dir/openwrt_release, and procd calls are printed.
type initScript struct {
	t       *testing.T
	dir     string
	uci     map[string]string
	freeKiB string
}

func newInitScript(t *testing.T) *initScript {
	dir := t.TempDir()
	return &initScript{t: t, dir: dir, freeKiB: "100000", uci: map[string]string{"persistence_dir": filepath.Join(dir, "store")}}
}

func (s *initScript) run(body string) string {
	t := s.t
	t.Helper()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatal("no sh: the init script tests need a POSIX shell")
	}
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	g, err := user.LookupGroupId(u.Gid)
	if err != nil {
		t.Fatal(err)
	}
	var cases strings.Builder
	for k, v := range s.uci {
		cases.WriteString("\t" + k + `) eval "$1=\"` + v + `\"";;` + "\n")
	}
	script := `
config_load() { :; }
config_get() { case "$3" in
` + cases.String() + `	*) eval "$1=\"\$4\"";; esac; }
df() { printf 'Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/x 9999 1 ` + s.freeKiB + ` 1%% /overlay\n'; }
procd_open_instance() { :; }
procd_close_instance() { :; }
procd_set_param() { echo "param $*"; }
procd_send_signal() { echo "signal $*"; }
stop() { echo stop; }
restart() { echo restart; }
. "$INIT"
CONF="$TMPD/midge.toml"
KEYS="$TMPD/keys"
LEDS="$TMPD/leds"
RELEASE="$TMPD/openwrt_release"
MIDGE_USER="$OWNER"
chgrp() { command chgrp "$GROUP" "$2"; }
chown() { echo "chown $*"; }
` + body
	cmd := exec.Command(sh, "-c", script)
	init, _ := filepath.Abs(filepath.Join(root, "openwrt/midge/files/midge.init"))
	cmd.Env = append(os.Environ(), "TMPD="+s.dir, "INIT="+init, "OWNER="+u.Username, "GROUP="+g.Name)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return strings.TrimSpace(string(out))
}

func (s *initScript) generate() *config.Config {
	s.t.Helper()
	conf := s.run(`generate; echo "$CONF"`)
	c, err := config.Load(conf)
	if err != nil {
		b, _ := os.ReadFile(conf)
		s.t.Fatalf("generated config: %v\n%s", err, b)
	}
	return c
}

// The procd script's UCI-to-TOML translation gives a configuration midge
// accepts.
func TestOpenWrtInitGeneratesValidConfig(t *testing.T) {
	s := newInitScript(t)
	s.uci["board"] = "openwrt-ath79"
	c := s.generate()
	if c.Board != "openwrt-ath79" || !c.Persistence.Enabled || c.Listeners[0].Port != 1883 || !c.AllowAnonymous || c.PasswordFile != "" {
		t.Fatalf("%+v", c)
	}
	// Password and ACL files.
	s.uci["password_file"], s.uci["acl_file"], s.uci["allow_anonymous"] = "/etc/midge/passwd", "/etc/midge/acl", "0"
	c = s.generate()
	if c.PasswordFile != "/etc/midge/passwd" || c.ACLFile != "/etc/midge/acl" || c.AllowAnonymous {
		t.Fatalf("with password and ACL files: %+v", c)
	}
	// config_file: a Mosquitto user's own file, used as it is.
	mc := filepath.Join(s.dir, "mosquitto.conf")
	os.WriteFile(mc, []byte("listener 1883\npassword_file /etc/mosquitto/pw\n"), 0o644)
	s.uci["config_file"] = mc
	if got := s.run(`generate; echo "$CONF"`); got != mc {
		t.Fatalf("config_file: init uses %q", got)
	}
}

// Item: the service runs as midge, owns its store and may set the LEDs.
func TestOpenWrtInitRunsAsMidge(t *testing.T) {
	ini := read(t, "openwrt/midge/files/midge.init")
	mustContain(t, "midge.init", ini, `MIDGE_USER=midge`, `procd_set_param user "$MIDGE_USER"`)
	mk := read(t, "openwrt/midge/Makefile")
	mustContain(t, "Makefile", mk, "USERID:=midge=")

	s := newInitScript(t)
	// A store left by a root-run midge is handed over; one of midge's is not.
	out := s.run(`MIDGE_USER=midge; generate`)
	if !strings.Contains(out, "chown -R midge:midge "+s.uci["persistence_dir"]) {
		t.Errorf("store not handed to midge: %q", out)
	}
	if out := s.run(`generate`); strings.Contains(out, "chown") {
		t.Errorf("store of midge's chowned again: %q", out)
	}
	// Every LED's trigger and brightness become group-writable.
	led := filepath.Join(s.dir, "leds", "green:status")
	os.MkdirAll(led, 0o755)
	for _, f := range []string{"trigger", "brightness", "max_brightness"} {
		os.WriteFile(filepath.Join(led, f), nil, 0o644)
	}
	s.run(`generate`)
	for f, want := range map[string]os.FileMode{"trigger": 0o664, "brightness": 0o664, "max_brightness": 0o644} {
		st, _ := os.Stat(filepath.Join(led, f))
		if st.Mode().Perm() != want {
			t.Errorf("%s mode %v, want %v", f, st.Mode().Perm(), want)
		}
	}
	os.Chmod(filepath.Join(led, "trigger"), 0o644)
	s.uci["led_access"] = "0"
	s.run(`generate`)
	if st, _ := os.Stat(filepath.Join(led, "trigger")); st.Mode().Perm() != 0o644 {
		t.Errorf("led_access 0: trigger mode %v", st.Mode().Perm())
	}
	// The procd instance.
	out = s.run(`start_service`)
	mustContain(t, "start_service", out, "param user "+currentUser(t), "param command /usr/sbin/midge -c "+filepath.Join(s.dir, "midge.toml"), "param respawn")
}

func currentUser(t *testing.T) string {
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	return u.Username
}

// Item: a reload restarts midge when a key only a restart applies changed
// (port, bind address, board, persistence, max connections, config_file),
// and sends SIGHUP otherwise.
func TestOpenWrtReloadRestartsWhenNeeded(t *testing.T) {
	s := newInitScript(t)
	s.uci["board"] = "openwrt-ath79"
	s.run(`start_service >/dev/null`)
	reload := func(what string) string {
		t.Helper()
		return s.run(`reload_service`)
	}
	if out := reload("nothing"); out != "signal midge * HUP" {
		t.Fatalf("unchanged: %q", out)
	}
	for _, c := range []struct{ key, value, want string }{
		{"allow_anonymous", "0", "signal midge * HUP"},
		{"password_file", "/etc/midge/passwd", "signal midge * HUP"},
		{"acl_file", "/etc/midge/acl", "signal midge * HUP"},
		{"log_dest", "stderr", "signal midge * HUP"},
		{"port", "1884", "restart"},
		{"bind_address", "0.0.0.0", "restart"},
		{"max_connections", "10", "restart"},
		{"board", "openwrt-ramips-mt7621", "restart"},
		{"max_store_bytes", "1048576", "restart"},
		{"persistence", "0", "restart"},
		{"config_file", "/etc/mosquitto/mosquitto.conf", "restart"},
	} {
		s.run(`start_service >/dev/null`) // the running instance: the settings so far
		s.uci[c.key] = c.value
		if out := reload(c.key); out != c.want {
			t.Errorf("%s changed: reload did %q, want %q", c.key, out, c.want)
		}
	}
	// The store cap follows the free space: less of it is no restart.
	s = newInitScript(t)
	s.run(`start_service >/dev/null`)
	s.freeKiB = "1000"
	if out := reload("free space"); out != "signal midge * HUP" {
		t.Errorf("free space changed: %q", out)
	}
	// Disabled: stopped.
	s.uci["enabled"] = "0"
	if out := reload("enabled"); out != "stop" {
		t.Errorf("disabled: %q", out)
	}
}

// Item: no board file is forced on every target: one is picked for ath79
// and ramips/mt7621, none elsewhere, and the store is capped by the free
// space of its filesystem at start.
func TestOpenWrtBoardAndStoreCap(t *testing.T) {
	if !strings.Contains(read(t, "openwrt/midge/files/midge.config"), "\toption board ''\n") {
		t.Errorf("midge.config sets a board for every target")
	}
	s := newInitScript(t)
	for target, want := range map[string]string{"ath79/generic": "openwrt-ath79", "ath79/nand": "openwrt-ath79",
		"ramips/mt7621": "openwrt-ramips-mt7621", "ramips/mt76x8": "", "x86/64": "", "": ""} {
		os.WriteFile(filepath.Join(s.dir, "openwrt_release"), []byte("DISTRIB_ID='OpenWrt'\nDISTRIB_TARGET='"+target+"'\n"), 0o644)
		if c := s.generate(); c.Board != want {
			t.Errorf("target %q: board %q, want %q", target, c.Board, want)
		}
	}
	os.Remove(filepath.Join(s.dir, "openwrt_release"))
	if c := s.generate(); c.Board != "" {
		t.Errorf("no release file: board %q", c.Board)
	}
	s.uci["board"] = "openwrt-ath79"
	if c := s.generate(); c.Board != "openwrt-ath79" {
		t.Errorf("board named in UCI: %q", c.Board)
	}

	// Plenty of space: the option's cap, the board's segments.
	s.freeKiB = "100000"
	c := s.generate()
	if c.Persistence.MaxStoreBytes != 4194304 || c.Persistence.SegmentBytes != 262144 {
		t.Errorf("free 100000 KiB: cap %d, segments %d", c.Persistence.MaxStoreBytes, c.Persistence.SegmentBytes)
	}
	// A full overlay: a quarter of what is free (plus the store's own).
	os.MkdirAll(s.uci["persistence_dir"], 0o755)
	os.WriteFile(filepath.Join(s.uci["persistence_dir"], "seg"), make([]byte, 100<<10), 0o644)
	s.freeKiB = "2000"
	c = s.generate()
	if c.Persistence.MaxStoreBytes < 2000<<10/4 || c.Persistence.MaxStoreBytes > 2200<<10/4 ||
		c.Persistence.SegmentBytes%65536 != 0 || c.Persistence.SegmentBytes > c.Persistence.MaxStoreBytes/4 {
		t.Errorf("free 2000 KiB: cap %d, segments %d", c.Persistence.MaxStoreBytes, c.Persistence.SegmentBytes)
	}
	s.freeKiB = "10"
	c = s.generate()
	if c.Persistence.MaxStoreBytes != 65536 || c.Persistence.SegmentBytes != 65536 {
		t.Errorf("free 10 KiB: cap %d, segments %d", c.Persistence.MaxStoreBytes, c.Persistence.SegmentBytes)
	}
	s.uci["max_store_bytes"] = "1048576"
	s.freeKiB = "100000"
	if c = s.generate(); c.Persistence.MaxStoreBytes != 1048576 {
		t.Errorf("max_store_bytes option: cap %d", c.Persistence.MaxStoreBytes)
	}
	// No persistence: no cap, no directory.
	s.uci["persistence"] = "0"
	s.uci["persistence_dir"] = filepath.Join(s.dir, "none")
	if c = s.generate(); c.Persistence.Enabled || dirExists(s.uci["persistence_dir"]) {
		t.Errorf("persistence 0: %+v", c.Persistence)
	}
}
