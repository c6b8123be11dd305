package broker

import (
	"bytes"

	"midge/broker/packet"
	"midge/broker/topic"
)

// target is one session a publication goes to, after overlapping
// subscriptions were merged: the highest QoS, and every subscription
// identifier.
type target struct {
	s      *session
	qos    byte
	rap    bool
	subIDs []uint32
}

var (
	errAliasInvalid = &packet.FieldError{Packet: packet.PUBLISH, Field: "topic alias", Err: packet.ErrTopicAlias}
	errAliasUnknown = &packet.FieldError{Packet: packet.PUBLISH, Field: "topic alias not set", Err: packet.ErrProtocol}
	errPubSubID     = &packet.FieldError{Packet: packet.PUBLISH, Field: "subscription identifier from a client", Err: packet.ErrProtocol}
	errTopicLevels  = &packet.FieldError{Packet: packet.PUBLISH, Field: "topic levels above max_topic_levels", Err: packet.ErrTopicName}
	errRetainNA     = &packet.Error{Code: packet.RetainNotSupported, Msg: "retain not supported"}
	errQoS2Window   = &packet.FieldError{Packet: packet.PUBLISH, Field: "QoS 2 messages awaiting PUBREL", Err: packet.ErrReceiveMax}
)

// handlePublish routes an inbound PUBLISH and acknowledges it.
func (c *conn) handlePublish(p *packet.Publish, size int) error {
	b := c.b
	s := c.sess
	if c.version == packet.Version5 {
		if len(p.Props.SubIDs) > 0 { // [MQTT-3.3.4-6]
			return errPubSubID
		}
		if p.Props.Has(packet.PropTopicAlias) {
			a := p.Props.TopicAlias
			if a > c.aliasMax { // [MQTT-3.2.2-17]
				return errAliasInvalid
			}
			if len(p.Topic) > 0 {
				if c.aliases == nil {
					c.aliases = make(map[uint16]string)
				}
				if c.aliases[a] != string(p.Topic) {
					c.aliases[a] = string(p.Topic)
				}
			} else {
				t, ok := c.aliases[a]
				if !ok {
					return errAliasUnknown
				}
				p.Topic = []byte(t)
			}
		}
	}
	if levels(p.Topic) > b.cfg.MaxTopicLevels {
		return errTopicLevels
	}
	if p.Retain && !b.cfg.RetainAvailable {
		return errRetainNA // [MQTT-3.3.1-?] 0x9A
	}
	b.Stats.MsgsReceived++
	switch p.QoS {
	case 0:
		b.publish(p, s)
	case 1:
		n := b.publish(p, s)
		ack := packet.Ack{Type: packet.PUBACK, PacketID: p.PacketID}
		if n == 0 && c.version == packet.Version5 {
			ack.Reason = packet.NoMatchingSubscribers
		}
		c.send(packet.AppendAck(b.scratch[:0], &ack, c.version))
	case 2:
		ack := packet.Ack{Type: packet.PUBREC, PacketID: p.PacketID}
		if _, dup := s.recvQoS2[p.PacketID]; !dup {
			// exactly once: a PUBLISH with an id still awaiting PUBREL is
			// not delivered again [MQTT-4.3.3-10]
			if c.version == packet.Version5 && len(s.recvQoS2) >= b.cfg.MaxInflightMessages {
				return errQoS2Window // [MQTT-3.3.4-7] 0x93
			}
			if s.recvQoS2 == nil {
				s.recvQoS2 = make(map[uint16]struct{})
			}
			s.recvQoS2[p.PacketID] = struct{}{}
			if b.publish(p, s) == 0 && c.version == packet.Version5 {
				ack.Reason = packet.NoMatchingSubscribers
			}
		}
		c.send(packet.AppendAck(b.scratch[:0], &ack, c.version))
	}
	return nil
}

func levels(topic []byte) int { return bytes.Count(topic, []byte{'/'}) + 1 }

// publish routes a client's PUBLISH: retained store, then every matching
// subscriber. $SYS topics are not writable by clients: the message is
// acknowledged and dropped. It returns the number of receiving sessions.
func (b *Broker) publish(p *packet.Publish, from *session) int {
	if bytes.HasPrefix(p.Topic, []byte("$SYS")) {
		return 0
	}
	var m *Message
	if p.Retain {
		if len(p.Payload) == 0 {
			b.retained.Delete(p.Topic)
		} else {
			m = newMessage(p.Topic, p.Payload, p.QoS, true, &p.Props, b.now)
			b.retained.Set(m.Topic, m)
		}
	}
	return b.route(p.Topic, p.Payload, p.QoS, p.Retain, &p.Props, from, m)
}

// publishWill publishes and forgets s's will.
func (b *Broker) publishWill(s *session) {
	m := s.will
	s.will = nil
	b.wheel.stop(&s.willTimer)
	if m == nil {
		return
	}
	if m.Retain {
		if len(m.Payload) == 0 {
			b.retained.Delete(m.Topic)
		} else {
			b.retained.Set(m.Topic, m)
		}
	}
	b.route(m.Topic, m.Payload, m.QoS, m.Retain, &m.Props, nil, m)
}

// route delivers one publication to every matching session. m is the
// message's stored copy if one exists; otherwise one is made only when a
// delivery must outlive this call (QoS 1/2 or a queued QoS 0), so QoS 0
// fan-out to clients with room in their output buffers allocates nothing.
func (b *Broker) route(topicName, payload []byte, qos byte, retain bool, props *packet.Properties, from *session, m *Message) int {
	b.matches = b.tree.Match(topicName, b.matches[:0])
	if len(b.matches) == 0 {
		return 0
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
		s.gen, s.idx = b.gen, len(b.targets)
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
		r := retain && t.rap // [MQTT-3.3.1-12] retain as published, else 0
		m = b.deliver(t.s, topicName, payload, q, r, props, t.subIDs, m)
		t.s = nil
	}
	return len(b.targets)
}

// deliver sends or queues one publication for s, returning the stored
// message (made here if it was needed and not given).
func (b *Broker) deliver(s *session, topicName, payload []byte, qos byte, retain bool, props *packet.Properties, subIDs []uint32, m *Message) *Message {
	c := s.conn
	online := c != nil && c.state == stateConnected
	if qos == 0 {
		if !online {
			return m
		}
		if len(s.queue) == 0 && b.sendDirect(c, topicName, payload, retain, props, subIDs) {
			return m
		}
	}
	if m == nil {
		m = newMessage(topicName, payload, qos, retain, props, b.now)
	}
	d := &delivery{msg: m, qos: qos, retain: retain}
	if len(subIDs) > 0 {
		d.subIDs = append([]uint32(nil), subIDs...)
	}
	if online && len(s.queue) == 0 && (qos == 0 || len(s.inflight) < s.window()) && s.transmit(d) {
		return m
	}
	s.enqueue(d)
	return m
}

// sendDirect encodes a QoS 0 PUBLISH straight from the inbound views into
// the client's output buffer. It reports false when the buffer has no room.
func (b *Broker) sendDirect(c *conn, topicName, payload []byte, retain bool, props *packet.Properties, subIDs []uint32) bool {
	p := packet.Publish{Topic: topicName, Payload: payload, Retain: retain}
	if c.version == packet.Version5 && props != nil {
		p.Props = *props
		p.Props.Present &= forwardable
		p.Props.SubIDs = nil
		if len(subIDs) > 0 {
			b.subIDs = b.subIDs[:0]
			for _, id := range subIDs {
				b.subIDs = packet.AppendSubscriptionID(b.subIDs, id)
			}
			p.Props.SubIDs = b.subIDs
		}
	}
	size := packet.PublishLen(&p, c.version)
	if c.maxPacket > 0 && size > int(c.maxPacket) {
		b.Stats.Dropped++
		return true
	}
	if !c.room(size) {
		return false
	}
	c.send(packet.AppendPublish(b.scratch[:0], &p, c.version))
	b.Stats.MsgsSent++
	return true
}

// sendRetained delivers the retained messages matching a new subscription.
func (b *Broker) sendRetained(s *session, filter []byte, opts topic.Options) {
	b.retained.Match(filter, func(m *Message) {
		var ids []uint32
		if opts.SubID != 0 {
			ids = []uint32{opts.SubID}
		}
		b.deliver(s, m.Topic, m.Payload, min(m.QoS, opts.QoS), true, &m.Props, ids, m)
	})
}
