package broker

import (
	"bytes"

	"midge/broker/packet"
)

// Routing: a publication (a client's PUBLISH, a will, a retained message for
// a new subscription) goes to the retained store and to every matching
// session, which sends it at once or queues it.

// target is one session a publication goes to, after overlapping
// subscriptions were merged: the highest QoS, and every subscription
// identifier.
type target struct {
	s      *session
	qos    byte
	rap    bool
	subIDs []uint32
}

// publish routes a client's PUBLISH: retained store, then every matching
// subscriber. $SYS topics are not writable by clients: the message is
// acknowledged and dropped. It returns the number of receiving sessions and
// the reason code for a 5.0 acknowledgement (Success, or Quota exceeded
// when the message was refused under the reject policy).
func (b *Broker) publish(p *packet.Publish, from *session) (int, packet.ReasonCode) {
	if bytes.HasPrefix(p.Topic, []byte("$SYS")) {
		return 0, packet.Success
	}
	if len(p.Payload) > b.cfg.MessageSizeLimit {
		b.drop(dropSizeLimit)
		return 0, packet.QuotaExceeded
	}
	var m *message
	code := packet.Success
	if p.Retain {
		if len(p.Payload) == 0 {
			b.clearRetained(p.Topic)
		} else {
			m = newMessage(p.Topic, p.Payload, p.QoS, true, &p.Props, b.now)
			if !b.setRetained(m) && b.policyFor(from) == "reject" {
				code = packet.QuotaExceeded
			}
		}
	}
	n, rejected := b.route(p.Topic, p.Payload, p.QoS, p.Retain, &p.Props, from, m)
	if rejected {
		code = packet.QuotaExceeded
	}
	return n, code
}

// publishWill publishes and forgets s's will.
func (b *Broker) publishWill(s *session) {
	m := s.will
	s.will, s.willDue = nil, 0
	if m == nil {
		return
	}
	if m.Retain {
		if len(m.Payload) == 0 {
			b.clearRetained(m.Topic)
		} else {
			b.setRetained(m)
		}
	}
	b.route(m.Topic, m.Payload, m.QoS, m.Retain, &m.Props, nil, m)
}

// route delivers one publication to every matching session. m is the
// message's stored copy if one exists; otherwise one is made only when a
// delivery must outlive this call (QoS 1/2 or a queued QoS 0), so QoS 0
// fan-out to clients with room in their output buffers allocates nothing.
// rejected reports that a subscriber's queue refused it under the reject
// policy.
func (b *Broker) route(topicName, payload []byte, qos byte, retain bool, props *packet.Properties, from *session, m *message) (n int, rejected bool) {
	b.matches = b.tree.Match(topicName, b.matches[:0])
	if len(b.matches) == 0 {
		return 0, false
	}
	b.gen++
	b.targets = b.targets[:0]
	for _, mt := range b.matches {
		s := mt.Key
		if mt.Options.NoLocal && s == from && !mt.Shared {
			continue // [MQTT-3.8.3-3]
		}
		if s.gen == b.gen {
			t := &b.targets[s.idx]
			t.qos = max(t.qos, mt.Options.QoS)
			t.rap = t.rap || mt.Options.RetainAsPublished
			if mt.Options.SubID != 0 {
				t.subIDs = append(t.subIDs, mt.Options.SubID)
			}
			continue
		}
		s.gen, s.idx = b.gen, int32(len(b.targets))
		if len(b.targets) < cap(b.targets) {
			b.targets = b.targets[:len(b.targets)+1]
		} else {
			b.targets = append(b.targets, target{})
		}
		t := &b.targets[s.idx]
		t.s, t.qos, t.rap = s, mt.Options.QoS, mt.Options.RetainAsPublished
		t.subIDs = t.subIDs[:0]
		if mt.Options.SubID != 0 {
			t.subIDs = append(t.subIDs, mt.Options.SubID)
		}
	}
	for i := range b.targets {
		t := &b.targets[i]
		q := min(qos, t.qos)
		if b.cfg.UpgradeOutgoingQoS {
			q = t.qos
		}
		r := retain && t.rap // [MQTT-3.3.1-12] retain as published, else 0
		var rej bool
		m, rej = b.deliver(t.s, topicName, payload, q, r, props, t.subIDs, m)
		rejected = rejected || rej
		t.s = nil
	}
	return len(b.targets), rejected
}

// deliver sends or queues one publication for s, returning the stored
// message (made here if it was needed and not given) and whether s's queue
// refused it under the reject policy.
func (b *Broker) deliver(s *session, topicName, payload []byte, qos byte, retain bool, props *packet.Properties, subIDs []uint32, m *message) (*message, bool) {
	if !b.allowed(s, AccessReceive, topicName) {
		return m, false // read access is checked on every delivery, retained ones too
	}
	c := s.conn
	online := c != nil && c.state == stateConnected
	if qos == 0 {
		if !online && !(b.cfg.QueueQoS0Messages && s.expiry > 0) {
			return m, false
		}
		if online && s.queue.len() == 0 {
			p := packet.Publish{Topic: topicName, Payload: payload, Retain: retain}
			if props != nil {
				p.Props = *props
			}
			if m != nil {
				if left, ok := remaining(m, b.now); !ok {
					b.drop(dropExpired)
					return m, false
				} else if p.Props.Has(packet.PropMessageExpiry) {
					p.Props.MessageExpiry = left
				}
			}
			if c.sendPublish(&p, subIDs) != sendNoRoom {
				return m, false
			}
		}
	}
	if m == nil {
		m = newMessage(topicName, payload, qos, retain, props, b.now)
	}
	d := &delivery{msg: m, qos: qos, retain: retain, size: messageSize(m)}
	if len(subIDs) > 0 {
		d.subIDs = append([]uint32(nil), subIDs...)
	}
	if online && s.queue.len() == 0 && (qos == 0 || s.inflightRoom(d)) && b.mem+d.size <= b.cfg.MemoryLimit {
		if _, ok := remaining(m, b.now); !ok {
			b.drop(dropExpired)
			return m, false
		}
		b.storeDelivery(s, d)
		if s.transmit(d) {
			return m, false
		}
	}
	_, rejected := s.enqueue(d)
	return m, rejected
}
