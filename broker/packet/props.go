package packet

// Property identifiers (MQTT 5.0 §2.2.2.2).
const (
	PropPayloadFormat        byte = 0x01
	PropMessageExpiry        byte = 0x02
	PropContentType          byte = 0x03
	PropResponseTopic        byte = 0x08
	PropCorrelationData      byte = 0x09
	PropSubscriptionID       byte = 0x0B
	PropSessionExpiry        byte = 0x11
	PropAssignedClientID     byte = 0x12
	PropServerKeepAlive      byte = 0x13
	PropAuthMethod           byte = 0x15
	PropAuthData             byte = 0x16
	PropRequestProblemInfo   byte = 0x17
	PropWillDelay            byte = 0x18
	PropRequestResponseInfo  byte = 0x19
	PropResponseInfo         byte = 0x1A
	PropServerReference      byte = 0x1C
	PropReasonString         byte = 0x1F
	PropReceiveMaximum       byte = 0x21
	PropTopicAliasMaximum    byte = 0x22
	PropTopicAlias           byte = 0x23
	PropMaximumQoS           byte = 0x24
	PropRetainAvailable      byte = 0x25
	PropUserProperty         byte = 0x26
	PropMaximumPacketSize    byte = 0x27
	PropWildcardSubAvailable byte = 0x28
	PropSubIDAvailable       byte = 0x29
	PropSharedSubAvailable   byte = 0x2A
)

// willProps is the pseudo packet type used for the will properties of CONNECT.
const willProps Type = 0

func bit(id byte) uint64 { return 1 << id }

// allowed[t] is the set of properties packet t may carry.
var allowed = func() (a [16]uint64) {
	pub := bit(PropPayloadFormat) | bit(PropMessageExpiry) | bit(PropContentType) |
		bit(PropResponseTopic) | bit(PropCorrelationData)
	ack := bit(PropReasonString)
	a[willProps] = pub | bit(PropWillDelay)
	a[CONNECT] = bit(PropSessionExpiry) | bit(PropAuthMethod) | bit(PropAuthData) |
		bit(PropRequestProblemInfo) | bit(PropRequestResponseInfo) | bit(PropReceiveMaximum) |
		bit(PropTopicAliasMaximum) | bit(PropMaximumPacketSize)
	a[CONNACK] = bit(PropSessionExpiry) | bit(PropAssignedClientID) | bit(PropServerKeepAlive) |
		bit(PropAuthMethod) | bit(PropAuthData) | bit(PropResponseInfo) | bit(PropServerReference) |
		bit(PropReasonString) | bit(PropReceiveMaximum) | bit(PropTopicAliasMaximum) |
		bit(PropMaximumQoS) | bit(PropRetainAvailable) | bit(PropMaximumPacketSize) |
		bit(PropWildcardSubAvailable) | bit(PropSubIDAvailable) | bit(PropSharedSubAvailable)
	a[PUBLISH] = pub | bit(PropSubscriptionID) | bit(PropTopicAlias)
	a[PUBACK], a[PUBREC], a[PUBREL], a[PUBCOMP] = ack, ack, ack, ack
	a[SUBSCRIBE] = bit(PropSubscriptionID)
	a[SUBACK], a[UNSUBACK] = ack, ack
	a[DISCONNECT] = bit(PropSessionExpiry) | bit(PropServerReference) | bit(PropReasonString)
	a[AUTH] = bit(PropAuthMethod) | bit(PropAuthData) | bit(PropReasonString)
	for i := range a {
		a[i] |= bit(PropUserProperty)
	}
	return a
}()

// Properties holds the MQTT 5 properties of one packet. Present records which
// were on the wire (bit n for property id n); the zero value means "none".
//
// After decoding, byte-slice fields are views into the packet buffer. User
// properties and subscription identifiers may repeat, so they are kept in
// wire form, as a span of encoded properties (identifier byte included) from
// the first such property to the last: User for user properties (iterate with
// UserProperties, build with AppendUserProperty) and SubIDs for subscription
// identifiers (iterate with SubscriptionIDs, build with AppendSubscriptionID).
// A span may contain other properties a sender interleaved; the accessors
// and the encoder skip those, so a span is always safe to pass on verbatim.
type Properties struct {
	Present uint64

	PayloadFormat        byte
	MessageExpiry        uint32
	ContentType          []byte
	ResponseTopic        []byte
	CorrelationData      []byte
	SubIDs               []byte
	SessionExpiry        uint32
	AssignedClientID     []byte
	ServerKeepAlive      uint16
	AuthMethod           []byte
	AuthData             []byte
	RequestProblemInfo   byte
	WillDelay            uint32
	RequestResponseInfo  byte
	ResponseInfo         []byte
	ServerReference      []byte
	ReasonString         []byte
	ReceiveMaximum       uint16
	TopicAliasMaximum    uint16
	TopicAlias           uint16
	MaximumQoS           byte
	RetainAvailable      byte
	User                 []byte
	MaximumPacketSize    uint32
	WildcardSubAvailable byte
	SubIDAvailable       byte
	SharedSubAvailable   byte
}

// Has reports whether property id was present.
func (p *Properties) Has(id byte) bool { return p.Present&bit(id) != 0 }

// Set marks property id as present (for encoding).
func (p *Properties) Set(id byte) { p.Present |= bit(id) }

// Reset clears p for reuse.
func (p *Properties) Reset() { *p = Properties{} }

// UserProperties calls fn for each user property in wire order.
func (p *Properties) UserProperties(fn func(key, value []byte)) {
	walkProps(p.User, func(id byte, c *cursor) {
		if id != PropUserProperty {
			skipProp(id, c)
			return
		}
		if k, v := c.binary("k"), c.binary("v"); c.err == nil {
			fn(k, v)
		}
	})
}

// AppendUserProperty appends one user property, for building Properties.User.
func AppendUserProperty(dst []byte, key, value []byte) []byte {
	dst = append(dst, PropUserProperty)
	dst = appendBinary(dst, key)
	return appendBinary(dst, value)
}

// AppendSubscriptionID appends one subscription identifier, for building
// Properties.SubIDs.
func AppendSubscriptionID(dst []byte, id uint32) []byte {
	return AppendVarint(append(dst, PropSubscriptionID), id)
}

// SubscriptionIDs calls fn for each subscription identifier.
func (p *Properties) SubscriptionIDs(fn func(id uint32)) {
	walkProps(p.SubIDs, func(id byte, c *cursor) {
		if id == PropSubscriptionID {
			if v := c.varint("id"); c.err == nil {
				fn(v)
			}
		} else {
			skipProp(id, c)
		}
	})
}

// FirstSubscriptionID returns the first subscription identifier, or 0.
func (p *Properties) FirstSubscriptionID() (v uint32) {
	c := cursor{b: p.SubIDs}
	for len(c.b) > 0 && c.err == nil {
		id := c.byte1("id")
		if id == PropSubscriptionID {
			return c.varint("id")
		}
		skipProp(id, &c)
	}
	return 0
}

// walkProps calls fn with each property's identifier and a cursor at its
// value; fn must consume the value (or call skipProp).
func walkProps(span []byte, fn func(id byte, c *cursor)) {
	c := cursor{b: span}
	for len(c.b) > 0 && c.err == nil {
		fn(c.byte1("id"), &c)
	}
}

// filteredLen is the encoded size of the properties with identifier id in span.
func filteredLen(span []byte, want byte) int {
	n := 0
	c := cursor{b: span}
	for len(c.b) > 0 && c.err == nil {
		before := len(c.b)
		id := c.byte1("id")
		skipProp(id, &c)
		if id == want && c.err == nil {
			n += before - len(c.b)
		}
	}
	return n
}

// appendFiltered appends the properties with identifier id found in span.
func appendFiltered(dst, span []byte, want byte) []byte {
	c := cursor{b: span}
	for len(c.b) > 0 && c.err == nil {
		start := c.b
		id := c.byte1("id")
		skipProp(id, &c)
		if id == want && c.err == nil {
			dst = append(dst, start[:len(start)-len(c.b)]...)
		}
	}
	return dst
}

// skipProp consumes the value of property id.
func skipProp(id byte, c *cursor) {
	switch id {
	case PropPayloadFormat, PropRequestProblemInfo, PropRequestResponseInfo, PropMaximumQoS,
		PropRetainAvailable, PropWildcardSubAvailable, PropSubIDAvailable, PropSharedSubAvailable:
		c.byte1("value")
	case PropServerKeepAlive, PropReceiveMaximum, PropTopicAliasMaximum, PropTopicAlias:
		c.uint16("value")
	case PropMessageExpiry, PropSessionExpiry, PropWillDelay, PropMaximumPacketSize:
		c.uint32("value")
	case PropSubscriptionID:
		c.varint("value")
	case PropUserProperty:
		c.binary("key")
		c.binary("value")
	case PropContentType, PropResponseTopic, PropCorrelationData, PropAssignedClientID,
		PropAuthMethod, PropAuthData, PropResponseInfo, PropServerReference, PropReasonString:
		c.binary("value")
	default:
		c.fail("property identifier", ErrMalformed)
	}
}

var propNames = map[byte]string{
	PropPayloadFormat: "payload format indicator", PropMessageExpiry: "message expiry interval",
	PropContentType: "content type", PropResponseTopic: "response topic",
	PropCorrelationData: "correlation data", PropSubscriptionID: "subscription identifier",
	PropSessionExpiry: "session expiry interval", PropAssignedClientID: "assigned client identifier",
	PropServerKeepAlive: "server keep alive", PropAuthMethod: "authentication method",
	PropAuthData: "authentication data", PropRequestProblemInfo: "request problem information",
	PropWillDelay: "will delay interval", PropRequestResponseInfo: "request response information",
	PropResponseInfo: "response information", PropServerReference: "server reference",
	PropReasonString: "reason string", PropReceiveMaximum: "receive maximum",
	PropTopicAliasMaximum: "topic alias maximum", PropTopicAlias: "topic alias",
	PropMaximumQoS: "maximum QoS", PropRetainAvailable: "retain available",
	PropUserProperty: "user property", PropMaximumPacketSize: "maximum packet size",
	PropWildcardSubAvailable: "wildcard subscription available",
	PropSubIDAvailable:       "subscription identifiers available",
	PropSharedSubAvailable:   "shared subscription available",
}

func propName(id byte) string {
	if n, ok := propNames[id]; ok {
		return n
	}
	return "property"
}

// decodeProperties reads a property length and the properties after it.
func (c *cursor) properties(p *Properties, t Type) {
	n := int(c.varint("property length"))
	if c.err != nil {
		return
	}
	if n > len(c.b) {
		c.fail("property length", ErrMalformed)
		return
	}
	pc := cursor{b: c.b[:n], t: c.t}
	c.b = c.b[n:]
	ok := allowed[t]
	userStart, subStart := -1, -1
	all := pc.b
	for len(pc.b) > 0 && pc.err == nil {
		start := len(all) - len(pc.b)
		id := pc.byte1("property identifier")
		if id >= 64 || ok&bit(id) == 0 {
			// [MQTT-2.2.2-?] an identifier not valid for the packet is malformed.
			pc.fail("property identifier", ErrMalformed)
			break
		}
		if p.Present&bit(id) != 0 && id != PropUserProperty && id != PropSubscriptionID {
			pc.fail(propName(id), ErrProtocol) // duplicate property
			break
		}
		p.Present |= bit(id)
		switch id {
		case PropPayloadFormat:
			p.PayloadFormat = pc.byte1("payload format indicator")
			if p.PayloadFormat > 1 {
				pc.fail("payload format indicator", ErrProtocol)
			}
		case PropMessageExpiry:
			p.MessageExpiry = pc.uint32("message expiry interval")
		case PropContentType:
			p.ContentType = pc.str("content type")
		case PropResponseTopic:
			p.ResponseTopic = pc.str("response topic")
			if pc.err == nil && !ValidTopicName(p.ResponseTopic) {
				pc.fail("response topic", ErrTopicName)
			}
		case PropCorrelationData:
			p.CorrelationData = pc.binary("correlation data")
		case PropSubscriptionID:
			if subStart < 0 {
				subStart = start
			} else if t == SUBSCRIBE {
				pc.fail("subscription identifier", ErrProtocol)
				break
			}
			if v := pc.varint("subscription identifier"); pc.err == nil && v == 0 {
				pc.fail("subscription identifier", ErrProtocol) // [MQTT-3.3.4-?] 0 is a protocol error
			}
			p.SubIDs = all[subStart : len(all)-len(pc.b)]
		case PropSessionExpiry:
			p.SessionExpiry = pc.uint32("session expiry interval")
		case PropAssignedClientID:
			p.AssignedClientID = pc.str("assigned client identifier")
		case PropServerKeepAlive:
			p.ServerKeepAlive = pc.uint16("server keep alive")
		case PropAuthMethod:
			p.AuthMethod = pc.str("authentication method")
		case PropAuthData:
			p.AuthData = pc.binary("authentication data")
		case PropRequestProblemInfo:
			p.RequestProblemInfo = pc.byte1("request problem information")
			if p.RequestProblemInfo > 1 {
				pc.fail("request problem information", ErrProtocol)
			}
		case PropWillDelay:
			p.WillDelay = pc.uint32("will delay interval")
		case PropRequestResponseInfo:
			p.RequestResponseInfo = pc.byte1("request response information")
			if p.RequestResponseInfo > 1 {
				pc.fail("request response information", ErrProtocol)
			}
		case PropResponseInfo:
			p.ResponseInfo = pc.str("response information")
		case PropServerReference:
			p.ServerReference = pc.str("server reference")
		case PropReasonString:
			p.ReasonString = pc.str("reason string")
		case PropReceiveMaximum:
			p.ReceiveMaximum = pc.uint16("receive maximum")
			if pc.err == nil && p.ReceiveMaximum == 0 {
				pc.fail("receive maximum", ErrProtocol)
			}
		case PropTopicAliasMaximum:
			p.TopicAliasMaximum = pc.uint16("topic alias maximum")
		case PropTopicAlias:
			p.TopicAlias = pc.uint16("topic alias")
			if pc.err == nil && p.TopicAlias == 0 {
				pc.fail("topic alias", ErrTopicAlias) // [MQTT-3.3.2-8]
			}
		case PropMaximumQoS:
			p.MaximumQoS = pc.byte1("maximum QoS")
			if p.MaximumQoS > 1 {
				pc.fail("maximum QoS", ErrProtocol)
			}
		case PropRetainAvailable:
			p.RetainAvailable = pc.byte1("retain available")
		case PropUserProperty:
			if userStart < 0 {
				userStart = start
			}
			pc.str("user property name")
			pc.str("user property value")
			p.User = all[userStart : len(all)-len(pc.b)]
		case PropMaximumPacketSize:
			p.MaximumPacketSize = pc.uint32("maximum packet size")
			if pc.err == nil && p.MaximumPacketSize == 0 {
				pc.fail("maximum packet size", ErrProtocol)
			}
		case PropWildcardSubAvailable:
			p.WildcardSubAvailable = pc.byte1("wildcard subscription available")
		case PropSubIDAvailable:
			p.SubIDAvailable = pc.byte1("subscription identifiers available")
		case PropSharedSubAvailable:
			p.SharedSubAvailable = pc.byte1("shared subscription available")
		}
	}
	if pc.err != nil {
		c.err = pc.err
	}
}
