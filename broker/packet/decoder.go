package packet

// Packets holds one reusable value of every packet kind. Decode fills the
// one matching the fixed header, so a connection can decode any packet
// without allocating.
type Packets struct {
	Connect    Connect
	Connack    Connack
	Publish    Publish
	Ack        Ack
	Subscribe  Subscribe
	Suback     Suback
	Disconnect Disconnect
}

// Decode decodes body according to h into the matching field of ps.
func (ps *Packets) Decode(h FixedHeader, body []byte, version byte) error {
	switch h.Type {
	case CONNACK:
		return DecodeConnack(&ps.Connack, body, version)
	case SUBACK, UNSUBACK:
		return DecodeSuback(&ps.Suback, h.Type, body, version)
	case PINGRESP:
		return DecodeEmpty(h.Type, body)
	}
	return ps.DecodeFromClient(h, body, version)
}

// DecodeFromClient decodes the packets a client sends, the broker's side
// of Decode: a broker that uses only this does not link the decoders of
// the packets it never receives.
func (ps *Packets) DecodeFromClient(h FixedHeader, body []byte, version byte) error {
	switch h.Type {
	case CONNECT:
		if err := DecodeConnect(&ps.Connect, body); err != nil {
			return err
		}
		return CheckConnectFlags(&ps.Connect, h.Flags)
	case PUBLISH:
		return DecodePublish(&ps.Publish, h.Flags, body, version)
	case PUBACK, PUBREC, PUBREL, PUBCOMP:
		return DecodeAck(&ps.Ack, h.Type, body, version)
	case SUBSCRIBE, UNSUBSCRIBE:
		return DecodeSubscribe(&ps.Subscribe, h.Type, body, version)
	case PINGREQ:
		return DecodeEmpty(h.Type, body)
	case DISCONNECT, AUTH:
		return DecodeDisconnect(&ps.Disconnect, h.Type, body, version)
	}
	return fieldErr(h.Type, "packet type", ErrMalformed)
}
