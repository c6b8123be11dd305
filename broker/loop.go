package broker

import (
	"errors"
	"fmt"
	"os"
	"time"

	"midge/broker/packet"
	"midge/platform"
)

// The event loop: wait for events, dispatch them (accept, read, write),
// run the queue other goroutines fill through Do, fire timers, then the
// end-of-turn step: hand the turn's records to the persistence writer and
// flush every connection with output. Shutdown lives here too.

// Do runs fn on the event loop. It reports false when the broker has
// stopped. The queue is bounded: Do blocks briefly while it is full.
func (b *Broker) Do(fn func()) bool {
	for i := 0; ; i++ {
		b.mu.Lock()
		if b.stopped {
			b.mu.Unlock()
			return false
		}
		if len(b.queue) < 1024 {
			b.queue = append(b.queue, fn)
			b.mu.Unlock()
			b.poller.Wake()
			return true
		}
		b.mu.Unlock()
		time.Sleep(time.Millisecond)
	}
}

// Call runs fn on the loop and waits for it to finish.
func (b *Broker) Call(fn func()) bool {
	ch := make(chan struct{})
	if !b.Do(func() { fn(); close(ch) }) {
		return false
	}
	select {
	case <-ch:
		return true
	case <-b.done:
		return false
	}
}

// Close stops the loop, closes every connection and listener, and waits.
func (b *Broker) Close() error {
	b.Do(func() { b.shutdown() })
	<-b.done
	return nil
}

// Done is closed when the loop has stopped.
func (b *Broker) Done() <-chan struct{} { return b.done }

var errStop = errors.New("broker stopped")

// Serve runs the event loop until Close. It returns nil after Close.
func (b *Broker) Serve() error {
	defer close(b.done)
	b.now = time.Now()
	b.startSys()
	b.startVerifier()
	b.armTokenSweep()
	b.startStore()
	b.startHardware()
	err := b.loop()
	if err == errStop {
		return nil
	}
	return err
}

func (b *Broker) loop() error {
	for {
		timeout := b.wheel.NextTimeout(time.Now())
		n, err := b.poller.Wait(b.events, timeout)
		if err != nil {
			b.shutdown()
			return fmt.Errorf("poll: %w", err)
		}
		b.now = time.Now()
		for _, ev := range b.events[:n] {
			b.dispatch(ev)
		}
		if b.runQueue() {
			return errStop
		}
		b.wheel.Advance(b.now)
		b.releaseMemory()
		b.endTurn()
	}
}

// runQueue runs the functions queued by Do; it reports whether the broker
// was shut down by one of them.
func (b *Broker) runQueue() bool {
	b.mu.Lock()
	q := b.queue
	b.queue = nil
	b.mu.Unlock()
	for _, fn := range q {
		fn()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stopped
}

func (b *Broker) dispatch(ev platform.Event) {
	if ev.Fd < 0 {
		return // wake-up; the queue runs after the events
	}
	if c := b.connAt(ev.Fd); c != nil {
		if ev.Writable {
			c.queueFlush()
		}
		if ev.Readable || ev.Hangup {
			c.readable()
		}
		return
	}
	for _, l := range b.listeners {
		if l.fd == ev.Fd || l.fd6 == ev.Fd {
			b.accept(l, ev.Fd)
			return
		}
	}
}

// accept takes up to a bounded number of pending connections.
func (b *Broker) accept(l *listener, lfd int) {
	for i := 0; i < 64; i++ {
		fd, sa, err := platform.Accept(lfd)
		if err != nil {
			switch {
			case err == platform.ErrWouldBlock:
			case platform.OutOfFiles(err):
				// The pending connection stays in the backlog and the
				// listener stays readable: stop watching it for a moment
				// rather than spin.
				b.log.Warnf("accept on %s: %v; pausing this listener for 250ms", l, err)
				l.paused = true
				l.watch(false)
				b.wheel.Schedule(&l.resume, b.now, 250*time.Millisecond)
			case platform.IsTemporary(err):
				b.log.Debugf("accept on %s: %v", l, err)
			default:
				b.log.Errorf("accept on %s: %v", l, err)
			}
			return
		}
		remote := platform.SockaddrToAddrPort(sa)
		if b.nconns >= b.cfg.MaxConnections || (l.cfg.MaxConnections > 0 && l.count >= l.cfg.MaxConnections) {
			b.log.Noticef("Client connection from %v denied: connection limit reached.", remote)
			platform.Close(fd)
			continue
		}
		platform.SetNoDelay(fd)
		if l.tls != nil {
			b.acceptTLS(l, fd, remote)
			continue
		}
		c := newConn(b, l, fd, remote)
		if err := b.poller.Add(fd, true, false); err != nil {
			platform.Close(fd)
			continue
		}
		b.track(c)
		l.count++
		b.wheel.Schedule(&c.timer, b.now, b.cfg.ConnectTimeout.D())
	}
}

// endTurn is the last step of every turn: the turn's log records go to the
// persistence writer, then every connection with output is flushed. A
// session whose connection drained is pumped: it moves queued messages into
// the output, which puts the connection back on the list to be flushed in
// the same pass. Nothing below calls back into this step.
func (b *Broker) endTurn() {
	b.storeFlush()
	for i := 0; i < len(b.dirty); i++ {
		c := b.dirty[i]
		b.dirty[i] = nil
		c.dirty = false
		if !c.flush() {
			b.lost(c)
			continue
		}
		if s := c.sess; s != nil && c.state == stateConnected && c.out.Len() == 0 {
			s.pump()
		}
	}
	b.dirty = b.dirty[:0]
}

func (b *Broker) shutdown() {
	b.mu.Lock()
	if b.stopped {
		b.mu.Unlock()
		return
	}
	b.stopped = true
	b.mu.Unlock()
	for _, c := range b.conns {
		if c == nil {
			continue
		}
		if c.state == stateConnected {
			c.sendDisconnect(packet.ServerShuttingDown)
			c.flush()
		}
		if c.sess != nil {
			b.detach(c, false)
		}
		c.destroy()
	}
	b.closeListeners()
	b.closeStore()
	b.closeHardware()
	b.poller.Close()
	b.log.Noticef("midge %s terminating", Version)
}

func (b *Broker) closeListeners() {
	for _, l := range b.listeners {
		b.wheel.Stop(&l.resume)
		platform.Close(l.fd)
		if l.fd6 >= 0 {
			platform.Close(l.fd6)
		}
		if l.path != "" {
			os.Remove(l.path)
		}
	}
	b.listeners = nil
}
