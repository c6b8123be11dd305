package packet

// Ack is a PUBACK, PUBREC, PUBREL or PUBCOMP packet (§3.4-3.7).
type Ack struct {
	Type     Type
	PacketID uint16
	Reason   ReasonCode
	Props    Properties
}

// DecodeAck decodes the body of a PUBACK, PUBREC, PUBREL or PUBCOMP.
// It allocates nothing.
func DecodeAck(p *Ack, t Type, body []byte, version byte) error {
	p.Type = t
	p.Reason = Success
	p.Props.Reset()
	c := cursor{b: body, t: t}
	p.PacketID = c.uint16("packet identifier")
	if c.err == nil && p.PacketID == 0 { // [MQTT-2.2.1-3]
		c.fail("packet identifier", ErrProtocol)
	}
	if version == Version5 {
		if len(c.b) > 0 { // [MQTT-3.4.2-1] reason may be omitted
			p.Reason = ReasonCode(c.byte1("reason code"))
		}
		if len(c.b) > 0 {
			c.properties(&p.Props, t)
		}
	}
	if c.err == nil && len(c.b) != 0 {
		c.fail("trailing bytes", ErrMalformed)
	}
	return c.err
}

// AppendAck appends an encoded PUBACK, PUBREC, PUBREL or PUBCOMP.
// In 5.0 the reason code and properties are left out when they are
// Success and empty (§3.4.2.1).
func AppendAck(dst []byte, p *Ack, version byte) []byte {
	var flags byte
	if p.Type == PUBREL {
		flags = 0x02
	}
	n, pl := 2, 0
	if version == Version5 {
		if pl = propsLen(&p.Props); pl > 0 {
			n = 3 + VarintLen(pl) + pl
		} else if p.Reason != Success {
			n = 3
		}
	}
	dst = appendUint16(AppendHeader(dst, p.Type, flags, n), p.PacketID)
	if n > 2 {
		dst = append(dst, byte(p.Reason))
	}
	if pl > 0 {
		dst = appendProps(dst, &p.Props, pl)
	}
	return dst
}

// Disconnect is a DISCONNECT packet (§3.14), or an AUTH packet (§3.15),
// which has the same shape.
type Disconnect struct {
	Reason ReasonCode
	Props  Properties
}

// DecodeDisconnect decodes the body of a DISCONNECT (t = DISCONNECT) or
// AUTH (t = AUTH). It allocates nothing.
func DecodeDisconnect(p *Disconnect, t Type, body []byte, version byte) error {
	p.Reason = Success
	p.Props.Reset()
	c := cursor{b: body, t: t}
	if version == Version5 {
		if len(c.b) > 0 {
			p.Reason = ReasonCode(c.byte1("reason code"))
		}
		if len(c.b) > 0 {
			c.properties(&p.Props, t)
		}
	} else if t == AUTH {
		c.fail("packet type", ErrProtocol) // AUTH exists only in 5.0
	}
	if c.err == nil && len(c.b) != 0 { // [MQTT-3.14.1-1] for 3.1.1
		c.fail("trailing bytes", ErrMalformed)
	}
	return c.err
}

// AppendDisconnect appends an encoded DISCONNECT or AUTH packet.
func AppendDisconnect(dst []byte, t Type, p *Disconnect, version byte) []byte {
	n, pl := 0, 0
	if version == Version5 {
		if pl = propsLen(&p.Props); pl > 0 {
			n = 1 + VarintLen(pl) + pl
		} else if p.Reason != Success {
			n = 1
		}
	}
	dst = AppendHeader(dst, t, 0, n)
	if n > 0 {
		dst = append(dst, byte(p.Reason))
	}
	if pl > 0 {
		dst = appendProps(dst, &p.Props, pl)
	}
	return dst
}

// DecodeEmpty checks the body of PINGREQ or PINGRESP, which must be empty.
func DecodeEmpty(t Type, body []byte) error {
	if len(body) != 0 {
		return fieldErr(t, "remaining length", ErrMalformed)
	}
	return nil
}

// AppendPingreq and AppendPingresp append the two-byte ping packets.
func AppendPingreq(dst []byte) []byte  { return append(dst, byte(PINGREQ)<<4, 0) }
func AppendPingresp(dst []byte) []byte { return append(dst, byte(PINGRESP)<<4, 0) }
