//go:build linux

package hw

import (
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// DevWatchdog is a Linux watchdog device (/dev/watchdog). Opening it arms
// it, and from then on it is never closed armed by accident: a refused
// timeout keeps the device open at the driver's own timeout. The ioctl
// numbers come from x/sys/unix, which knows they differ on MIPS; every
// ioctl argument is the kernel's 4-byte int, never a Go int.
type DevWatchdog struct {
	_       [0]func() // not comparable: no equality function in the binary
	dev     wdFile
	timeout time.Duration // 0: the driver does not say
	options uint32
	hasInfo bool
	open    bool
	// Requested is the timeout asked for (0: the driver's was kept).
	Requested time.Duration
	// TimeoutErr says why Requested is not in force (refused by the
	// driver, or the driver cannot change it); the driver's own timeout,
	// Timeout(), is used instead.
	TimeoutErr error
	// LastReset is true when the last boot was caused by this watchdog
	// (WDIOC_GETBOOTSTATUS reports WDIOF_CARDRESET).
	LastReset bool
	Identity  string
}

// wdFile is the device as the watchdog code uses it; tests use a fake.
type wdFile interface {
	ioctl(req uint, arg unsafe.Pointer) error
	Write(b []byte) (int, error)
	Close() error
}

// fdFile is the real device: a raw descriptor (an *os.File would add its
// whole method set to the smallest builds for nothing).
type fdFile int

func (f fdFile) ioctl(req uint, arg unsafe.Pointer) error {
	for {
		_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(f), uintptr(req), uintptr(arg))
		if e == 0 {
			return nil
		}
		if e != unix.EINTR {
			return e
		}
	}
}

func (f fdFile) Write(b []byte) (int, error) {
	for {
		n, err := unix.Write(int(f), b)
		if err != unix.EINTR {
			return n, err
		}
	}
}

func (f fdFile) Close() error { return unix.Close(int(f)) }

// ioctlInt32 passes a pointer to a 4-byte int, as every WDIOC_* integer
// ioctl takes, and returns what the driver wrote back.
func ioctlInt32(d wdFile, req uint, v int32) (int32, error) {
	err := d.ioctl(req, unsafe.Pointer(&v))
	return v, err
}

// OpenWatchdog opens and arms path and asks for the given timeout (0 keeps
// the driver's). A missing device is ErrNotPresent. A timeout the driver
// refuses is not an error: the device stays open and armed at its own
// timeout (see TimeoutErr), because closing it now without the magic close
// would leave it armed with nobody petting it.
func OpenWatchdog(path string, timeout time.Duration) (*DevWatchdog, error) {
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		if err == unix.ENOENT {
			return nil, ErrNotPresent
		}
		return nil, err // EBUSY: procd or systemd owns it
	}
	return openWatchdog(fdFile(fd), timeout), nil
}

func openWatchdog(dev wdFile, timeout time.Duration) *DevWatchdog {
	w := &DevWatchdog{dev: dev, open: true, Requested: timeout}
	var info unix.WatchdogInfo
	if dev.ioctl(unix.WDIOC_GETSUPPORT, unsafe.Pointer(&info)) == nil {
		w.hasInfo, w.options = true, info.Options
		w.Identity = unix.ByteSliceToString(info.Identity[:])
	}
	var set time.Duration
	terr := CheckWatchdogTimeout(timeout)
	switch {
	case timeout == 0:
	case terr != nil:
		w.TimeoutErr = terr
	case w.hasInfo && w.options&unix.WDIOF_SETTIMEOUT == 0:
		w.TimeoutErr = ErrTimeoutFixed
	default:
		// The driver may round the value and writes the real one back.
		v, err := ioctlInt32(dev, unix.WDIOC_SETTIMEOUT, int32(timeout/time.Second))
		if err != nil {
			w.TimeoutErr = err // EINVAL: out of the driver's range
		} else if v > 0 {
			set = time.Duration(v) * time.Second
		}
	}
	if v, err := ioctlInt32(dev, unix.WDIOC_GETTIMEOUT, 0); err == nil && v > 0 {
		w.timeout = time.Duration(v) * time.Second
	} else {
		w.timeout = set // 0 when the driver says nothing: unknown
	}
	if st, err := ioctlInt32(dev, unix.WDIOC_GETBOOTSTATUS, 0); err == nil {
		w.LastReset = st&unix.WDIOF_CARDRESET != 0
	}
	return w
}

// Timeout is the driver's timeout in force; 0 means the driver does not
// tell (pet at PetInterval then).
func (w *DevWatchdog) Timeout() time.Duration { return w.timeout }

// PetInterval is a safe petting period: a third of the timeout, and 500 ms
// when the timeout is unknown (the kernel's shortest is 1 s).
func (w *DevWatchdog) PetInterval() time.Duration { return petInterval(w.timeout) }

func petInterval(timeout time.Duration) time.Duration {
	if timeout <= 0 {
		return 500 * time.Millisecond
	}
	return timeout / 3
}

// MagicClose reports whether the driver needs the magic 'V' to stop on
// close (WDIOF_MAGICCLOSE); without it, any close stops it.
func (w *DevWatchdog) MagicClose() bool { return !w.hasInfo || w.options&unix.WDIOF_MAGICCLOSE != 0 }

// Pet keeps the board alive: WDIOC_KEEPALIVE, else a write (the kernel
// refuses the ioctl for a driver without WDIOF_KEEPALIVEPING; qemu-user
// answers ioctls it does not know with ENOSYS). Any write but a 'V' is a
// keepalive.
func (w *DevWatchdog) Pet() error {
	if !w.open {
		return os.ErrClosed
	}
	if !w.hasInfo || w.options&unix.WDIOF_KEEPALIVEPING != 0 {
		if _, err := ioctlInt32(w.dev, unix.WDIOC_KEEPALIVE, 0); err == nil {
			return nil
		}
	}
	_, err := w.dev.Write([]byte{'.'})
	return err
}

// Close with clean true disarms the watchdog first: WDIOS_DISABLECARD and
// the magic 'V' (the last write before close), as systemd does. If neither
// worked on a driver that needs the magic close, the device is NOT closed
// and ErrStillArmed is returned: it can still be petted, and an exit resets
// the board after its timeout. With clean false it is closed armed (a
// driver without WDIOF_MAGICCLOSE stops anyway; with the kernel's nowayout
// none ever stops).
func (w *DevWatchdog) Close(clean bool) error {
	if !w.open {
		return nil
	}
	if clean {
		_, derr := ioctlInt32(w.dev, unix.WDIOC_SETOPTIONS, unix.WDIOS_DISABLECARD)
		n, werr := w.dev.Write([]byte{'V'})
		if derr != nil && (werr != nil || n != 1) && w.MagicClose() {
			return ErrStillArmed
		}
	}
	w.open = false
	return w.dev.Close()
}
