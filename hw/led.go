package hw

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// LEDRoots says where the kernel's trees are; tests point them at fake
// trees in a temporary directory.
type LEDRoots struct {
	Sysfs      string // the LED class; "" is /sys/class/leds
	DeviceTree string // "" is /proc/device-tree
}

// OpenLED opens an LED by spec (see OpenLEDAt) with the sysfs LED class
// under root ("" is /sys/class/leds) and the live device tree.
func OpenLED(spec, root string) (LED, error) {
	return OpenLEDAt(spec, LEDRoots{Sysfs: root})
}

// OpenLEDAt opens an LED by spec, a comma-separated list of choices tried
// in order; the first LED present is used:
//
//   - "sysfs:<name>": the kernel's LED class (/sys/class/leds/<name>);
//   - "gpio:<line>": a pin in periph.io's gpio registry;
//   - "dt:<role>": the LED OpenWrt uses for a role (running, boot,
//     failsafe, upgrade), named by the device tree's led-<role> alias;
//   - anything else is a sysfs name, colons included ("green:status",
//     "tp-link:green:system").
//
// ErrNotPresent when no choice is on this board; otherwise the first
// failure of a choice that is present.
func OpenLEDAt(spec string, roots LEDRoots) (LED, error) {
	var firstErr error
	tried := false
	for _, choice := range strings.Split(spec, ",") {
		choice = strings.TrimSpace(choice)
		if choice == "" {
			continue
		}
		tried = true
		l, err := openLEDChoice(choice, roots)
		if err == nil {
			return l, nil
		}
		if !errors.Is(err, ErrNotPresent) && firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		return nil, firstErr
	}
	if !tried {
		return nil, fmt.Errorf("LED %q: no name", spec)
	}
	return nil, ErrNotPresent
}

func openLEDChoice(choice string, roots LEDRoots) (LED, error) {
	kind, name, _ := strings.Cut(choice, ":")
	switch kind {
	case "sysfs":
		return openSysfsLED(roots.Sysfs, name)
	case "gpio":
		return openGPIOLED(name)
	case "dt":
		label, err := DeviceTreeLED(roots.DeviceTree, name)
		if err != nil {
			return nil, err
		}
		return openSysfsLED(roots.Sysfs, label)
	}
	return openSysfsLED(roots.Sysfs, choice)
}

// DeviceTreeLED names the sysfs LED the device tree gives a role, the way
// OpenWrt's get_dt_led (base-files /lib/functions/leds.sh) does for
// /etc/diag.sh: the alias /aliases/led-<role> holds a node path such as
// "/leds/led-0"; the LED's name is that node's label property, else its
// chan-name, else "<color>:<function>[-<enumerator>]" from its color and
// function properties, else the node's own name. role may be given with
// or without "led-". root "" is /proc/device-tree. ErrNotPresent: no such
// alias (or no device tree).
func DeviceTreeLED(root, role string) (string, error) {
	if root == "" {
		root = "/proc/device-tree"
	}
	role = strings.TrimPrefix(role, "led-")
	if role == "" || strings.ContainsAny(role, "/") || role == "." || role == ".." {
		return "", fmt.Errorf("device-tree LED role %q", role)
	}
	alias, err := dtString(filepath.Join(root, "aliases", "led-"+role))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", ErrNotPresent
		}
		return "", err
	}
	if !strings.HasPrefix(alias, "/") || alias == "/" {
		return "", fmt.Errorf("device-tree alias led-%s = %q: not a node path", role, alias)
	}
	node := filepath.Join(root, filepath.Clean(alias)) // Clean of an absolute path drops any ".."
	for _, prop := range []string{"label", "chan-name"} {
		if v, err := dtString(filepath.Join(node, prop)); err == nil && v != "" {
			return v, nil
		}
	}
	if v, ok := dtColorFunction(node); ok {
		return v, nil
	}
	return filepath.Base(node), nil
}

// dtString reads a device-tree string property (NUL-terminated).
func dtString(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s, _, _ := strings.Cut(string(b), "\x00")
	return strings.TrimSpace(s), nil
}

// dtU32 reads a device-tree cell: a 4-byte big-endian integer.
func dtU32(path string) (uint32, bool) {
	b, err := os.ReadFile(path)
	if err != nil || len(b) < 4 {
		return 0, false
	}
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]), true
}

// ledColors are the LED_COLOR_ID_* names of dt-bindings/leds/common.h,
// in order, as OpenWrt's leds.sh and the kernel's led_colors[] list them.
var ledColors = []string{"white", "red", "green", "blue", "amber", "violet", "yellow", "ir",
	"multicolor", "rgb", "purple", "orange", "pink", "cyan", "lime"}

// dtColorFunction composes "<color>:<function>[-<enumerator>]" as
// OpenWrt's get_dt_led_color_func does (an unknown color is left empty).
func dtColorFunction(node string) (string, bool) {
	fn, ferr := dtString(filepath.Join(node, "function"))
	idx, hasColor := dtU32(filepath.Join(node, "color"))
	if ferr != nil && !hasColor {
		return "", false
	}
	color := ""
	if hasColor && int(idx) < len(ledColors) {
		color = ledColors[idx]
	}
	label := color + ":" + fn
	if e, ok := dtU32(filepath.Join(node, "function-enumerator")); ok {
		label += "-" + strconv.FormatUint(uint64(e), 10)
	}
	return label, true
}

// sysfsLED is a /sys/class/leds/<name> light; opening it takes it from its
// kernel trigger, Halt hands it back.
type sysfsLED struct {
	dir     string
	name    string
	on      string
	trigger string
}

func openSysfsLED(root, name string) (LED, error) {
	if root == "" {
		root = "/sys/class/leds"
	}
	if strings.Contains(name, "/") || name == "" || name == "." || name == ".." {
		return nil, fmt.Errorf("LED name %q", name)
	}
	dir := filepath.Join(root, name)
	if _, err := os.Stat(filepath.Join(dir, "brightness")); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, ErrNotPresent
		}
		return nil, err
	}
	l := &sysfsLED{dir: dir, name: name, on: "1"}
	if b, err := os.ReadFile(filepath.Join(dir, "max_brightness")); err == nil {
		l.on = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile(filepath.Join(dir, "trigger")); err == nil {
		// The current trigger is the one in brackets: "none [heartbeat] timer".
		for _, f := range strings.Fields(string(b)) {
			if strings.HasPrefix(f, "[") {
				l.trigger = strings.Trim(f, "[]")
			}
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "trigger"), []byte("none"), 0); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("LED %s: %w", name, err)
	}
	return l, nil
}

func (l *sysfsLED) Name() string { return "sysfs:" + l.name }

func (l *sysfsLED) Set(on bool) error {
	v := "0"
	if on {
		v = l.on
	}
	return os.WriteFile(filepath.Join(l.dir, "brightness"), []byte(v), 0)
}

func (l *sysfsLED) Halt() error {
	l.Set(false)
	if l.trigger != "" && l.trigger != "none" {
		return os.WriteFile(filepath.Join(l.dir, "trigger"), []byte(l.trigger), 0)
	}
	return nil
}

// Pattern is what a status LED shows.
type Pattern int

const (
	Healthy Pattern = iota // a steady heartbeat: on 100 ms every second
	Fault                  // fast blinking (persistence failing, a bridge down)
)

// Indicator drives a status LED and an activity LED from the loop's tick.
// Activity is a short blink, rate-limited so a busy broker does not turn
// the LED into a constant glow or spend its time in sysfs writes.
type Indicator struct {
	Status, Activity LED
	pattern          Pattern
	lastStatus       bool
	statusSet        bool
	activityUntil    time.Time
	lastBlink        time.Time
	activityOn       bool
	errs             int
}

// SetPattern chooses the status pattern.
func (in *Indicator) SetPattern(p Pattern) { in.pattern = p }

// Blink notes message traffic.
func (in *Indicator) Blink(now time.Time) {
	if in.Activity == nil || now.Sub(in.lastBlink) < 200*time.Millisecond {
		return
	}
	in.lastBlink = now
	in.activityUntil = now.Add(50 * time.Millisecond)
}

// Tick updates the LEDs for now; the loop calls it every 100 ms.
func (in *Indicator) Tick(now time.Time) error {
	var err error
	if in.Status != nil {
		ms := now.UnixMilli()
		on := ms%1000 < 100 // heartbeat
		if in.pattern == Fault {
			on = ms%250 < 125
		}
		if !in.statusSet || on != in.lastStatus {
			if e := in.Status.Set(on); e != nil {
				err = e
			}
			in.lastStatus, in.statusSet = on, true
		}
	}
	if in.Activity != nil {
		on := now.Before(in.activityUntil)
		if on != in.activityOn {
			if e := in.Activity.Set(on); e != nil {
				err = e
			}
			in.activityOn = on
		}
	}
	return err
}

// Halt turns the LEDs off and gives them back to the kernel.
func (in *Indicator) Halt() {
	for _, l := range []LED{in.Status, in.Activity} {
		if l != nil {
			l.Halt()
		}
	}
}
