package hw

import (
	"os"
	"strconv"
	"time"

	"midge/platform"
)

// Notifier speaks systemd's sd_notify protocol over $NOTIFY_SOCKET, without
// libsystemd. Without the variable (OpenWrt, busybox init) it is nil and
// every method is a no-op.
type Notifier struct {
	_        [0]func() // not comparable: no equality function in the binary
	path     string
	watchdog time.Duration
}

// NewNotifier reads $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID.
func NewNotifier() *Notifier {
	s := os.Getenv("NOTIFY_SOCKET")
	if s == "" {
		return nil
	}
	n := &Notifier{path: s}
	if us, err := strconv.ParseInt(os.Getenv("WATCHDOG_USEC"), 10, 64); err == nil && us > 0 {
		if pid := os.Getenv("WATCHDOG_PID"); pid == "" || pid == strconv.Itoa(os.Getpid()) {
			n.watchdog = time.Duration(us) * time.Microsecond
		}
	}
	return n
}

// Notify sends one datagram of newline-separated KEY=VALUE lines.
func (n *Notifier) Notify(state string) error {
	if n == nil {
		return nil
	}
	return platform.SendUnixgram(n.path, []byte(state))
}

// WatchdogInterval is systemd's watchdog timeout for this service (0 = off).
func (n *Notifier) WatchdogInterval() time.Duration {
	if n == nil {
		return 0
	}
	return n.watchdog
}

// SystemdWatchdog pets systemd's service watchdog (WATCHDOG=1).
type SystemdWatchdog struct{ N *Notifier }

func (s SystemdWatchdog) Pet() error             { return s.N.Notify("WATCHDOG=1") }
func (s SystemdWatchdog) Timeout() time.Duration { return s.N.WatchdogInterval() }
func (s SystemdWatchdog) Close(bool) error       { return nil }
