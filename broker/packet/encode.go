package packet

func appendUint16(dst []byte, v uint16) []byte { return append(dst, byte(v>>8), byte(v)) }

func appendUint32(dst []byte, v uint32) []byte {
	return append(dst, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

func appendBinary(dst []byte, b []byte) []byte {
	dst = appendUint16(dst, uint16(len(b)))
	return append(dst, b...)
}

func appendString(dst []byte, s string) []byte {
	dst = appendUint16(dst, uint16(len(s)))
	return append(dst, s...)
}

// propsLen is the encoded size of p's properties, without the length prefix.
func propsLen(p *Properties) int {
	if p == nil {
		return 0
	}
	n := 0
	has := p.Present
	b1 := func(id byte) {
		if has&bit(id) != 0 {
			n += 2
		}
	}
	b2 := func(id byte) {
		if has&bit(id) != 0 {
			n += 3
		}
	}
	b4 := func(id byte) {
		if has&bit(id) != 0 {
			n += 5
		}
	}
	bs := func(id byte, v []byte) {
		if has&bit(id) != 0 {
			n += 3 + len(v)
		}
	}
	b1(PropPayloadFormat)
	b4(PropMessageExpiry)
	bs(PropContentType, p.ContentType)
	bs(PropResponseTopic, p.ResponseTopic)
	bs(PropCorrelationData, p.CorrelationData)
	n += filteredLen(p.SubIDs, PropSubscriptionID)
	b4(PropSessionExpiry)
	bs(PropAssignedClientID, p.AssignedClientID)
	b2(PropServerKeepAlive)
	bs(PropAuthMethod, p.AuthMethod)
	bs(PropAuthData, p.AuthData)
	b1(PropRequestProblemInfo)
	b4(PropWillDelay)
	b1(PropRequestResponseInfo)
	bs(PropResponseInfo, p.ResponseInfo)
	bs(PropServerReference, p.ServerReference)
	bs(PropReasonString, p.ReasonString)
	b2(PropReceiveMaximum)
	b2(PropTopicAliasMaximum)
	b2(PropTopicAlias)
	b1(PropMaximumQoS)
	b1(PropRetainAvailable)
	n += filteredLen(p.User, PropUserProperty)
	b4(PropMaximumPacketSize)
	b1(PropWildcardSubAvailable)
	b1(PropSubIDAvailable)
	b1(PropSharedSubAvailable)
	return n
}

// appendProps appends the property length and properties of p.
func appendProps(dst []byte, p *Properties, n int) []byte {
	dst = AppendVarint(dst, uint32(n))
	if p == nil || n == 0 {
		return dst
	}
	return appendPropsBody(dst, p)
}

// appendPropsBody appends p's properties without the length prefix.
func appendPropsBody(dst []byte, p *Properties) []byte {
	has := p.Present
	if has&bit(PropPayloadFormat) != 0 {
		dst = append(dst, PropPayloadFormat, p.PayloadFormat)
	}
	if has&bit(PropMessageExpiry) != 0 {
		dst = appendUint32(append(dst, PropMessageExpiry), p.MessageExpiry)
	}
	if has&bit(PropContentType) != 0 {
		dst = appendBinary(append(dst, PropContentType), p.ContentType)
	}
	if has&bit(PropResponseTopic) != 0 {
		dst = appendBinary(append(dst, PropResponseTopic), p.ResponseTopic)
	}
	if has&bit(PropCorrelationData) != 0 {
		dst = appendBinary(append(dst, PropCorrelationData), p.CorrelationData)
	}
	dst = appendFiltered(dst, p.SubIDs, PropSubscriptionID)
	if has&bit(PropSessionExpiry) != 0 {
		dst = appendUint32(append(dst, PropSessionExpiry), p.SessionExpiry)
	}
	if has&bit(PropAssignedClientID) != 0 {
		dst = appendBinary(append(dst, PropAssignedClientID), p.AssignedClientID)
	}
	if has&bit(PropServerKeepAlive) != 0 {
		dst = appendUint16(append(dst, PropServerKeepAlive), p.ServerKeepAlive)
	}
	if has&bit(PropAuthMethod) != 0 {
		dst = appendBinary(append(dst, PropAuthMethod), p.AuthMethod)
	}
	if has&bit(PropAuthData) != 0 {
		dst = appendBinary(append(dst, PropAuthData), p.AuthData)
	}
	if has&bit(PropRequestProblemInfo) != 0 {
		dst = append(dst, PropRequestProblemInfo, p.RequestProblemInfo)
	}
	if has&bit(PropWillDelay) != 0 {
		dst = appendUint32(append(dst, PropWillDelay), p.WillDelay)
	}
	if has&bit(PropRequestResponseInfo) != 0 {
		dst = append(dst, PropRequestResponseInfo, p.RequestResponseInfo)
	}
	if has&bit(PropResponseInfo) != 0 {
		dst = appendBinary(append(dst, PropResponseInfo), p.ResponseInfo)
	}
	if has&bit(PropServerReference) != 0 {
		dst = appendBinary(append(dst, PropServerReference), p.ServerReference)
	}
	if has&bit(PropReasonString) != 0 {
		dst = appendBinary(append(dst, PropReasonString), p.ReasonString)
	}
	if has&bit(PropReceiveMaximum) != 0 {
		dst = appendUint16(append(dst, PropReceiveMaximum), p.ReceiveMaximum)
	}
	if has&bit(PropTopicAliasMaximum) != 0 {
		dst = appendUint16(append(dst, PropTopicAliasMaximum), p.TopicAliasMaximum)
	}
	if has&bit(PropTopicAlias) != 0 {
		dst = appendUint16(append(dst, PropTopicAlias), p.TopicAlias)
	}
	if has&bit(PropMaximumQoS) != 0 {
		dst = append(dst, PropMaximumQoS, p.MaximumQoS)
	}
	if has&bit(PropRetainAvailable) != 0 {
		dst = append(dst, PropRetainAvailable, p.RetainAvailable)
	}
	dst = appendFiltered(dst, p.User, PropUserProperty)
	if has&bit(PropMaximumPacketSize) != 0 {
		dst = appendUint32(append(dst, PropMaximumPacketSize), p.MaximumPacketSize)
	}
	if has&bit(PropWildcardSubAvailable) != 0 {
		dst = append(dst, PropWildcardSubAvailable, p.WildcardSubAvailable)
	}
	if has&bit(PropSubIDAvailable) != 0 {
		dst = append(dst, PropSubIDAvailable, p.SubIDAvailable)
	}
	if has&bit(PropSharedSubAvailable) != 0 {
		dst = append(dst, PropSharedSubAvailable, p.SharedSubAvailable)
	}
	return dst
}

// AppendPropertyBytes appends p's properties without the length prefix
// (the form the persistence log stores).
func AppendPropertyBytes(dst []byte, p *Properties) []byte {
	if p == nil {
		return dst
	}
	return appendPropsBody(dst, p)
}

// DecodePropertyBytes decodes properties stored by AppendPropertyBytes, as
// allowed in a packet of type t. Views point into b.
func DecodePropertyBytes(p *Properties, b []byte, t Type) error {
	buf := AppendVarint(make([]byte, 0, len(b)+4), uint32(len(b)))
	buf = append(buf, b...)
	c := cursor{b: buf, t: t}
	c.properties(p, t)
	return c.err
}
