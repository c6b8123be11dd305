package packaging

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Item: MIDGE_USERS, the service run as midge, a systemd unit, and the
// files as Buildroot's check-package wants them (no executable bit).
func TestBuildrootUserAndSystemd(t *testing.T) {
	mk := read(t, "buildroot/package/midge/midge.mk")
	if !regexp.MustCompile(`(?m)^define MIDGE_USERS\n\tmidge -1 midge -1 \* /var/lib/midge - - .+\nendef$`).MatchString(mk) {
		t.Errorf("midge.mk: no MIDGE_USERS making the midge user with home /var/lib/midge")
	}
	mustContain(t, "midge.mk", mk, "define MIDGE_INSTALL_INIT_SYSTEMD", "$(@D)/packaging/midge.service",
		"$(TARGET_DIR)/usr/lib/systemd/system/midge.service", "$(INSTALL) -D -m 0755 $(BR2_EXTERNAL_MIDGE_PATH)/package/midge/S50midge")
	unit := read(t, "packaging/midge.service")
	mustContain(t, "midge.service", unit, "Type=notify", "WatchdogSec=", "User=midge", "Group=midge",
		"ExecStart=/usr/bin/midge -c /etc/midge/midge.toml", "ExecReload=/bin/kill -HUP $MAINPID", "StateDirectory=midge",
		"WantedBy=multi-user.target")
	st, err := os.Stat(filepath.Join(root, "buildroot/package/midge/S50midge"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm()&0o111 != 0 {
		t.Errorf("S50midge is executable (check-package: install it with -m 0755 instead)")
	}
	mustContain(t, "docs/packaging.md", read(t, "docs/packaging.md"), "2025.02.15", "2026.02.1")
}

// S50midge starts midge as midge and its stop waits until the process is
// gone, as S50mosquitto does (start-stop-daemon, chown, chgrp stubbed).
func TestBuildrootInitScript(t *testing.T) {
	dir := t.TempDir()
	src := read(t, "buildroot/package/midge/S50midge")
	for old, new := range map[string]string{
		`PIDFILE="/var/run/$DAEMON.pid"`: `PIDFILE="` + dir + `/midge.pid"`,
		`MIDGE_DIR="/var/lib/midge"`:     `MIDGE_DIR="` + dir + `/store"`,
		`LEDS="/sys/class/leds"`:         `LEDS="` + dir + `/leds"`,
		`"/etc/default/$DAEMON"`:         `"` + dir + `/default"`,
	} {
		if !strings.Contains(src, old) {
			t.Fatalf("S50midge lacks %s", old)
		}
		src = strings.ReplaceAll(src, old, new)
	}
	script := filepath.Join(dir, "S50midge")
	os.WriteFile(script, []byte(src), 0o755)
	bin := filepath.Join(dir, "bin")
	os.MkdirAll(bin, 0o755)
	// start-stop-daemon: logs its arguments; --test finds the process
	// running for its first 3 calls.
	os.WriteFile(filepath.Join(bin, "start-stop-daemon"), []byte(`#!/bin/sh
echo "ssd $*" >> "$LOG"
case "$*" in *--test*)
	n=$(cat "$LOG.n" 2>/dev/null || echo 0); echo $((n + 1)) > "$LOG.n"; [ "$n" -lt 3 ];;
esac
`), 0o755)
	for _, c := range []string{"chown", "chgrp"} {
		os.WriteFile(filepath.Join(bin, c), []byte("#!/bin/sh\necho \""+c+" $*\" >> \"$LOG\"\n"), 0o755)
	}
	os.MkdirAll(filepath.Join(dir, "leds", "ACT"), 0o755)
	os.WriteFile(filepath.Join(dir, "leds", "ACT", "brightness"), nil, 0o644)
	logf := filepath.Join(dir, "log")
	run := func(arg string) (string, string) {
		t.Helper()
		os.Remove(logf)
		cmd := exec.Command("sh", script, arg)
		cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "LOG="+logf)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("S50midge %s: %v\n%s", arg, err, out)
		}
		log, _ := os.ReadFile(logf)
		return strings.TrimSpace(string(out)), string(log)
	}
	out, log := run("start")
	if out != "Starting midge: OK" {
		t.Errorf("start: %q", out)
	}
	mustContain(t, "start", log, "chown midge:midge "+dir+"/store", "chgrp midge "+dir+"/leds/ACT/brightness",
		"--chuid midge:midge --exec /usr/bin/midge -- -c /etc/midge/midge.toml")
	os.WriteFile(filepath.Join(dir, "midge.pid"), []byte("1\n"), 0o644)
	out, log = run("stop")
	if out != "Stopping midge: OK" {
		t.Errorf("stop: %q", out)
	}
	if n := strings.Count(log, "--test"); n != 4 {
		t.Errorf("stop checked %d times whether midge was gone, want 4 (3 running, 1 gone):\n%s", n, log)
	}
	if _, err := os.Stat(filepath.Join(dir, "midge.pid")); err == nil {
		t.Errorf("stop left the pid file")
	}
	os.WriteFile(filepath.Join(dir, "default"), []byte("MIDGE_LEDS=no\n"), 0o644)
	if _, log = run("start"); strings.Contains(log, "chgrp") {
		t.Errorf("MIDGE_LEDS=no: LEDs given: %s", log)
	}
	if _, log = run("reload"); !strings.Contains(log, "--signal HUP") {
		t.Errorf("reload: %s", log)
	}
}
