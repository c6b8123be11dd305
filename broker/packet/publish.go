package packet

// Publish is a PUBLISH packet (§3.3). Topic, Payload and the property views
// point into the decoded buffer.
type Publish struct {
	Dup      bool
	QoS      byte
	Retain   bool
	Topic    []byte
	PacketID uint16
	Props    Properties
	Payload  []byte
}

// DecodePublish decodes a PUBLISH body with the fixed-header flags.
// It allocates nothing.
//
// An empty topic is accepted only for 5.0 with a Topic Alias property; the
// broker resolves the alias. Wildcards in the topic give ErrTopicName
// [MQTT-3.3.2-2].
func DecodePublish(p *Publish, flags byte, body []byte, version byte) error {
	p.Dup = flags&0x08 != 0
	p.QoS = (flags >> 1) & 0x03
	p.Retain = flags&0x01 != 0
	p.PacketID = 0
	p.Props.Reset()
	if p.QoS == 3 { // [MQTT-3.3.1-4]
		return fieldErr(PUBLISH, "QoS", ErrMalformed)
	}
	if p.QoS == 0 && p.Dup { // [MQTT-3.3.1-2]
		return fieldErr(PUBLISH, "DUP flag", ErrMalformed)
	}
	c := cursor{b: body, t: PUBLISH}
	p.Topic = c.text("topic name", ErrMalformed)
	if p.QoS > 0 {
		p.PacketID = c.uint16("packet identifier")
		if c.err == nil && p.PacketID == 0 { // [MQTT-2.2.1-3]
			c.fail("packet identifier", ErrProtocol)
		}
	}
	if version == Version5 {
		c.properties(&p.Props, PUBLISH)
	}
	if c.err != nil {
		return c.err
	}
	if len(p.Topic) == 0 {
		if version != Version5 || !p.Props.Has(PropTopicAlias) { // [MQTT-4.7.3-1]
			return fieldErr(PUBLISH, "topic name", ErrTopicName)
		}
	} else if !ValidTopicName(p.Topic) {
		return fieldErr(PUBLISH, "topic name", ErrTopicName)
	}
	p.Payload = c.b
	if p.Props.PayloadFormat == 1 && !ValidUTF8(p.Payload) {
		return fieldErr(PUBLISH, "payload", ErrPayloadFormat)
	}
	return nil
}

// PublishLen is the encoded size of p for version.
func PublishLen(p *Publish, version byte) int {
	n := p.remaining(version, propsLenIf(p, version))
	return 1 + VarintLen(n) + n
}

func propsLenIf(p *Publish, version byte) int {
	if version != Version5 {
		return -1
	}
	return propsLen(&p.Props)
}

func (p *Publish) remaining(version byte, pl int) int {
	n := 2 + len(p.Topic) + len(p.Payload)
	if p.QoS > 0 {
		n += 2
	}
	if pl >= 0 {
		n += VarintLen(pl) + pl
	}
	return n
}

// AppendPublish appends an encoded PUBLISH packet.
func AppendPublish(dst []byte, p *Publish, version byte) []byte {
	pl := propsLenIf(p, version)
	var flags byte
	if p.Dup {
		flags |= 0x08
	}
	flags |= p.QoS << 1
	if p.Retain {
		flags |= 0x01
	}
	dst = AppendHeader(dst, PUBLISH, flags, p.remaining(version, pl))
	dst = appendBinary(dst, p.Topic)
	if p.QoS > 0 {
		dst = appendUint16(dst, p.PacketID)
	}
	if pl >= 0 {
		dst = appendProps(dst, &p.Props, pl)
	}
	return append(dst, p.Payload...)
}
