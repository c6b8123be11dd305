package packet

// Subscribe is a SUBSCRIBE (§3.8) or UNSUBSCRIBE (§3.10) packet. The topic
// filters are kept in wire form in List; iterate with Filters.
type Subscribe struct {
	Type     Type // SUBSCRIBE or UNSUBSCRIBE
	PacketID uint16
	Props    Properties
	List     []byte
	Count    int
	version  byte
}

// Subscription is one topic filter of a SUBSCRIBE with its options.
type Subscription struct {
	Filter            []byte
	QoS               byte
	NoLocal           bool
	RetainAsPublished bool
	RetainHandling    byte
}

// DecodeSubscribe decodes the body of a SUBSCRIBE or UNSUBSCRIBE. The
// structure of every entry is checked; a filter with control characters
// (ErrMalformed, as Mosquitto) or an empty one (ErrProtocol, [MQTT-4.7.3-1])
// refuses the packet. Whether each other filter is a valid topic filter is
// left to the caller, which in 5.0 answers per filter.
func DecodeSubscribe(p *Subscribe, t Type, body []byte, version byte) error {
	*p = Subscribe{Type: t, version: version}
	c := cursor{b: body, t: t}
	p.PacketID = c.uint16("packet identifier")
	if c.err == nil && p.PacketID == 0 { // [MQTT-2.2.1-3]
		c.fail("packet identifier", ErrProtocol)
	}
	if version == Version5 {
		c.properties(&p.Props, t)
	}
	if c.err != nil {
		return c.err
	}
	p.List = c.b
	for len(c.b) > 0 && c.err == nil {
		// Control characters are refused as Mosquitto does; an empty filter
		// is a protocol error for the whole packet [MQTT-4.7.3-1].
		if f := c.text("topic filter", ErrMalformed); c.err == nil && len(f) == 0 {
			c.fail("topic filter", ErrProtocol)
		}
		if t == SUBSCRIBE {
			o := c.byte1("subscription options")
			if c.err != nil {
				break
			}
			if version == Version5 {
				if o&0xC0 != 0 || (o>>4)&0x03 == 3 { // [MQTT-3.8.3-5]
					c.fail("subscription options", ErrMalformed)
				}
			} else if o&0xFC != 0 { // 3.1.1 [MQTT-3.8.3-4]
				c.fail("subscription options", ErrMalformed)
			}
			if o&0x03 == 3 {
				c.fail("requested QoS", ErrMalformed)
			}
		}
		p.Count++
	}
	if c.err == nil && p.Count == 0 { // [MQTT-3.8.3-3], [MQTT-3.10.3-2]
		c.fail("topic filters", ErrProtocol)
	}
	return c.err
}

// Filters calls fn for each entry in order; for UNSUBSCRIBE only Filter is set.
func (p *Subscribe) Filters(fn func(i int, s Subscription)) {
	c := cursor{b: p.List, t: p.Type}
	for i := 0; len(c.b) > 0 && c.err == nil; i++ {
		var s Subscription
		s.Filter = c.binary("f")
		if p.Type == SUBSCRIBE {
			o := c.byte1("o")
			s.QoS = o & 0x03
			if p.version == Version5 {
				s.NoLocal = o&0x04 != 0
				s.RetainAsPublished = o&0x08 != 0
				s.RetainHandling = (o >> 4) & 0x03
			}
		}
		fn(i, s)
	}
}

// AppendSubscribe appends an encoded SUBSCRIBE (p.Type = SUBSCRIBE, subs
// with options) or UNSUBSCRIBE (only filters used).
func AppendSubscribe(dst []byte, t Type, id uint16, props *Properties, subs []Subscription, version byte) []byte {
	n := 2
	pl := -1
	if version == Version5 {
		pl = propsLen(props)
		n += VarintLen(pl) + pl
	}
	for _, s := range subs {
		n += 2 + len(s.Filter)
		if t == SUBSCRIBE {
			n++
		}
	}
	dst = AppendHeader(dst, t, 0x02, n)
	dst = appendUint16(dst, id)
	if pl >= 0 {
		dst = appendProps(dst, props, pl)
	}
	for _, s := range subs {
		dst = appendBinary(dst, s.Filter)
		if t == SUBSCRIBE {
			o := s.QoS & 0x03
			if version == Version5 {
				if s.NoLocal {
					o |= 0x04
				}
				if s.RetainAsPublished {
					o |= 0x08
				}
				o |= (s.RetainHandling & 0x03) << 4
			}
			dst = append(dst, o)
		}
	}
	return dst
}

// Suback is a SUBACK (§3.9) or UNSUBACK (§3.11) packet.
type Suback struct {
	Type     Type
	PacketID uint16
	Props    Properties
	Reasons  []byte
}

// DecodeSuback decodes the body of a SUBACK or UNSUBACK. A 3.1.1 UNSUBACK
// has no reason codes.
func DecodeSuback(p *Suback, t Type, body []byte, version byte) error {
	*p = Suback{Type: t}
	c := cursor{b: body, t: t}
	p.PacketID = c.uint16("packet identifier")
	if version == Version5 {
		c.properties(&p.Props, t)
	}
	p.Reasons = c.b
	if c.err == nil && t == SUBACK && len(p.Reasons) == 0 {
		c.fail("reason codes", ErrProtocol)
	}
	return c.err
}

// AppendSuback appends an encoded SUBACK or UNSUBACK.
func AppendSuback(dst []byte, p *Suback, version byte) []byte {
	n, pl := 2, -1
	if version == Version5 {
		pl = propsLen(&p.Props)
		n += VarintLen(pl) + pl
	}
	reasons := p.Reasons
	if version != Version5 && p.Type == UNSUBACK {
		reasons = nil
	}
	n += len(reasons)
	dst = AppendHeader(dst, p.Type, 0, n)
	dst = appendUint16(dst, p.PacketID)
	if pl >= 0 {
		dst = appendProps(dst, &p.Props, pl)
	}
	return append(dst, reasons...)
}
