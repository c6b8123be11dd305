package hw

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// OpenLED opens an LED by spec: "sysfs:<name>" (the kernel's LED class under
// root, normally /sys/class/leds) or "gpio:<line name>" (a pin registered in
// periph.io's gpio registry by a host driver). A plain name means sysfs.
func OpenLED(spec, root string) (LED, error) {
	kind, name, ok := strings.Cut(spec, ":")
	if !ok {
		kind, name = "sysfs", spec
	}
	switch kind {
	case "sysfs":
		return openSysfsLED(root, name)
	case "gpio":
		return openGPIOLED(name)
	}
	return nil, fmt.Errorf("LED %q: unknown kind %q (sysfs or gpio)", spec, kind)
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
