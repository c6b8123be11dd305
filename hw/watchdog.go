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

// The kernel's watchdog core takes whole seconds: 1 s at least, and at
// most UINT_MAX/1000 (watchdog_timeout_invalid in drivers/watchdog).
const (
	MinWatchdogTimeout = time.Second
	MaxWatchdogTimeout = 4294967 * time.Second
)

// Why a requested watchdog timeout cannot be used.
var (
	ErrTimeoutFixed = errors.New("the driver cannot change its timeout (no WDIOF_SETTIMEOUT)")
	ErrTimeoutRange = errors.New("out of the driver's range")
	ErrTimeoutValue = errors.New("watchdog timeout: whole seconds from 1s (the kernel counts seconds)")
)

// ErrStillArmed means a clean close could not disarm the watchdog (the
// magic 'V' could not be written and WDIOS_DISABLECARD was refused): the
// device is kept open so it can still be petted, and the board resets one
// timeout after the process exits.
var ErrStillArmed = errors.New("watchdog still armed: the board resets after its timeout")

// CheckWatchdogTimeout checks a configured timeout before any device is
// touched (opening /dev/watchdog arms it): 0 keeps the driver's own, else
// whole seconds from 1 s. It is what config validation can check anywhere.
func CheckWatchdogTimeout(d time.Duration) error {
	if d != 0 && (d < MinWatchdogTimeout || d > MaxWatchdogTimeout || d%time.Second != 0) {
		return ErrTimeoutValue
	}
	return nil
}

// WatchdogLimits is what the kernel publishes about a watchdog in sysfs
// (/sys/class/watchdog/watchdogN, with CONFIG_WATCHDOG_SYSFS), read without
// opening the device, so without arming it. Zero means "not published":
// min_timeout and max_timeout appeared in Linux 5.14, options later still.
type WatchdogLimits struct {
	Identity   string
	Timeout    time.Duration // in force now
	MinTimeout time.Duration
	MaxTimeout time.Duration // 0: no limit published
	Options    uint32        // WDIOF_* flags
	OptionsSet bool          // Options was published
	NoWayOut   bool          // closing never stops it (CONFIG_WATCHDOG_NOWAYOUT or nowayout=1)
}

// ReadWatchdogLimits reads the sysfs attributes of the watchdog behind dev
// ("/dev/watchdog" is watchdog0, "/dev/watchdogN" is watchdogN) under root
// ("" is /sys/class/watchdog). ErrNotPresent: no such directory (no sysfs
// support, or no such watchdog).
func ReadWatchdogLimits(dev, root string) (WatchdogLimits, error) {
	var l WatchdogLimits
	if root == "" {
		root = "/sys/class/watchdog"
	}
	name := filepath.Base(dev)
	if name == "watchdog" {
		name = "watchdog0"
	}
	if !strings.HasPrefix(name, "watchdog") {
		return l, fmt.Errorf("watchdog %q: not a /dev/watchdog[N] device", dev)
	}
	dir := filepath.Join(root, name)
	if _, err := os.Stat(dir); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return l, ErrNotPresent
		}
		return l, err
	}
	attr := func(n string) (string, bool) {
		b, err := os.ReadFile(filepath.Join(dir, n))
		return strings.TrimSpace(string(b)), err == nil
	}
	secs := func(n string) time.Duration {
		if s, ok := attr(n); ok {
			if v, err := strconv.ParseUint(s, 10, 32); err == nil {
				return time.Duration(v) * time.Second
			}
		}
		return 0
	}
	l.Identity, _ = attr("identity")
	l.Timeout = secs("timeout")
	l.MinTimeout = secs("min_timeout")
	l.MaxTimeout = secs("max_timeout")
	if s, ok := attr("options"); ok {
		if v, err := strconv.ParseUint(s, 0, 32); err == nil {
			l.Options, l.OptionsSet = uint32(v), true
		}
	}
	if s, ok := attr("nowayout"); ok {
		l.NoWayOut = s == "1"
	}
	return l, nil
}

// Check tells whether timeout d can be set on this watchdog, as far as
// sysfs tells: the driver must support WDIOF_SETTIMEOUT and d must lie in
// [min_timeout, max_timeout]. Errors wrap ErrTimeoutFixed or
// ErrTimeoutRange. (A driver that pings the hardware itself may accept
// more than max_timeout; the kernel has the last word when midge opens it.)
func (l WatchdogLimits) Check(d time.Duration) error {
	if err := CheckWatchdogTimeout(d); err != nil || d == 0 {
		if err != nil {
			return fmt.Errorf("%v: %w", d, err)
		}
		return nil
	}
	const setTimeout = 0x80 // WDIOF_SETTIMEOUT, the same on every architecture
	if l.OptionsSet && l.Options&setTimeout == 0 {
		return fmt.Errorf("watchdog timeout %v: %w; it stays %v", d, ErrTimeoutFixed, l.Timeout)
	}
	if d < l.MinTimeout || (l.MaxTimeout > 0 && d > l.MaxTimeout) {
		return fmt.Errorf("watchdog timeout %v: %w [%v, %v]", d, ErrTimeoutRange, l.MinTimeout, l.MaxTimeout)
	}
	return nil
}
