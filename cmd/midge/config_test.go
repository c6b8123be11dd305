//go:build !nocli && !nopersist

package main

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"midge/broker/auth"
)

// runConfig runs the broker binary with args until it exits (a broker that
// starts is killed when ctx ends) and returns its exit status and stderr.
func runConfig(t *testing.T, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, midgeBin, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%v: still running after 5s (it started):\n%s", args, stderr.String())
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), stderr.String()
}

// A mosquitto.conf with a TLS-PSK listener, an auth plugin or a bridge does
// not start (exit status 3, as for any configuration error), and
// --test-config says so too, naming file, line and key; allow_unsupported
// lets the same file start without them.
func TestUnsupportedFeaturesRefuseToStart(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "mosquitto.conf")
	body := "listener 0 127.0.0.1\nallow_anonymous true\nlistener 0 127.0.0.1\npsk_hint gw\npsk_file " + filepath.Join(dir, "psk") +
		"\nplugin /usr/lib/mosquitto_auth.so\nplugin_opt_host db\nconnection cloud\naddress cloud.example:8883\ntopic # both 1\n"
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"-c", conf}, {"-c", conf, "--test-config"}} {
		code, out := runConfig(t, args...)
		if code != 3 {
			t.Errorf("%v: exit status %d, want 3\n%s", args, code, out)
		}
		for _, want := range []string{
			conf + ":4: psk_hint: TLS-PSK is not available in Go's TLS, and listener 0 would accept clients without a key; to start without it, add `allow_unsupported psk`",
			conf + ":6: plugin: plugins cannot be loaded into midge",
			conf + ":8: connection: bridges are not supported yet; bridge \"cloud\" would forward nothing",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("%v: output lacks %q:\n%s", args, want, out)
			}
		}
	}
	if err := os.WriteFile(conf, []byte(body+"allow_unsupported psk plugin bridge\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out := runConfig(t, "-c", conf, "--test-config")
	if code != 0 || !strings.Contains(out, ":8: connection: bridges are not supported yet: bridge \"cloud\" is not started") {
		t.Fatalf("allowed: exit status %d:\n%s", code, out)
	}
	// And it serves: the PSK listener is not opened, the other one is.
	port := startMidge(t, "-c", conf)
	if port == "" {
		t.Fatal("no port")
	}
}

// A password file with lines midge cannot use (a plaintext password,
// another hash scheme, absurd hash parameters) does not keep the broker
// down: those entries are skipped, --test-config names them by file and
// line, and the other users log in.
func TestPasswordFileBadLinesStart(t *testing.T) {
	dir := t.TempDir()
	h, err := auth.Encode(auth.SHA512PBKDF2, []byte("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("plain:hunter2\nmd5:$1$abc$def\nslow:$7$5000000$QUJDREVGR0hJSktM$"+strings.Repeat("A", 86)+"==\nalice:"+h+"\n"), 0o600)
	conf := filepath.Join(dir, "mosquitto.conf")
	os.WriteFile(conf, []byte("listener 0 127.0.0.1\npassword_file "+pw+"\n"), 0o644)
	code, out := runConfig(t, "-c", conf, "--test-config")
	if code != 0 {
		t.Fatalf("--test-config: exit status %d\n%s", code, out)
	}
	for _, want := range []string{pw + `:1: user "plain": unknown hash format`, pw + `:2: user "md5"`, pw + `:3: user "slow": $7$ iterations 5000000 above`} {
		if !strings.Contains(out, want) {
			t.Errorf("--test-config lacks %q:\n%s", want, out)
		}
	}
	port := startMidge(t, "-c", conf)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if o, err := midge(ctx, "midge", "pub", "-p", port, "-h", "127.0.0.1", "-u", "alice", "-P", "s3cret", "-t", "t", "-m", "x").CombinedOutput(); err != nil {
		t.Fatalf("alice: %v %s", err, o)
	}
	if o, err := midge(ctx, "midge", "pub", "-p", port, "-h", "127.0.0.1", "-u", "plain", "-P", "hunter2", "-t", "t", "-m", "x").CombinedOutput(); err == nil {
		t.Fatalf("plain logged in: %s", o)
	}
}

// -p changes the port only in local only mode (no listener configured), as
// in Mosquitto; a configuration's own listeners keep theirs (before, every
// listener moved to that port and the second failed with "address already
// in use").
func TestCommandLinePort(t *testing.T) {
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	free := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()

	two := filepath.Join(dir, "two.conf")
	os.WriteFile(two, []byte("listener 0 127.0.0.1\nlistener 0 127.0.0.1\nallow_anonymous true\n"), 0o644)
	code, out := runConfig(t, "-c", two, "-p", free, "--test-config")
	if code != 0 || !strings.Contains(out, "-p "+free+": ignored, as in Mosquitto: the configuration defines its listeners") {
		t.Fatalf("--test-config: exit status %d:\n%s", code, out)
	}
	if port := startMidge(t, "-c", two, "-p", free); port == free {
		t.Fatalf("a configured listener moved to -p's port %s", free)
	}

	none := filepath.Join(dir, "none.conf")
	os.WriteFile(none, []byte("max_keepalive 60\n"), 0o644)
	if port := startMidge(t, "-c", none, "-p", free); port != free {
		t.Fatalf("local only mode listens on %s, want -p's %s", port, free)
	}
}
