package broker

import "midge/broker/topic"

// Retained messages for a new subscription are sent as the connection's
// output drains, not all at once: sendRetained lists the matching messages
// (references, not copies) in the connection's backlog and pump sends them
// when the session queue is empty and the output has room.
//
// Ordering: the session queue (live messages that found no room) goes
// first, then the backlog, so live traffic is never dropped for it. An
// entry is sent only if it is still its topic's retained message: one
// replaced or cleared meanwhile was followed by a live retained
// publication on that topic, which went to the subscriber as usual, so the
// stale one is skipped and never arrives after the newer value. A live
// publication without the retain flag does not replace the retained
// message, so it may arrive before that topic's retained one. Read access,
// expiry, the subscription identifier and the QoS granted at SUBSCRIBE are
// applied when an entry is sent (deliver).
//
// Memory: each entry (retEntrySize bytes) is charged to memory_limit, and
// a backlog holds at most max_retained_messages entries; entries beyond
// either are dropped and counted (retained_limit). The backlog belongs to
// the connection: it is dropped when the connection ends, QoS 1/2 entries
// included (a later reconnect does not resend them; only messages already
// in flight are kept).

// retEntry is one retained message owed to a connection (connExt.ret).
type retEntry struct {
	_     [0]func() // not comparable: no equality function in the binary
	m     *message
	subID uint32
	qos   byte
}

const retEntrySize = 16

// sendRetained lists the retained messages matching a new subscription for
// paced delivery and starts sending them.
func (b *Broker) sendRetained(s *session, filter []byte, opts topic.Options) {
	c := s.conn
	b.retained.Match(filter, func(m *message) {
		x := c.ext() // made only when something matches
		if len(x.ret) >= b.cfg.MaxRetainedMessages || b.mem+retEntrySize > b.cfg.MemoryLimit {
			b.drop(dropRetained)
		} else {
			b.mem += retEntrySize
			x.ret = append(x.ret, retEntry{m: m, subID: opts.SubID, qos: min(m.QoS, opts.QoS)})
		}
	})
	s.pump()
}

// sendBacklog delivers the backlog's entries that are still their topic's
// retained message until one has to wait in the session queue (no room in
// the output or the in-flight window) or the backlog is empty. Expired ones
// are removed from the store.
func (s *session) sendBacklog(x *connExt) {
	b := s.b
	for s.queue.len() == 0 && len(x.ret) > 0 {
		e := x.ret[0]
		x.ret[0] = retEntry{}
		x.ret = x.ret[1:]
		b.mem -= retEntrySize
		m := e.m
		if cur, ok := b.retained.Get(m.Topic); !ok || cur != m {
			continue // replaced or cleared since the SUBSCRIBE
		}
		if _, ok := remaining(m, b.now); !ok {
			b.drop(dropExpired)
			b.clearRetained(m.Topic)
			continue
		}
		var ids []uint32
		if e.subID != 0 {
			ids = []uint32{e.subID}
		}
		b.deliver(s, m.Topic, m.Payload, e.qos, true, &m.Props, ids, m)
	}
}
