package broker

import (
	"time"

	"midge/broker/packet"
)

// handleDisconnect ends the connection normally: no will, unless a 5.0
// client asks for it with reason 0x04.
func (c *conn) handleDisconnect(d *packet.Disconnect) error {
	s := c.sess
	if c.version == packet.Version5 && d.Props.Has(packet.PropSessionExpiry) && s != nil {
		if s.expiry == 0 && d.Props.SessionExpiry != 0 { // [MQTT-3.14.2-2]
			return &packet.FieldError{Packet: packet.DISCONNECT, Field: "session expiry interval", Err: packet.ErrProtocol}
		}
		cap := uint32(c.b.cfg.MaxSessionExpiry.D() / time.Second)
		s.expiry = min(d.Props.SessionExpiry, cap)
		if s.expiry > 0 {
			c.b.storeSession(s)
		}
	}
	c.b.log.Noticef("Client %s disconnected.", c)
	c.b.disconnect(c, d.Reason != packet.DisconnectWithWill)
	return nil
}
