package packet

// PeekVersion reads the protocol level from the start of a CONNECT's
// variable header (protocol name, then level), before the whole packet
// has arrived or when it is refused unread (too large): the refusal can
// then be answered in the client's protocol. It returns 0 when the bytes
// are not there or name no protocol midge speaks.
func PeekVersion(body []byte) byte {
	c := cursor{b: body, t: CONNECT}
	name := c.binary("protocol name")
	lvl := c.byte1("protocol level") &^ 0x80
	switch {
	case c.err != nil:
		return 0
	case string(name) == "MQTT" && (lvl == Version311 || lvl == Version5),
		string(name) == "MQIsdp" && lvl == Version31:
		return lvl
	}
	return 0
}
