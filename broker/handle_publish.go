package broker

import (
	"bytes"

	"midge/broker/packet"
)

var (
	errAliasInvalid = &packet.FieldError{Packet: packet.PUBLISH, Field: "topic alias", Err: packet.ErrTopicAlias}
	errAliasUnknown = &packet.FieldError{Packet: packet.PUBLISH, Field: "topic alias not set", Err: packet.ErrProtocol}
	errPubSubID     = &packet.FieldError{Packet: packet.PUBLISH, Field: "subscription identifier from a client", Err: packet.ErrProtocol}
	errTopicLevels  = &packet.FieldError{Packet: packet.PUBLISH, Field: "topic levels above max_topic_levels", Err: packet.ErrTopicName}
	errRetainNA     = &packet.Error{Code: packet.RetainNotSupported, Msg: "retain not supported"}
	errQoSNA        = &packet.FieldError{Packet: packet.PUBLISH, Field: "QoS above max_qos", Err: packet.ErrQoS}
	errQoS2Window   = &packet.FieldError{Packet: packet.PUBLISH, Field: "QoS 2 messages awaiting PUBREL", Err: packet.ErrReceiveMax}
)

// handlePublish routes an inbound PUBLISH and acknowledges it.
func (c *conn) handlePublish(p *packet.Publish) error {
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
			x := c.ext()
			if len(p.Topic) > 0 {
				if x.aliases == nil {
					x.aliases = make(map[uint16]string)
				}
				if x.aliases[a] != string(p.Topic) {
					x.aliases[a] = string(p.Topic)
				}
			} else {
				t, ok := x.aliases[a]
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
	if int(p.QoS) > c.maxQoS() {
		return errQoSNA // [MQTT-3.2.2-11] 0x9B
	}
	b.stats.MsgsReceived++
	b.blink()
	mark := b.storeSeq()
	if reservedTopic(p.Topic) || !b.allowed(s, AccessPublish, p.Topic) {
		// Not authorised, or a topic reserved to the broker: dropped; 5.0
		// QoS 1/2 publishers are told 0x87, others get the usual
		// acknowledgement (Mosquitto's behaviour).
		b.log.Debugf("Denied PUBLISH from %s on %s.", s.id, p.Topic)
		switch p.QoS {
		case 1:
			c.sendAck(&packet.Ack{Type: packet.PUBACK, PacketID: p.PacketID, Reason: packet.NotAuthorized}, mark)
		case 2:
			c.sendAck(&packet.Ack{Type: packet.PUBREC, PacketID: p.PacketID, Reason: packet.NotAuthorized}, mark)
		}
		return nil
	}
	if p.QoS > 0 && b.storeFull() && b.needsStore(p, s) {
		return c.refuseUnstored(p, mark)
	}
	refused := b.stats.Drops[dropStoreFull]
	switch p.QoS {
	case 0:
		b.publish(p, s)
	case 1:
		ack := packet.Ack{Type: packet.PUBACK, PacketID: p.PacketID}
		ack.Reason = pubackCode(b.publish(p, s))
		if b.stats.Drops[dropStoreFull] != refused {
			return c.refuseUnstored(p, mark) // the store failed while it was routed
		}
		c.sendAck(&ack, mark)
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
			ack.Reason = pubackCode(b.publish(p, s))
			if b.stats.Drops[dropStoreFull] != refused {
				return c.refuseUnstored(p, mark)
			}
			if ack.Reason < 0x80 { // a refused QoS 2 message ends its flow here
				s.recvQoS2[p.PacketID] = struct{}{}
				b.storeInbound(s, p.PacketID, true)
			}
		}
		c.sendAck(&ack, mark)
	}
	return nil
}

// needsStore reports whether acknowledging p would promise records: a
// retained message, a durable publisher's QoS 2 id, or a copy for a
// durable subscriber that receives it at QoS 1 or 2.
func (b *Broker) needsStore(p *packet.Publish, from *session) bool {
	if p.Retain || (p.QoS == 2 && from.stored) {
		return true
	}
	b.matches = b.tree.Match(p.Topic, b.matches[:0])
	for _, mt := range b.matches {
		if mt.Key.stored && (mt.Options.QoS > 0 || b.cfg.UpgradeOutgoingQoS) {
			return true
		}
	}
	return false
}

// refuseUnstored answers a QoS 1/2 PUBLISH the store cannot take (full or
// failing): it is not acknowledged as a success, so the client keeps it.
// A 5.0 client is told 0x97 Quota exceeded; a 3.x client, which has no
// negative acknowledgement, is disconnected and sends it again when it
// reconnects.
func (c *conn) refuseUnstored(p *packet.Publish, mark uint64) error {
	b := c.b
	if c.version != packet.Version5 {
		b.log.Noticef("Client %s disconnected: the store cannot take its message on %s (%s).", c, p.Topic, b.persistAlarm())
		b.disconnect(c, false)
		return nil
	}
	typ := packet.PUBACK
	if p.QoS == 2 {
		typ = packet.PUBREC
	}
	c.sendAck(&packet.Ack{Type: typ, PacketID: p.PacketID, Reason: packet.QuotaExceeded}, mark)
	return nil
}

// reservedTopic reports whether clients may not publish to topic: $SYS
// (the broker's own), $share/ (a shared subscription's prefix, not a
// topic) and $CONTROL/ (midge has no control API to receive it).
func reservedTopic(t []byte) bool {
	return len(t) > 0 && t[0] == '$' && (bytes.HasPrefix(t, []byte("$SYS")) ||
		bytes.HasPrefix(t, []byte("$share/")) || bytes.HasPrefix(t, []byte("$CONTROL/")))
}

func levels(topic []byte) int { return bytes.Count(topic, []byte{'/'}) + 1 }

// pubackCode is the 5.0 PUBACK/PUBREC reason for a routed publication.
func pubackCode(n int, code packet.ReasonCode) packet.ReasonCode {
	if code == packet.Success && n == 0 {
		return packet.NoMatchingSubscribers
	}
	return code
}
