// Package hw is midge's hardware integration: the watchdog the event loop
// pets (/dev/watchdog, or systemd's WATCHDOG=1), sd_notify, and status LEDs
// (the sysfs LED class, or a GPIO line through periph.io's gpio registry).
//
// Hardware is small interfaces with drivers chosen by name. A board with no
// watchdog or LED is not an error: the caller gets ErrNotPresent, logs "not
// present, skipped" and runs normally. A driver that exists but fails is an
// error, never a crash. Tests use the fakes in this package.
package hw

import (
	"errors"
	"time"
)

// ErrNotPresent means the device does not exist on this board.
var ErrNotPresent = errors.New("not present")

// Watchdog is something that resets the board (or restarts the service)
// unless it is petted within its timeout.
type Watchdog interface {
	Pet() error
	// Timeout is the real timeout in force (drivers may round or refuse
	// the one asked for); 0 when the driver does not tell.
	Timeout() time.Duration
	// Close stops it cleanly when the driver allows (magic close); with
	// clean false it is left armed, so a crash still resets the board.
	Close(clean bool) error
}

// LED is one light.
type LED interface {
	Name() string
	Set(on bool) error
	Halt() error // off, and its trigger left to the kernel
}

// FakeWatchdog counts pets, for tests.
type FakeWatchdog struct {
	Pets      chan time.Time
	T         time.Duration
	ClosedOK  bool
	PetErrors error
}

// NewFakeWatchdog returns a fake with a buffered pet log.
func NewFakeWatchdog(timeout time.Duration) *FakeWatchdog {
	return &FakeWatchdog{Pets: make(chan time.Time, 10000), T: timeout}
}

func (f *FakeWatchdog) Pet() error {
	select {
	case f.Pets <- time.Now():
	default:
	}
	return f.PetErrors
}

func (f *FakeWatchdog) Timeout() time.Duration { return f.T }
func (f *FakeWatchdog) Close(clean bool) error { f.ClosedOK = clean; return nil }
