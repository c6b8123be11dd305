//go:build linux

package platform

import (
	"golang.org/x/sys/unix"
)

type epoll struct {
	fd     int
	wakeFd int // eventfd
	raw    []unix.EpollEvent
}

// NewPoller returns an epoll poller with an eventfd wake-up.
func NewPoller() (Poller, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	wfd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	p := &epoll{fd: fd, wakeFd: wfd, raw: make([]unix.EpollEvent, 256)}
	if err := unix.EpollCtl(fd, unix.EPOLL_CTL_ADD, wfd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wfd)}); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

func mask(read, write bool) uint32 {
	m := uint32(unix.EPOLLRDHUP)
	if read {
		m |= unix.EPOLLIN
	}
	if write {
		m |= unix.EPOLLOUT
	}
	return m
}

func (p *epoll) Add(fd int, read, write bool) error {
	return unix.EpollCtl(p.fd, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: mask(read, write), Fd: int32(fd)})
}

func (p *epoll) Modify(fd int, read, write bool) error {
	return unix.EpollCtl(p.fd, unix.EPOLL_CTL_MOD, fd, &unix.EpollEvent{Events: mask(read, write), Fd: int32(fd)})
}

func (p *epoll) Remove(fd int) error {
	return unix.EpollCtl(p.fd, unix.EPOLL_CTL_DEL, fd, nil)
}

func (p *epoll) Wait(events []Event, timeoutMs int) (int, error) {
	max := len(events)
	if max > len(p.raw) {
		max = len(p.raw)
	}
	n, err := unix.EpollWait(p.fd, p.raw[:max], timeoutMs)
	if err != nil {
		if err == unix.EINTR {
			return 0, nil
		}
		return 0, err
	}
	for i := 0; i < n; i++ {
		r := p.raw[i]
		fd := int(r.Fd)
		if fd == p.wakeFd {
			var buf [8]byte
			unix.Read(p.wakeFd, buf[:])
			fd = -1
		}
		events[i] = Event{
			Fd:       fd,
			Readable: r.Events&(unix.EPOLLIN|unix.EPOLLPRI) != 0,
			Writable: r.Events&unix.EPOLLOUT != 0,
			Hangup:   r.Events&(unix.EPOLLERR|unix.EPOLLHUP|unix.EPOLLRDHUP) != 0,
		}
	}
	return n, nil
}

func (p *epoll) Wake() error {
	one := [8]byte{1}
	_, err := unix.Write(p.wakeFd, one[:])
	if err == unix.EAGAIN { // counter saturated: a wake-up is pending anyway
		return nil
	}
	return err
}

func (p *epoll) Close() error {
	unix.Close(p.wakeFd)
	return unix.Close(p.fd)
}
