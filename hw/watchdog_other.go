//go:build !linux

package hw

import "time"

// DevWatchdog is only available on Linux.
type DevWatchdog struct {
	Requested  time.Duration
	TimeoutErr error
	LastReset  bool
	Identity   string
}

// OpenWatchdog reports ErrNotPresent outside Linux.
func OpenWatchdog(path string, timeout time.Duration) (*DevWatchdog, error) {
	return nil, ErrNotPresent
}

func (w *DevWatchdog) Pet() error                 { return nil }
func (w *DevWatchdog) Timeout() time.Duration     { return 0 }
func (w *DevWatchdog) PetInterval() time.Duration { return time.Second }
func (w *DevWatchdog) MagicClose() bool           { return true }
func (w *DevWatchdog) Close(bool) error           { return nil }
