package broker

import "midge/broker/packet"

// handleAck completes the QoS 1 and QoS 2 flows in both directions.
//
// An acknowledgement of the wrong kind for a packet id the broker has in
// flight is a protocol error, as in Mosquitto: PUBACK for a QoS 2 id,
// PUBREC for a QoS 1 id, PUBCOMP for an id not waiting for it. One for an
// id not in flight is a late duplicate and is ignored (PUBACK, PUBCOMP) or
// answered with 0x92 Packet identifier not found (PUBREC, PUBREL), as the
// spec asks. PUBREL acknowledges the client's own QoS 2 PUBLISH: its ids are
// not the broker's, and every one the broker knows is at the PUBREC stage,
// so an unknown one is answered PUBCOMP 0x92 (a PUBREL repeated after a
// reconnect is legitimate) and never closes the connection.
func (c *conn) handleAck(a *packet.Ack) error {
	s := c.sess
	d := s.inflight[a.PacketID]
	if a.Type == packet.PUBREL {
		comp := packet.Ack{Type: packet.PUBCOMP, PacketID: a.PacketID}
		if _, ok := s.recvQoS2[a.PacketID]; ok {
			delete(s.recvQoS2, a.PacketID)
			c.b.storeInbound(s, a.PacketID, false)
		} else {
			comp.Reason = packet.PacketIdentifierNotFound
		}
		c.sendAck(&comp, c.b.storeSeq())
		return nil
	}
	if d == nil {
		if a.Type == packet.PUBREC {
			rel := packet.Ack{Type: packet.PUBREL, PacketID: a.PacketID, Reason: packet.PacketIdentifierNotFound}
			c.sendAck(&rel, c.b.storeSeq())
		}
		return nil
	}
	switch {
	case a.Type == packet.PUBACK && d.state == waitPuback,
		a.Type == packet.PUBCOMP && d.state == waitPubcomp,
		a.Type == packet.PUBREC && d.state == waitPubrec && a.Reason >= 0x80: // 5.0: refused, the flow ends
		s.settle(a.PacketID)
		s.pump()
	case a.Type == packet.PUBREC && d.state == waitPubrec:
		d.state = waitPubcomp
		c.b.storeSent(s, d)
		fallthrough
	case a.Type == packet.PUBREC && d.state == waitPubcomp: // a repeated PUBREC: PUBREL again
		rel := packet.Ack{Type: packet.PUBREL, PacketID: a.PacketID}
		c.sendAck(&rel, c.b.storeSeq())
	default:
		return &packet.FieldError{Packet: a.Type, Field: "packet identifier (in flight at another stage)", Err: packet.ErrProtocol}
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
