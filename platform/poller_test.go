package platform

import (
	"net"
	"strconv"
	"testing"
	"time"
)

func TestPollerAcceptReadWake(t *testing.T) {
	p, err := NewPoller()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	lfd, addr, err := Listen("127.0.0.1", 0, 16)
	if err != nil {
		t.Fatal(err)
	}
	defer Close(lfd)
	if err := p.Add(lfd, true, false); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(addr.Port()))))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	evs := make([]Event, 8)
	wait := func(want func(Event) bool) Event {
		deadline := time.Now().Add(2 * time.Second)
		for time.Now().Before(deadline) {
			n, err := p.Wait(evs, 100)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range evs[:n] {
				if want(e) {
					return e
				}
			}
		}
		t.Fatal("timed out")
		return Event{}
	}
	wait(func(e Event) bool { return e.Fd == lfd && e.Readable })
	fd, _, err := Accept(lfd)
	if err != nil {
		t.Fatal(err)
	}
	defer Close(fd)
	p.Add(fd, true, false)
	c.Write([]byte("hi"))
	wait(func(e Event) bool { return e.Fd == fd && e.Readable })
	buf := make([]byte, 8)
	if n, err := Read(fd, buf); err != nil || string(buf[:n]) != "hi" {
		t.Fatalf("read %q %v", buf[:n], err)
	}
	if _, err := Read(fd, buf); err != ErrWouldBlock {
		t.Fatalf("want EAGAIN, got %v", err)
	}
	go func() { time.Sleep(10 * time.Millisecond); p.Wake() }()
	wait(func(e Event) bool { return e.Fd == -1 })
	if lim, err := RaiseFileLimit(256); err != nil || lim < 256 {
		t.Fatalf("rlimit %d %v", lim, err)
	}
}
