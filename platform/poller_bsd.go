//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package platform

import (
	"golang.org/x/sys/unix"
)

// kqueue poller with a pipe wake-up (portable across the BSDs and macOS).
type kqueue struct {
	fd     int
	wr, rd int
	raw    []unix.Kevent_t
	state  map[int][2]bool // fd -> watched for {read, write}
}

// NewPoller returns a kqueue poller.
func NewPoller() (Poller, error) {
	fd, err := unix.Kqueue()
	if err != nil {
		return nil, err
	}
	var pfd [2]int
	if err := unix.Pipe(pfd[:]); err != nil {
		unix.Close(fd)
		return nil, err
	}
	unix.SetNonblock(pfd[0], true)
	unix.SetNonblock(pfd[1], true)
	unix.CloseOnExec(pfd[0])
	unix.CloseOnExec(pfd[1])
	p := &kqueue{fd: fd, rd: pfd[0], wr: pfd[1], raw: make([]unix.Kevent_t, 256), state: map[int][2]bool{}}
	if err := p.change(p.rd, unix.EVFILT_READ, unix.EV_ADD); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

func (p *kqueue) change(fd int, filter int16, flags uint16) error {
	var ev unix.Kevent_t
	unix.SetKevent(&ev, fd, int(filter), int(flags))
	_, err := unix.Kevent(p.fd, []unix.Kevent_t{ev}, nil, nil)
	return err
}

func (p *kqueue) Add(fd int, read, write bool) error {
	p.state[fd] = [2]bool{}
	return p.Modify(fd, read, write)
}

func (p *kqueue) Modify(fd int, read, write bool) error {
	old := p.state[fd]
	set := func(filter int16, was, want bool) error {
		if was == want {
			return nil
		}
		flags := uint16(unix.EV_DELETE)
		if want {
			flags = unix.EV_ADD
		}
		return p.change(fd, filter, flags)
	}
	if err := set(unix.EVFILT_READ, old[0], read); err != nil {
		return err
	}
	p.state[fd] = [2]bool{read, write}
	return set(unix.EVFILT_WRITE, old[1], write)
}

func (p *kqueue) Remove(fd int) error {
	err := p.Modify(fd, false, false)
	delete(p.state, fd)
	return err
}

func (p *kqueue) Wait(events []Event, timeoutMs int) (int, error) {
	var ts *unix.Timespec
	if timeoutMs >= 0 {
		t := unix.NsecToTimespec(int64(timeoutMs) * 1e6)
		ts = &t
	}
	max := len(events)
	if max > len(p.raw) {
		max = len(p.raw)
	}
	n, err := unix.Kevent(p.fd, nil, p.raw[:max], ts)
	if err != nil {
		if err == unix.EINTR {
			return 0, nil
		}
		return 0, err
	}
	for i := 0; i < n; i++ {
		r := p.raw[i]
		fd := int(r.Ident)
		if fd == p.rd {
			var buf [64]byte
			unix.Read(p.rd, buf[:])
			fd = -1
		}
		events[i] = Event{
			Fd:       fd,
			Readable: r.Filter == unix.EVFILT_READ,
			Writable: r.Filter == unix.EVFILT_WRITE,
			Hangup:   r.Flags&(unix.EV_EOF|unix.EV_ERROR) != 0,
		}
	}
	return n, nil
}

func (p *kqueue) Wake() error {
	_, err := unix.Write(p.wr, []byte{1})
	if err == unix.EAGAIN {
		return nil
	}
	return err
}

func (p *kqueue) Close() error {
	unix.Close(p.rd)
	unix.Close(p.wr)
	return unix.Close(p.fd)
}
