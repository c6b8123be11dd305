package hw

import (
	"errors"
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
	var err error
	for rest, more := spec, true; more; {
		var choice string
		choice, rest, more = strings.Cut(rest, ",")
		if choice = strings.TrimSpace(choice); choice == "" {
			continue
		}
		kind, name, _ := strings.Cut(choice, ":")
		var l LED
		var e error
		switch kind {
		case "gpio":
			l, e = openGPIOLED(name)
		case "dt":
			if name, e = DeviceTreeLED(roots.DeviceTree, name); e == nil {
				l, e = openSysfsLED(roots.Sysfs, name)
			}
		case "sysfs":
			l, e = openSysfsLED(roots.Sysfs, name)
		default:
			l, e = openSysfsLED(roots.Sysfs, choice)
		}
		if e == nil {
			return l, nil
		}
		// Keep the first real failure; absence only while nothing failed.
		if err == nil || (err == ErrNotPresent && e != ErrNotPresent) {
			err = e
		}
	}
	if err == nil {
		err = errBadName // no choice at all
	}
	return nil, err
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
	if !validName(role) {
		return "", errBadName
	}
	alias, ok := dtString(root + "/aliases/led-" + role)
	if !ok {
		return "", ErrNotPresent
	}
	if alias == "" || alias[0] != '/' || alias == "/" {
		return "", errBadAlias
	}
	node := root + filepath.Clean(alias) + "/" // Clean of an absolute path drops any ".."
	prop := func(name string) (string, bool) { return dtString(node + name) }
	for _, name := range [...]string{"label", "chan-name"} {
		if v, ok := prop(name); ok && v != "" {
			return v, nil
		}
	}
	// "<color>:<function>[-<enumerator>]", as get_dt_led_color_func
	// composes it (an unknown color is left empty).
	fn, hasFn := prop("function")
	color, hasColor := dtProp(node + "color")
	if !hasFn && !hasColor {
		return filepath.Base(node), nil
	}
	label := ""
	if i := dtCell(color); hasColor && i < uint32(len(ledColors)) {
		label = ledColors[i]
	}
	label += ":" + fn
	if e, ok := dtProp(node + "function-enumerator"); ok && len(e) >= 4 {
		label += "-" + strconv.FormatUint(uint64(dtCell(e)), 10)
	}
	return label, nil
}

var (
	errBadName  = errors.New("LED name: empty, \".\", \"..\" or with a \"/\"")
	errBadAlias = errors.New("device-tree LED alias: not a node path")
)

func validName(n string) bool {
	return n != "" && n != "." && n != ".." && !strings.Contains(n, "/")
}

// dtProp reads a device-tree property's raw bytes; ok false when it does
// not exist.
func dtProp(file string) (string, bool) {
	b, err := os.ReadFile(file)
	return string(b), err == nil
}

// dtString is a device-tree string property: its bytes up to the NUL.
func dtString(file string) (string, bool) {
	s, ok := dtProp(file)
	s, _, _ = strings.Cut(s, "\x00")
	return s, ok
}

// dtCell is a device-tree cell: a 4-byte big-endian integer.
func dtCell(s string) uint32 {
	if len(s) < 4 {
		return 0
	}
	return uint32(s[0])<<24 | uint32(s[1])<<16 | uint32(s[2])<<8 | uint32(s[3])
}

// ledColors are the LED_COLOR_ID_* names of dt-bindings/leds/common.h,
// in order, as OpenWrt's leds.sh and the kernel's led_colors[] list them.
var ledColors = []string{"white", "red", "green", "blue", "amber", "violet", "yellow", "ir",
	"multicolor", "rgb", "purple", "orange", "pink", "cyan", "lime"}

// sysfsLED is a /sys/class/leds/<name> light; opening it takes it from its
// kernel trigger, Halt hands it back.
type sysfsLED struct {
	_       [0]func() // not comparable: no equality function in the binary
	dir     string
	name    string
	on      string
	trigger string
}

func openSysfsLED(root, name string) (LED, error) {
	if root == "" {
		root = "/sys/class/leds"
	}
	if !validName(name) {
		return nil, errBadName
	}
	dir := root + "/" + name
	if _, err := os.Stat(dir + "/brightness"); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, ErrNotPresent
		}
		return nil, err
	}
	l := &sysfsLED{dir: dir, name: name, on: "1"}
	if b, err := os.ReadFile(dir + "/max_brightness"); err == nil {
		l.on = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile(dir + "/trigger"); err == nil {
		// The current trigger is the one in brackets: "none [heartbeat] timer".
		if _, t, ok := strings.Cut(string(b), "["); ok {
			l.trigger, _, _ = strings.Cut(t, "]")
		}
	}
	if err := os.WriteFile(dir+"/trigger", []byte("none"), 0); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err // a *PathError: it names the file
	}
	return l, nil
}

func (l *sysfsLED) Name() string { return "sysfs:" + l.name }

func (l *sysfsLED) Set(on bool) error {
	v := "0"
	if on {
		v = l.on
	}
	return os.WriteFile(l.dir+"/brightness", []byte(v), 0)
}

func (l *sysfsLED) Halt() error {
	l.Set(false)
	if l.trigger != "" && l.trigger != "none" {
		return os.WriteFile(l.dir+"/trigger", []byte(l.trigger), 0)
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
	_                [0]func() // not comparable: no equality function in the binary
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
