package packet

// Connect is a CONNECT packet (§3.1).
type Connect struct {
	ProtocolName []byte
	Version      byte // 3, 4 or 5
	Bridge       bool // the protocol level's high bit was set (Mosquitto's try_private)
	CleanStart   bool // Clean Session in 3.1/3.1.1
	KeepAlive    uint16
	Props        Properties
	ClientID     []byte

	WillFlag    bool
	WillQoS     byte
	WillRetain  bool
	WillProps   Properties
	WillTopic   []byte
	WillPayload []byte

	UsernameFlag bool
	Username     []byte
	PasswordFlag bool
	Password     []byte
}

// DecodeConnect decodes the body of a CONNECT packet into p.
//
// When the protocol name or level is not one midge speaks, it returns
// ErrUnsupportedVersion with p.Version set to what the client asked for, so
// the caller can answer with a CONNACK in the right format.
func DecodeConnect(p *Connect, body []byte) error {
	*p = Connect{}
	c := cursor{b: body, t: CONNECT}
	p.ProtocolName = c.binary("protocol name")
	lvl := c.byte1("protocol level")
	if c.err != nil {
		return c.err
	}
	p.Bridge = lvl&0x80 != 0
	p.Version = lvl &^ 0x80
	switch {
	case string(p.ProtocolName) == "MQTT" && (p.Version == Version311 || p.Version == Version5):
	case string(p.ProtocolName) == "MQIsdp" && p.Version == Version31:
	default:
		// [MQTT-3.1.2-1], [MQTT-3.1.2-2]
		return fieldErr(CONNECT, "protocol name/level", ErrUnsupportedVersion)
	}
	flags := c.byte1("connect flags")
	if c.err != nil {
		return c.err
	}
	if flags&0x01 != 0 && p.Version != Version31 { // [MQTT-3.1.2-3] reserved flag; 3.1 has no such rule
		return fieldErr(CONNECT, "connect flags", ErrMalformed)
	}
	p.CleanStart = flags&0x02 != 0
	p.WillFlag = flags&0x04 != 0
	p.WillQoS = (flags >> 3) & 0x03
	p.WillRetain = flags&0x20 != 0
	p.PasswordFlag = flags&0x40 != 0
	p.UsernameFlag = flags&0x80 != 0
	if p.WillQoS == 3 { // [MQTT-3.1.2-12]
		return fieldErr(CONNECT, "will QoS", ErrMalformed)
	}
	if !p.WillFlag && (p.WillQoS != 0 || p.WillRetain) { // [MQTT-3.1.2-11], [MQTT-3.1.2-13]
		return fieldErr(CONNECT, "will flags", ErrMalformed)
	}
	if p.Version != Version5 && p.PasswordFlag && !p.UsernameFlag { // 3.1.1 [MQTT-3.1.2-22]
		return fieldErr(CONNECT, "password flag", ErrMalformed)
	}
	p.KeepAlive = c.uint16("keep alive")
	if p.Version == Version5 {
		c.properties(&p.Props, CONNECT)
	}
	// Control characters in the id: 0x85 in 5.0; 3.x has no return code
	// for a malformed id, the connection is closed (Mosquitto does both).
	idErr := ErrMalformed
	if p.Version == Version5 {
		idErr = ErrClientID
	}
	p.ClientID = c.text("client identifier", idErr)
	if p.WillFlag {
		if p.Version == Version5 {
			c.properties(&p.WillProps, willProps)
		}
		p.WillTopic = c.text("will topic", ErrMalformed)
		if c.err == nil && !ValidTopicName(p.WillTopic) {
			return fieldErr(CONNECT, "will topic", ErrTopicName)
		}
		p.WillPayload = c.binary("will payload")
		if c.err == nil && p.WillProps.PayloadFormat == 1 && !ValidUTF8(p.WillPayload) {
			return fieldErr(CONNECT, "will payload", ErrPayloadFormat)
		}
	}
	if p.UsernameFlag {
		p.Username = c.text("user name", ErrMalformed)
	}
	if p.PasswordFlag {
		p.Password = c.binary("password")
	}
	if c.err == nil && len(c.b) != 0 {
		c.fail("trailing bytes", ErrMalformed)
	}
	return c.err
}

// CheckConnectFlags checks the fixed-header flags of a decoded CONNECT:
// zero [MQTT-2.1.3-1], except that 3.1 (MQIsdp) clients are let through as
// Mosquitto lets them.
func CheckConnectFlags(p *Connect, flags byte) error {
	if flags != 0 && p.Version != Version31 {
		return fieldErr(CONNECT, "fixed header flags", ErrMalformed)
	}
	return nil
}

// AppendConnect appends an encoded CONNECT packet.
func AppendConnect(dst []byte, p *Connect) []byte {
	name := "MQTT"
	if p.Version == Version31 {
		name = "MQIsdp"
	}
	v5 := p.Version == Version5
	n := 2 + len(name) + 1 + 1 + 2 + 2 + len(p.ClientID)
	var pl, wpl int
	if v5 {
		pl = propsLen(&p.Props)
		n += VarintLen(pl) + pl
	}
	var flags byte
	if p.CleanStart {
		flags |= 0x02
	}
	if p.WillFlag {
		flags |= 0x04 | p.WillQoS<<3
		if p.WillRetain {
			flags |= 0x20
		}
		n += 2 + len(p.WillTopic) + 2 + len(p.WillPayload)
		if v5 {
			wpl = propsLen(&p.WillProps)
			n += VarintLen(wpl) + wpl
		}
	}
	if p.UsernameFlag {
		flags |= 0x80
		n += 2 + len(p.Username)
	}
	if p.PasswordFlag {
		flags |= 0x40
		n += 2 + len(p.Password)
	}
	dst = AppendHeader(dst, CONNECT, 0, n)
	dst = appendString(dst, name)
	lvl := p.Version
	if p.Bridge {
		lvl |= 0x80
	}
	dst = append(dst, lvl, flags)
	dst = appendUint16(dst, p.KeepAlive)
	if v5 {
		dst = appendProps(dst, &p.Props, pl)
	}
	dst = appendBinary(dst, p.ClientID)
	if p.WillFlag {
		if v5 {
			dst = appendProps(dst, &p.WillProps, wpl)
		}
		dst = appendBinary(dst, p.WillTopic)
		dst = appendBinary(dst, p.WillPayload)
	}
	if p.UsernameFlag {
		dst = appendBinary(dst, p.Username)
	}
	if p.PasswordFlag {
		dst = appendBinary(dst, p.Password)
	}
	return dst
}

// Connack is a CONNACK packet (§3.2). For 3.1/3.1.1 Reason holds the
// return code (0-5).
type Connack struct {
	SessionPresent bool
	Reason         byte
	Props          Properties
}

// DecodeConnack decodes the body of a CONNACK packet.
func DecodeConnack(p *Connack, body []byte, version byte) error {
	*p = Connack{}
	c := cursor{b: body, t: CONNACK}
	f := c.byte1("acknowledge flags")
	if f&^0x01 != 0 { // [MQTT-3.2.2-1]
		c.fail("acknowledge flags", ErrMalformed)
	}
	p.SessionPresent = f&0x01 != 0
	p.Reason = c.byte1("reason code")
	if version == Version5 && len(c.b) > 0 {
		c.properties(&p.Props, CONNACK)
	}
	if c.err == nil && len(c.b) != 0 {
		c.fail("trailing bytes", ErrMalformed)
	}
	return c.err
}

// AppendConnack appends an encoded CONNACK packet.
func AppendConnack(dst []byte, p *Connack, version byte) []byte {
	n, pl := 2, 0
	if version == Version5 {
		pl = propsLen(&p.Props)
		n += VarintLen(pl) + pl
	}
	dst = AppendHeader(dst, CONNACK, 0, n)
	var f byte
	if p.SessionPresent && version != Version31 { // 3.1 has no session present flag
		f = 1
	}
	dst = append(dst, f, p.Reason)
	if version == Version5 {
		dst = appendConnackProps(dst, &p.Props, pl)
	}
	return dst
}

// connackOrder is the order Mosquitto 2 writes its CONNACK properties in
// (handle_connect.c adds the first five, send_connack.c the rest); any
// other property follows in midge's usual order. Clients that compare
// CONNACKs byte for byte, as Mosquitto's own tests do, see the same bytes.
var connackOrder = [...]byte{PropTopicAliasMaximum, PropServerKeepAlive, PropAssignedClientID,
	PropAuthMethod, PropAuthData, PropRetainAvailable, PropMaximumPacketSize,
	PropReceiveMaximum, PropMaximumQoS}

func appendConnackProps(dst []byte, p *Properties, n int) []byte {
	dst = AppendVarint(dst, uint32(n))
	one := *p
	one.User, one.SubIDs = nil, nil
	rest := *p
	for _, id := range connackOrder {
		one.Present = p.Present & bit(id)
		rest.Present &^= bit(id)
		dst = appendPropsBody(dst, &one)
	}
	return appendPropsBody(dst, &rest)
}
