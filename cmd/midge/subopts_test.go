//go:build !nocli && !nopersist

package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"midge/internal/testutil"
)

// midge sub's output options against mosquitto_sub's: -F prints the same
// bytes (timestamps aside), -T filters out, --retained-only and
// --remove-retained act on retained messages, -U alone unsubscribes a
// persistent session.
func TestSubOutputOptions(t *testing.T) {
	mosqSub := testutil.Need(t, "mosquitto_sub")
	conf := filepath.Join(t.TempDir(), "midge.toml")
	os.WriteFile(conf, []byte("allow_anonymous = true\n[[listener]]\nport = 0\nbind_address = \"127.0.0.1\"\n"), 0o644)
	port := startMidge(t, "-c", conf)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hp := []string{"-h", "127.0.0.1", "-p", port}
	pub := func(args ...string) {
		t.Helper()
		if o, err := midge(ctx, "midge", append(append([]string{"pub"}, hp...), args...)...).CombinedOutput(); err != nil {
			t.Fatalf("pub %v: %v %s", args, err, o)
		}
	}
	start := func(cmd *exec.Cmd) *bytes.Buffer {
		t.Helper()
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return &out
	}

	// -F, side by side with mosquitto_sub.
	format := `%t|%p|%q|%r|%l|%m|%x|%X|%%|\t|%j|%J|\\`
	args := append([]string{"-t", "f/#", "-C", "3", "-q", "1", "-V", "mqttv5", "-F", format}, hp...)
	theirs := exec.CommandContext(ctx, mosqSub, args...)
	ours := midge(ctx, "midge", append([]string{"sub"}, args...)...)
	theirOut, ourOut := start(theirs), start(ours)
	time.Sleep(400 * time.Millisecond)
	pub("-t", "f/a", "-m", `he"l<lo`, "-q", "1")
	pub("-t", "f/b", "-m", `{"x":1}`, "-q", "1")
	pub("-t", "f/c", "-n", "-q", "2")
	theirs.Wait()
	ours.Wait()
	tst := regexp.MustCompile(`"tst":"[^"]*"`)
	if a, b := tst.ReplaceAllString(theirOut.String(), "T"), tst.ReplaceAllString(ourOut.String(), "T"); a != b {
		t.Fatalf("-F output differs\nmosquitto_sub: %q\nmidge sub:     %q", a, b)
	}
	if o, err := midge(ctx, "midge", append([]string{"sub", "-t", "x", "-F", "%z"}, hp...)...).CombinedOutput(); err == nil ||
		!bytes.Contains(o, []byte("Invalid format specifier 'z'.")) {
		t.Fatalf("unknown specifier: %v %s", err, o)
	}

	// -T filters out.
	sub := midge(ctx, "midge", append([]string{"sub", "-t", "x/#", "-T", "x/skip/#", "-C", "1", "-v"}, hp...)...)
	out := start(sub)
	time.Sleep(300 * time.Millisecond)
	pub("-t", "x/skip/a", "-m", "no")
	pub("-t", "x/keep", "-m", "yes")
	if err := sub.Wait(); err != nil || out.String() != "x/keep yes\n" {
		t.Fatalf("-T: %v %q", err, out.String())
	}

	// --retained-only prints the stored messages and stops at a live one;
	// --remove-retained clears them.
	pub("-t", "r/1", "-m", "one", "-r")
	pub("-t", "r/2", "-m", "two", "-r")
	sub = midge(ctx, "midge", append([]string{"sub", "-t", "r/+", "--retained-only", "-v"}, hp...)...)
	out = start(sub)
	time.Sleep(300 * time.Millisecond)
	pub("-t", "r/3", "-m", "live")
	err := sub.Wait()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	sort.Strings(lines) // retained messages come in no particular order
	if err != nil || strings.Join(lines, ",") != "r/1 one,r/2 two" {
		t.Fatalf("--retained-only: %v %q", err, out.String())
	}
	if o, err := midge(ctx, "midge", append([]string{"sub", "-t", "r/+", "--remove-retained", "-C", "2"}, hp...)...).CombinedOutput(); err != nil {
		t.Fatalf("--remove-retained: %v %s", err, o)
	}
	err = midge(ctx, "midge", append([]string{"sub", "-t", "r/+", "-W", "1"}, hp...)...).Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 27 {
		t.Fatalf("retained messages left after --remove-retained: %v", err)
	}

	// -U alone ends a persistent session's subscription.
	persist := append([]string{"sub", "-c", "-i", "keeper", "-q", "1"}, hp...)
	if o, err := midge(ctx, "midge", append(persist, "-t", "u/#", "-E")...).CombinedOutput(); err != nil {
		t.Fatalf("subscribe: %v %s", err, o)
	}
	if o, err := midge(ctx, "midge", append(persist, "-U", "u/#")...).CombinedOutput(); err != nil {
		t.Fatalf("-U: %v %s", err, o)
	}
	pub("-t", "u/x", "-m", "queued?", "-q", "1")
	err = midge(ctx, "midge", append(persist, "-t", "nothing", "-C", "1", "-W", "1")...).Run() // a queued u/x would end it early
	if !errors.As(err, &ee) || ee.ExitCode() != 27 {
		t.Fatalf("a message was queued for an unsubscribed filter: %v", err)
	}
}
