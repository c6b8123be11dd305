package broker

import "midge/broker/packet"

// handleAck completes the QoS 1 and QoS 2 flows in both directions.
func (c *conn) handleAck(a *packet.Ack) error {
	b := c.b
	s := c.sess
	switch a.Type {
	case packet.PUBACK:
		if d := s.inflight[a.PacketID]; d != nil && d.state == waitPuback {
			delete(s.inflight, a.PacketID)
			s.pump()
		}
	case packet.PUBREC:
		d := s.inflight[a.PacketID]
		if d == nil || d.state != waitPubrec {
			rel := packet.Ack{Type: packet.PUBREL, PacketID: a.PacketID}
			if d == nil {
				rel.Reason = packet.PacketIdentifierNotFound
			}
			c.send(packet.AppendAck(b.scratch[:0], &rel, c.version))
			return nil
		}
		if a.Reason >= 0x80 { // 5.0: the receiver refused it; the flow ends
			delete(s.inflight, a.PacketID)
			s.pump()
			return nil
		}
		d.state = waitPubcomp
		d.msg = nil // only the id is needed from here on
		rel := packet.Ack{Type: packet.PUBREL, PacketID: a.PacketID}
		c.send(packet.AppendAck(b.scratch[:0], &rel, c.version))
	case packet.PUBREL:
		comp := packet.Ack{Type: packet.PUBCOMP, PacketID: a.PacketID}
		if _, ok := s.recvQoS2[a.PacketID]; ok {
			delete(s.recvQoS2, a.PacketID)
		} else {
			comp.Reason = packet.PacketIdentifierNotFound
		}
		c.send(packet.AppendAck(b.scratch[:0], &comp, c.version))
	case packet.PUBCOMP:
		if d := s.inflight[a.PacketID]; d != nil && d.state == waitPubcomp {
			delete(s.inflight, a.PacketID)
			s.pump()
		}
	}
	return nil
}
