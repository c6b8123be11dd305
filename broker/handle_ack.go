package broker

import "midge/broker/packet"

// handleAck completes the QoS 1 and QoS 2 flows in both directions.
func (c *conn) handleAck(a *packet.Ack) error {
	s := c.sess
	switch a.Type {
	case packet.PUBACK:
		if d := s.inflight[a.PacketID]; d != nil && d.state == waitPuback {
			s.settle(a.PacketID)
			s.pump()
		}
	case packet.PUBREC:
		d := s.inflight[a.PacketID]
		if d == nil || d.state != waitPubrec {
			rel := packet.Ack{Type: packet.PUBREL, PacketID: a.PacketID}
			if d == nil {
				rel.Reason = packet.PacketIdentifierNotFound
			}
			c.sendAck(&rel, c.b.storeSeq())
			return nil
		}
		if a.Reason >= 0x80 { // 5.0: the receiver refused it; the flow ends
			s.settle(a.PacketID)
			s.pump()
			return nil
		}
		d.state = waitPubcomp
		c.b.storeSent(s, d)
		rel := packet.Ack{Type: packet.PUBREL, PacketID: a.PacketID}
		c.sendAck(&rel, c.b.storeSeq())
	case packet.PUBREL:
		comp := packet.Ack{Type: packet.PUBCOMP, PacketID: a.PacketID}
		if _, ok := s.recvQoS2[a.PacketID]; ok {
			delete(s.recvQoS2, a.PacketID)
			c.b.storeInbound(s, a.PacketID, false)
		} else {
			comp.Reason = packet.PacketIdentifierNotFound
		}
		c.sendAck(&comp, c.b.storeSeq())
	case packet.PUBCOMP:
		if d := s.inflight[a.PacketID]; d != nil && d.state == waitPubcomp {
			s.settle(a.PacketID)
			s.pump()
		}
	}
	return nil
}

// sendAck sends a PUBACK/PUBREC/PUBREL/PUBCOMP, with a reason string for
// failures when the client allows problem information [MQTT-3.1.2-29]. The
// acknowledgement waits until the records appended since mark are written
// (durability contract, persist/doc.go).
func (c *conn) sendAck(a *packet.Ack, mark uint64) {
	if c.version != packet.Version5 {
		a.Reason = packet.Success
	} else if a.Reason >= 0x80 && c.problemInfo {
		if text := reasonText[a.Reason]; text != "" {
			a.Props.Set(packet.PropReasonString)
			a.Props.ReasonString = []byte(text)
		}
	}
	c.sendAfterStore(packet.AppendAck(c.b.scratch[:0], a, c.version), mark)
}

var reasonText = map[packet.ReasonCode]string{
	packet.QuotaExceeded:            "quota exceeded",
	packet.PacketIdentifierNotFound: "packet identifier not found",
	packet.NotAuthorized:            "not authorized",
	packet.TopicFilterInvalid:       "topic filter invalid (or deeper than max_topic_levels)",
	packet.UnspecifiedError:         "unspecified error",
}
