package hw

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

// fakeLEDs makes a sysfs LED class tree in a temp dir.
func fakeLEDs(t *testing.T, names ...string) string {
	root := t.TempDir()
	for _, n := range names {
		d := filepath.Join(root, n)
		os.MkdirAll(d, 0o755)
		os.WriteFile(filepath.Join(d, "brightness"), []byte("0"), 0o644)
		os.WriteFile(filepath.Join(d, "max_brightness"), []byte("255\n"), 0o644)
		os.WriteFile(filepath.Join(d, "trigger"), []byte("none [mmc0] timer heartbeat"), 0o644)
	}
	return root
}

func read(t *testing.T, p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func TestSysfsLED(t *testing.T) {
	root := fakeLEDs(t, "green:status")
	l, err := OpenLED("sysfs:green:status", root)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "green:status")
	if read(t, filepath.Join(dir, "trigger")) != "none" {
		t.Fatal("trigger not taken over")
	}
	l.Set(true)
	if read(t, filepath.Join(dir, "brightness")) != "255" {
		t.Fatal("not on at max_brightness")
	}
	l.Halt()
	if read(t, filepath.Join(dir, "brightness")) != "0" || read(t, filepath.Join(dir, "trigger")) != "mmc0" {
		t.Fatal("halt did not hand the LED back")
	}
	if _, err := OpenLED("missing", root); err != ErrNotPresent {
		t.Fatalf("missing LED: %v", err)
	}
	if _, err := OpenLED("../etc", root); err == nil {
		t.Fatal("path escape accepted")
	}
}

func TestGPIOLED(t *testing.T) {
	pin := &gpiotest.Pin{N: "LED_TEST_17"}
	if err := gpioreg.Register(pin); err != nil {
		t.Fatal(err)
	}
	l, err := OpenLED("gpio:LED_TEST_17", "")
	if err != nil {
		t.Fatal(err)
	}
	l.Set(true)
	if pin.Read() != true {
		t.Fatal("pin not high")
	}
	if _, err := OpenLED("gpio:NOPE", ""); err != ErrNotPresent {
		t.Fatalf("%v", err)
	}
}

func TestIndicatorPatterns(t *testing.T) {
	root := fakeLEDs(t, "status", "act")
	st, _ := OpenLED("status", root)
	act, _ := OpenLED("act", root)
	in := &Indicator{Status: st, Activity: act}
	base := time.UnixMilli(1_000_000_000_000)
	level := func(n string) string { return read(t, filepath.Join(root, n, "brightness")) }
	in.Tick(base.Add(50 * time.Millisecond))
	if level("status") != "255" {
		t.Fatal("heartbeat not on at the start of the second")
	}
	in.Tick(base.Add(500 * time.Millisecond))
	if level("status") != "0" {
		t.Fatal("heartbeat stuck on")
	}
	in.SetPattern(Fault)
	in.Tick(base.Add(1_130 * time.Millisecond))
	if level("status") != "0" {
		t.Fatal("fault pattern wrong")
	}
	in.Tick(base.Add(1_260 * time.Millisecond))
	if level("status") != "255" {
		t.Fatal("fault pattern not blinking")
	}
	now := base.Add(2 * time.Second)
	in.Blink(now)
	in.Tick(now)
	if level("act") != "255" {
		t.Fatal("activity blink missing")
	}
	in.Blink(now.Add(10 * time.Millisecond)) // rate limited
	in.Tick(now.Add(80 * time.Millisecond))
	if level("act") != "0" {
		t.Fatal("activity blink too long or not rate limited")
	}
}

func TestNotifier(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "notify")
	l, err := listenUnixgram(sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	t.Setenv("WATCHDOG_USEC", "4000000")
	n := NewNotifier()
	if n.WatchdogInterval() != 4*time.Second {
		t.Fatalf("interval %v", n.WatchdogInterval())
	}
	n.Notify("READY=1\nSTATUS=ok")
	buf := make([]byte, 100)
	l.SetReadDeadline(time.Now().Add(time.Second))
	k, err := l.Read(buf)
	if err != nil || string(buf[:k]) != "READY=1\nSTATUS=ok" {
		t.Fatalf("%q %v", buf[:k], err)
	}
	t.Setenv("NOTIFY_SOCKET", "")
	if NewNotifier() != nil {
		t.Fatal("notifier without a socket")
	}
}

func TestWatchdogNotPresent(t *testing.T) {
	if _, err := OpenWatchdog(filepath.Join(t.TempDir(), "watchdog"), 10*time.Second); err != ErrNotPresent {
		t.Fatalf("%v", err)
	}
}
