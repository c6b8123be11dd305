package packet

import "fmt"

// Error is a protocol failure carrying the MQTT 5 reason code the broker
// answers with (in CONNACK or DISCONNECT) before it closes the connection.
// Each sentinel below has its own reason code; FieldError adds which field
// of which packet was at fault.
type Error struct {
	_    [0]func() // not comparable: no equality function in the binary
	Code ReasonCode
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// The sentinel errors. A test proves their codes are unique and each is used.
var (
	ErrMalformed          = &Error{Code: MalformedPacket, Msg: "malformed packet"}
	ErrProtocol           = &Error{Code: ProtocolError, Msg: "protocol error"}
	ErrUnsupportedVersion = &Error{Code: UnsupportedProtocolVersion, Msg: "unsupported protocol version"}
	ErrClientID           = &Error{Code: ClientIdentifierNotValid, Msg: "client identifier not valid"}
	ErrTopicFilter        = &Error{Code: TopicFilterInvalid, Msg: "topic filter invalid"}
	ErrTopicName          = &Error{Code: TopicNameInvalid, Msg: "topic name invalid"}
	ErrTopicAlias         = &Error{Code: TopicAliasInvalid, Msg: "topic alias invalid"}
	ErrTooLarge           = &Error{Code: PacketTooLarge, Msg: "packet too large"}
	ErrReceiveMax         = &Error{Code: ReceiveMaximumExceeded, Msg: "receive maximum exceeded"}
	ErrQoS                = &Error{Code: QoSNotSupported, Msg: "QoS not supported"}
	ErrPayloadFormat      = &Error{Code: PayloadFormatInvalid, Msg: "payload format invalid"}
)

// Sentinels lists every sentinel error (for the uniqueness test and docs).
var Sentinels = []*Error{ErrMalformed, ErrProtocol, ErrUnsupportedVersion, ErrClientID,
	ErrTopicFilter, ErrTopicName, ErrTopicAlias, ErrTooLarge, ErrReceiveMax, ErrQoS, ErrPayloadFormat}

// FieldError names the packet and field a sentinel error was found in.
type FieldError struct {
	_      [0]func() // not comparable
	Packet Type
	Field  string
	Err    *Error
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("%s: %s: %s", e.Packet, e.Field, e.Err.Msg)
}

func (e *FieldError) Unwrap() error { return e.Err }

// Not inlined: it is on error paths only, and its copies at every call
// site cost the minimal build a 64 KiB step on MIPS.
//
//go:noinline
func fieldErr(t Type, field string, err *Error) error {
	return &FieldError{Packet: t, Field: field, Err: err}
}

// Code returns the reason code an error maps to: the sentinel's code, or
// Unspecified error for anything else.
func Code(err error) ReasonCode {
	switch e := err.(type) {
	case *Error:
		return e.Code
	case *FieldError:
		return e.Err.Code
	}
	return UnspecifiedError
}
