// Package platform holds the operating-system edges of the broker: the
// readiness poller (epoll on Linux, kqueue on BSD and macOS), the wake-up
// used by other goroutines to reach the event loop, non-blocking sockets and
// resource limits.
package platform

// Event is one readiness report from Wait.
type Event struct {
	_        [0]func() // not comparable: no equality function in the binary
	Fd       int
	Readable bool
	Writable bool
	Hangup   bool // error or peer hang-up; a read will tell which
}

// Poller is the event loop's multiplexer. It is used by one goroutine,
// except Wake, which any goroutine may call.
type Poller interface {
	// Add registers fd for readability and/or writability.
	Add(fd int, read, write bool) error
	// Modify changes what fd is watched for; a connection whose output is
	// backed up stops being watched for reading (back-pressure).
	Modify(fd int, read, write bool) error
	// Remove unregisters fd. Closing fd also does, but call it first.
	Remove(fd int) error
	// Wait blocks up to timeoutMs (-1 = forever) and fills events; a wake-up
	// is reported as an Event with Fd == -1.
	Wait(events []Event, timeoutMs int) (int, error)
	// Wake makes a blocked or the next Wait return at once.
	Wake() error
	Close() error
}
