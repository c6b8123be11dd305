package broker

import (
	"time"

	"midge/broker/wheel"
)

// The end of a connection's session: detach (will now or after its delay,
// expiry countdown), the offline session's timer, and removal.

// detach separates a closing connection from its session: the will is
// published (now, or after its delay), and the session ends or starts its
// expiry countdown.
func (b *Broker) detach(c *conn, graceful bool) {
	s := c.sess
	c.sess = nil
	if s == nil || s.conn != c {
		return
	}
	s.conn = nil
	b.stats.Connected--
	// Queued QoS 0 messages are not kept for an offline session (unless
	// queue_qos0_messages asks for it).
	keepQoS0 := b.cfg.QueueQoS0Messages && s.expiry > 0
	s.queue.filter(func(d *delivery) bool { return d.qos > 0 || keepQoS0 },
		func(d *delivery) { s.uncharge(d.size, false) })
	if graceful {
		s.will = nil
	}
	now := b.clock()
	if s.will != nil {
		if s.willDelay > 0 && s.expiry > 0 {
			s.willDue = now + int64(time.Duration(s.willDelay)*time.Second)
		} else {
			b.publishWill(s)
		}
	}
	if s.expiry == 0 {
		b.endSession(s)
		return
	}
	if s.expiry != maxExpiry {
		s.expDue = now + int64(time.Duration(s.expiry)*time.Second)
	}
	s.arm()
}

// endSession removes a session: a pending will is published first
// [MQTT-3.1.3-9], then its subscriptions and messages are dropped.
func (b *Broker) endSession(s *session) {
	if s.will != nil {
		b.publishWill(s)
	}
	b.wheel.Stop(&s.timer)
	s.willDue, s.expDue = 0, 0
	b.storeSessionDel(s)
	s.clearSubscriptions()
	s.queue.each(func(d *delivery) { s.uncharge(d.size, false) })
	for id := range s.inflight {
		s.settle(id)
	}
	s.queue.reset()
	s.inflight, s.recvQoS2 = nil, nil
	if b.sessions[s.id] == s {
		delete(b.sessions, s.id)
	}
}

// onTimer handles the offline session's deadlines: the delayed will, then
// the end of the session.
func (s *session) OnTimer(*wheel.Timer) {
	b := s.b
	if s.conn != nil {
		return
	}
	now := b.clock()
	if s.willDue != 0 && now >= s.willDue {
		s.willDue = 0
		b.publishWill(s)
	}
	if s.expDue != 0 && now >= s.expDue {
		b.log.Debugf("Session %s expired.", s.id)
		b.endSession(s)
		return
	}
	s.arm()
}

// arm schedules the timer for the next pending deadline.
func (s *session) arm() {
	b := s.b
	next := s.expDue
	if s.willDue != 0 && (next == 0 || s.willDue < next) {
		next = s.willDue
	}
	if next == 0 {
		b.wheel.Stop(&s.timer)
		return
	}
	b.wheel.Schedule(&s.timer, b.now, time.Duration(next-b.clock()))
}

// disconnect ends a client's connection: its session is detached first
// (will, expiry), then the connection flushes its output and closes.
// graceful is true after a DISCONNECT that suppresses the will.
func (b *Broker) disconnect(c *conn, graceful bool) {
	if c.sess != nil {
		b.detach(c, graceful)
	}
	c.close()
}

// lost ends a connection whose socket ended without DISCONNECT (EOF, a read
// or write error).
func (b *Broker) lost(c *conn) {
	switch c.state {
	case stateClosing:
		c.destroy()
	case stateConnected:
		b.log.Noticef("Client %s closed its connection.", c)
		fallthrough
	default:
		b.disconnect(c, false)
	}
}
