//go:build linux

package hw

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// fakeDev behaves like the kernel's watchdog core (drivers/watchdog/
// watchdog_dev.c) behind /dev/watchdog: integer ioctls write a 4-byte int
// through the pointer, SETTIMEOUT checks the driver's range and writes the
// value back, a write clears the magic-close flag unless it holds a 'V',
// and closing stops the watchdog only after a 'V' or for a driver without
// WDIOF_MAGICCLOSE.
type fakeDev struct {
	options    uint32
	noInfo     bool  // GETSUPPORT fails
	timeout    int32 // 0: unknown, GETTIMEOUT answers EOPNOTSUPP
	minT, maxT int32
	setErr     error // SETTIMEOUT fails with this
	disableErr error // SETOPTIONS fails with this
	writeErr   error // every write fails with this
	stopErr    error // the driver cannot stop (nowayout)

	armed, allowRelease, closed bool
	pets, writes, sets          int
}

const bcm2835Options = unix.WDIOF_SETTIMEOUT | unix.WDIOF_MAGICCLOSE | unix.WDIOF_KEEPALIVEPING

// A Raspberry Pi's bcm2835_wdt: 1-15 s, magic close, keepalive ioctl.
func newPi() *fakeDev {
	return &fakeDev{options: bcm2835Options, timeout: 15, minT: 1, maxT: 15, armed: true}
}

func (f *fakeDev) ioctl(req uint, arg unsafe.Pointer) error {
	if f.closed {
		return unix.EBADF
	}
	p := (*int32)(arg)
	switch req {
	case unix.WDIOC_GETSUPPORT:
		if f.noInfo {
			return unix.ENOTTY
		}
		info := (*unix.WatchdogInfo)(arg)
		info.Options = f.options
		copy(info.Identity[:], "fake wdt")
	case unix.WDIOC_SETTIMEOUT:
		f.sets++
		if f.options&unix.WDIOF_SETTIMEOUT == 0 {
			return unix.EOPNOTSUPP
		}
		if f.setErr != nil {
			return f.setErr
		}
		if *p < f.minT || (f.maxT > 0 && *p > f.maxT) {
			return unix.EINVAL
		}
		f.timeout = *p
		f.pets++
		fallthrough
	case unix.WDIOC_GETTIMEOUT:
		if f.timeout == 0 {
			return unix.EOPNOTSUPP
		}
		*p = f.timeout
	case unix.WDIOC_GETBOOTSTATUS:
		*p = unix.WDIOF_CARDRESET
	case unix.WDIOC_KEEPALIVE:
		if f.options&unix.WDIOF_KEEPALIVEPING == 0 {
			return unix.EOPNOTSUPP
		}
		f.pets++
	case unix.WDIOC_SETOPTIONS:
		if *p&unix.WDIOS_DISABLECARD != 0 {
			if f.disableErr != nil {
				return f.disableErr
			}
			if f.stopErr != nil {
				return f.stopErr
			}
			f.armed = false
		}
	default:
		return unix.ENOTTY
	}
	return nil
}

func (f *fakeDev) Write(b []byte) (int, error) {
	if f.closed {
		return 0, unix.EBADF
	}
	if f.writeErr != nil {
		return 0, f.writeErr
	}
	f.writes++
	f.pets++
	f.allowRelease = false
	for _, c := range b {
		if c == 'V' {
			f.allowRelease = true
		}
	}
	return len(b), nil
}

func (f *fakeDev) Close() error {
	if f.closed {
		return unix.EBADF
	}
	f.closed = true
	if f.armed && (f.allowRelease || f.options&unix.WDIOF_MAGICCLOSE == 0) && f.stopErr == nil {
		f.armed = false
	}
	return nil
}

// The bug: a Pi refuses 30 s (its maximum is 15 s). The device must stay
// open and armed at the driver's 15 s, petted at a third of it.
func TestWatchdogSetTimeoutRefused(t *testing.T) {
	f := newPi()
	w := openWatchdog(f, 30*time.Second)
	if f.closed || !f.armed {
		t.Fatal("a refused timeout closed the watchdog")
	}
	if !errors.Is(w.TimeoutErr, unix.EINVAL) || w.Requested != 30*time.Second {
		t.Fatalf("TimeoutErr %v", w.TimeoutErr)
	}
	if w.Timeout() != 15*time.Second || w.PetInterval() != 5*time.Second {
		t.Fatalf("timeout %v, pet every %v", w.Timeout(), w.PetInterval())
	}
	if w.Identity != "fake wdt" || !w.LastReset || !w.MagicClose() {
		t.Fatalf("%+v", w)
	}
	before := f.pets
	if err := w.Pet(); err != nil || f.pets != before+1 {
		t.Fatalf("pet: %v", err)
	}
	if err := w.Close(true); err != nil || !f.closed || f.armed {
		t.Fatalf("clean close: %v closed=%v armed=%v", err, f.closed, f.armed)
	}
}

func TestWatchdogTimeoutAccepted(t *testing.T) {
	f := newPi()
	w := openWatchdog(f, 10*time.Second)
	if w.TimeoutErr != nil || w.Timeout() != 10*time.Second || f.timeout != 10 {
		t.Fatalf("%v %v", w.TimeoutErr, w.Timeout())
	}
	// 0 keeps the driver's timeout without asking.
	f = newPi()
	w = openWatchdog(f, 0)
	if f.sets != 0 || w.Timeout() != 15*time.Second || w.TimeoutErr != nil {
		t.Fatalf("sets %d timeout %v", f.sets, w.Timeout())
	}
}

// GETTIMEOUT unsupported (a driver that leaves its timeout 0): the value
// SETTIMEOUT wrote back is used; without it the timeout is unknown and the
// pet interval falls back to 500 ms.
func TestWatchdogGetTimeoutUnsupported(t *testing.T) {
	f := newPi()
	f.timeout = 0
	f.setErr = unix.EIO
	w := openWatchdog(f, 30*time.Second)
	if f.closed || w.Timeout() != 0 || w.PetInterval() != 500*time.Millisecond || w.TimeoutErr == nil {
		t.Fatalf("closed=%v timeout %v interval %v err %v", f.closed, w.Timeout(), w.PetInterval(), w.TimeoutErr)
	}
	if err := w.Pet(); err != nil {
		t.Fatal(err)
	}
	// No GETSUPPORT either: magic close is assumed, 'V' is written anyway.
	f = &fakeDev{noInfo: true, options: bcm2835Options, armed: true, maxT: 60}
	w = openWatchdog(f, 20*time.Second)
	if w.Timeout() != 20*time.Second || w.TimeoutErr != nil || !w.MagicClose() {
		t.Fatalf("timeout %v err %v", w.Timeout(), w.TimeoutErr)
	}
	if err := w.Close(true); err != nil || f.armed {
		t.Fatalf("%v armed=%v", err, f.armed)
	}
}

// A driver without WDIOF_SETTIMEOUT is not asked; one without
// WDIOF_KEEPALIVEPING is petted by write.
func TestWatchdogFixedTimeoutAndWritePets(t *testing.T) {
	f := &fakeDev{options: unix.WDIOF_MAGICCLOSE, timeout: 60, armed: true}
	w := openWatchdog(f, 30*time.Second)
	if f.sets != 0 || !errors.Is(w.TimeoutErr, ErrTimeoutFixed) || w.Timeout() != 60*time.Second {
		t.Fatalf("sets %d err %v timeout %v", f.sets, w.TimeoutErr, w.Timeout())
	}
	if err := w.Pet(); err != nil || f.writes != 1 {
		t.Fatalf("pet by write: %v writes %d", err, f.writes)
	}
	f.writeErr = unix.EIO
	if err := w.Pet(); !errors.Is(err, unix.EIO) {
		t.Fatalf("pet write error lost: %v", err)
	}
	// A sub-second or fractional timeout never reaches the driver.
	f = newPi()
	w = openWatchdog(f, 1500*time.Millisecond)
	if f.sets != 0 || w.TimeoutErr == nil || w.Timeout() != 15*time.Second {
		t.Fatalf("sets %d err %v", f.sets, w.TimeoutErr)
	}
}

// Write errors at close: a watchdog that cannot be disarmed is not closed
// (it would be left armed with nobody petting it).
func TestWatchdogCloseWriteErrors(t *testing.T) {
	f := newPi()
	w := openWatchdog(f, 10*time.Second)
	f.writeErr, f.disableErr = unix.EIO, unix.EOPNOTSUPP
	err := w.Close(true)
	if !errors.Is(err, ErrStillArmed) || f.closed || !f.armed {
		t.Fatalf("%v closed=%v", err, f.closed)
	}
	if err := w.Pet(); err != nil {
		t.Fatalf("still armed, must still be pettable: %v", err)
	}
	// A second try once writes work again disarms it.
	f.writeErr = nil
	if err := w.Close(true); err != nil || !f.closed || f.armed {
		t.Fatalf("%v closed=%v armed=%v", err, f.closed, f.armed)
	}
	if err := w.Close(true); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if err := w.Pet(); err == nil {
		t.Fatal("pet after close")
	}

	// The 'V' fails but WDIOS_DISABLECARD works: disarmed and closed.
	f = newPi()
	w = openWatchdog(f, 10*time.Second)
	f.writeErr = unix.EIO
	if err := w.Close(true); err != nil || !f.closed || f.armed {
		t.Fatalf("%v closed=%v armed=%v", err, f.closed, f.armed)
	}

	// A driver without magic close stops on any close.
	f = &fakeDev{options: unix.WDIOF_SETTIMEOUT | unix.WDIOF_KEEPALIVEPING, timeout: 30, armed: true}
	w = openWatchdog(f, 0)
	f.writeErr, f.disableErr = unix.EIO, unix.EOPNOTSUPP
	if err := w.Close(true); err != nil || !f.closed || f.armed {
		t.Fatalf("%v closed=%v armed=%v", err, f.closed, f.armed)
	}

	// Close(false) is a reset on purpose: closed, left armed.
	f = newPi()
	w = openWatchdog(f, 10*time.Second)
	w.Pet()
	if err := w.Close(false); err != nil || !f.closed || !f.armed {
		t.Fatalf("%v closed=%v armed=%v", err, f.closed, f.armed)
	}
}

// The real device path, on a file that is not a watchdog: every ioctl
// fails (ENOTTY), which must not close it or fail the open.
func TestWatchdogOnAPlainFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "watchdog")
	os.WriteFile(p, nil, 0o600)
	w, err := OpenWatchdog(p, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if w.TimeoutErr == nil || w.Timeout() != 0 {
		t.Fatalf("err %v timeout %v", w.TimeoutErr, w.Timeout())
	}
	if err := w.Pet(); err != nil { // falls back to a write
		t.Fatal(err)
	}
	if err := w.Close(true); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != ".V" {
		t.Fatalf("wrote %q, want a keepalive byte then the magic V", b)
	}
}

func TestWatchdogLimits(t *testing.T) {
	root := t.TempDir()
	d := filepath.Join(root, "watchdog0")
	os.MkdirAll(d, 0o755)
	for n, v := range map[string]string{"identity": "Broadcom BCM2835 Watchdog timer\n", "timeout": "15\n",
		"min_timeout": "1\n", "max_timeout": "15\n", "options": "0x8180\n", "nowayout": "0\n"} {
		os.WriteFile(filepath.Join(d, n), []byte(v), 0o644)
	}
	l, err := ReadWatchdogLimits("/dev/watchdog", root)
	if err != nil {
		t.Fatal(err)
	}
	if l.Timeout != 15*time.Second || l.MaxTimeout != 15*time.Second || l.MinTimeout != time.Second ||
		!l.OptionsSet || l.Options != bcm2835Options || l.NoWayOut || l.Identity != "Broadcom BCM2835 Watchdog timer" {
		t.Fatalf("%+v", l)
	}
	if err := l.Check(30 * time.Second); !errors.Is(err, ErrTimeoutRange) {
		t.Fatalf("30s on a Pi: %v", err)
	}
	if err := l.Check(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := l.Check(0); err != nil {
		t.Fatal(err)
	}
	if err := l.Check(500 * time.Millisecond); err == nil {
		t.Fatal("500ms accepted")
	}
	l.Options = unix.WDIOF_MAGICCLOSE
	if err := l.Check(10 * time.Second); !errors.Is(err, ErrTimeoutFixed) {
		t.Fatal(err)
	}
	if _, err := ReadWatchdogLimits("/dev/watchdog1", root); err != ErrNotPresent {
		t.Fatal(err)
	}
	if _, err := ReadWatchdogLimits("/dev/null", root); err == nil {
		t.Fatal("/dev/null accepted as a watchdog")
	}
}

func TestCheckWatchdogTimeout(t *testing.T) {
	for d, ok := range map[time.Duration]bool{0: true, time.Second: true, 30 * time.Second: true,
		999 * time.Millisecond: false, 1500 * time.Millisecond: false, -time.Second: false, MaxWatchdogTimeout + time.Second: false} {
		if err := CheckWatchdogTimeout(d); (err == nil) != ok {
			t.Errorf("%v: %v", d, err)
		}
	}
}

// Every WDIOC_* integer is the kernel's 4-byte int. Read into a Go int
// (unix.IoctlGetInt), it comes back shifted by 32 bits on a big-endian
// 64-bit target (mips64): a 5 s timeout read as 21,474,836,480. FIONREAD
// on a pipe is a real kernel ioctl with the same 4-byte int, so this runs
// the same code path on every architecture (under qemu-user too).
func TestIoctlInt32(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	w.Write([]byte("12345"))
	n, err := ioctlInt32(fdFile(r.Fd()), unix.TIOCINQ, 0)
	if err != nil || n != 5 {
		t.Fatalf("TIOCINQ = %d, %v; want 5", n, err)
	}
	if wide, err := unix.IoctlGetInt(int(r.Fd()), unix.TIOCINQ); err == nil && wide != 5 {
		t.Logf("unix.IoctlGetInt reads %d here (8-byte int, big-endian): hence 32-bit reads", wide)
	}
	// The fake device writes 4 bytes through the pointer like the kernel:
	// the watchdog's readback is right on every byte order and word size.
	f := newPi()
	f.timeout = 5
	if wd := openWatchdog(f, 0); wd.Timeout() != 5*time.Second {
		t.Fatalf("timeout %v", wd.Timeout())
	}
}
