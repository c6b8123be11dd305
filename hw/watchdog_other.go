//go:build !linux

package hw

import "time"

// DevWatchdog is only available on Linux.
type DevWatchdog struct {
	LastReset bool
	Identity  string
}

// OpenWatchdog reports ErrNotPresent outside Linux.
func OpenWatchdog(path string, timeout time.Duration) (*DevWatchdog, error) {
	return nil, ErrNotPresent
}

func (w *DevWatchdog) Pet() error             { return nil }
func (w *DevWatchdog) Timeout() time.Duration { return 0 }
func (w *DevWatchdog) Close(bool) error       { return nil }
