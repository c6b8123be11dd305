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

// Plain sysfs names carry colons of their own: "green:status" is an LED,
// not an LED of kind "green".
func TestPlainSysfsNames(t *testing.T) {
	root := fakeLEDs(t, "green:status", "tp-link:green:system")
	for _, spec := range []string{"green:status", "tp-link:green:system", "sysfs:tp-link:green:system"} {
		l, err := OpenLED(spec, root)
		if err != nil {
			t.Fatalf("%s: %v", spec, err)
		}
		l.Halt()
	}
	if _, err := OpenLED("blue:status", root); err != ErrNotPresent {
		t.Fatalf("missing colon name: %v", err)
	}
}

// Choices are tried in order; the first LED present wins.
func TestLEDChoices(t *testing.T) {
	root := fakeLEDs(t, "beaglebone:green:heartbeat", "ACT")
	l, err := OpenLED("beaglebone:green:usr0, beaglebone:green:heartbeat", root)
	if err != nil || l.Name() != "sysfs:beaglebone:green:heartbeat" {
		t.Fatalf("%v %v", l, err)
	}
	if l, err = OpenLED("ACT,led0", root); err != nil || l.Name() != "sysfs:ACT" {
		t.Fatalf("%v %v", l, err)
	}
	if _, err = OpenLED("led0, gpio:NO_SUCH_LINE", root); err != ErrNotPresent {
		t.Fatalf("none present: %v", err)
	}
	if _, err = OpenLED("../x, ACT", root); err != nil {
		t.Fatalf("a bad choice before a good one: %v", err)
	}
	if _, err = OpenLED("../x, led0", root); err == nil || err == ErrNotPresent {
		t.Fatalf("a bad name is an error, not absence: %v", err)
	}
	if _, err = OpenLED(" , ", root); err == nil {
		t.Fatal("empty choice list accepted")
	}
}

// fakeDT makes a /proc/device-tree in a temp dir: files are properties
// (strings NUL-terminated, cells big-endian).
func fakeDT(t *testing.T, props map[string]string) string {
	root := t.TempDir()
	for p, v := range props {
		f := filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(f), 0o755)
		os.WriteFile(f, []byte(v), 0o644)
	}
	return root
}

func TestDeviceTreeLED(t *testing.T) {
	dt := fakeDT(t, map[string]string{
		// label wins (most OpenWrt ath79/ramips boards)
		"aliases/led-running": "/leds/led-0\x00",
		"leds/led-0/label":    "green:status\x00",
		"leds/led-0/color":    "\x00\x00\x00\x03",
		// color and function, no label (newer device trees)
		"aliases/led-boot":                   "/leds/led-power\x00",
		"leds/led-power/color":               "\x00\x00\x00\x02",
		"leds/led-power/function":            "power\x00",
		"leds/led-power/function-enumerator": "\x00\x00\x00\x01",
		// node name only, with a unit address
		"aliases/led-failsafe":                 "/gpio-leds/tp-link:green:system\x00",
		"gpio-leds/tp-link:green:system/gpios": "",
		// chan-name (some PWM/I2C LED drivers)
		"aliases/led-upgrade":        "/i2c/led@30/led-1\x00",
		"i2c/led@30/led-1/chan-name": "blue:status\x00",
		// an alias that tries to leave the tree
		"aliases/led-evil":     "/../../etc\x00",
		"aliases/led-relative": "leds/led-0\x00",
	})
	for role, want := range map[string]string{"running": "green:status", "led-running": "green:status",
		"boot": "green:power-1", "failsafe": "tp-link:green:system", "upgrade": "blue:status", "evil": "etc"} {
		got, err := DeviceTreeLED(dt, role)
		if err != nil || got != want {
			t.Errorf("%s: %q %v, want %q", role, got, err, want)
		}
	}
	if _, err := DeviceTreeLED(dt, "missing"); err != ErrNotPresent {
		t.Errorf("missing alias: %v", err)
	}
	if _, err := DeviceTreeLED(dt, "relative"); err == nil {
		t.Error("relative alias accepted")
	}
	if _, err := DeviceTreeLED(filepath.Join(dt, "none"), "running"); err != ErrNotPresent {
		t.Errorf("no device tree: %v", err)
	}

	// The board file's order: the device tree first, then known names.
	leds := fakeLEDs(t, "green:status", "green:system")
	roots := LEDRoots{Sysfs: leds, DeviceTree: dt}
	l, err := OpenLEDAt("dt:running, green:system", roots)
	if err != nil || l.Name() != "sysfs:green:status" {
		t.Fatalf("%v %v", l, err)
	}
	l, err = OpenLEDAt("dt:boot, green:system", roots) // green:power-1 is not in sysfs
	if err != nil || l.Name() != "sysfs:green:system" {
		t.Fatalf("%v %v", l, err)
	}
	roots.DeviceTree = filepath.Join(dt, "none") // not an OpenWrt/device-tree board
	l, err = OpenLEDAt("dt:running, green:system", roots)
	if err != nil || l.Name() != "sysfs:green:system" {
		t.Fatalf("%v %v", l, err)
	}
}
