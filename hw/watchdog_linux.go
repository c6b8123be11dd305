//go:build linux

package hw

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// DevWatchdog is a Linux watchdog device (/dev/watchdog). Opening it arms
// it. The ioctl numbers come from x/sys/unix, which knows they differ on MIPS.
type DevWatchdog struct {
	f          *os.File
	timeout    time.Duration
	magicClose bool
	// LastReset is true when the last boot was caused by this watchdog
	// (WDIOC_GETBOOTSTATUS reports WDIOF_CARDRESET).
	LastReset bool
	Identity  string
}

// OpenWatchdog opens and arms path with the given timeout (0 keeps the
// driver's). A missing device is ErrNotPresent.
func OpenWatchdog(path string, timeout time.Duration) (*DevWatchdog, error) {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, ErrNotPresent
		}
		return nil, err // EBUSY: another process (procd, systemd) owns it
	}
	w := &DevWatchdog{f: f}
	fd := int(f.Fd())
	if info, err := unix.IoctlGetWatchdogInfo(fd); err == nil {
		w.magicClose = info.Options&unix.WDIOF_MAGICCLOSE != 0
		w.Identity = unix.ByteSliceToString(info.Identity[:])
	}
	if timeout > 0 {
		// WDIOC_SETTIMEOUT takes a pointer; the driver may round the value.
		if err := unix.IoctlSetPointerInt(fd, unix.WDIOC_SETTIMEOUT, int(timeout/time.Second)); err != nil {
			f.Close()
			return nil, fmt.Errorf("set timeout: %w", err)
		}
	}
	if secs, err := unix.IoctlGetInt(fd, unix.WDIOC_GETTIMEOUT); err == nil && secs > 0 {
		w.timeout = time.Duration(secs) * time.Second
	} else {
		w.timeout = timeout
	}
	if st, err := unix.IoctlGetInt(fd, unix.WDIOC_GETBOOTSTATUS); err == nil {
		w.LastReset = st&unix.WDIOF_CARDRESET != 0
	}
	return w, nil
}

func (w *DevWatchdog) Pet() error             { return unix.IoctlWatchdogKeepalive(int(w.f.Fd())) }
func (w *DevWatchdog) Timeout() time.Duration { return w.timeout }

func (w *DevWatchdog) Close(clean bool) error {
	if clean && w.magicClose {
		w.f.Write([]byte("V"))
	}
	return w.f.Close()
}
