package packet

import "unicode/utf8"

// cursor reads the fields of one packet body. Every getter returns a view
// into the body; errors name the packet and field.
type cursor struct {
	b   []byte
	t   Type
	err error
}

// Not inlined: it is on error paths only, and its copies at every call
// site cost the minimal build a 64 KiB step on MIPS.
//
//go:noinline
func (c *cursor) fail(field string, e *Error) {
	if c.err == nil {
		c.err = fieldErr(c.t, field, e)
	}
}

func (c *cursor) byte1(field string) byte {
	if c.err != nil {
		return 0
	}
	if len(c.b) < 1 {
		c.fail(field, ErrMalformed)
		return 0
	}
	v := c.b[0]
	c.b = c.b[1:]
	return v
}

func (c *cursor) uint16(field string) uint16 {
	if c.err != nil {
		return 0
	}
	if len(c.b) < 2 {
		c.fail(field, ErrMalformed)
		return 0
	}
	v := uint16(c.b[0])<<8 | uint16(c.b[1])
	c.b = c.b[2:]
	return v
}

func (c *cursor) uint32(field string) uint32 {
	if c.err != nil {
		return 0
	}
	if len(c.b) < 4 {
		c.fail(field, ErrMalformed)
		return 0
	}
	v := uint32(c.b[0])<<24 | uint32(c.b[1])<<16 | uint32(c.b[2])<<8 | uint32(c.b[3])
	c.b = c.b[4:]
	return v
}

func (c *cursor) varint(field string) uint32 {
	if c.err != nil {
		return 0
	}
	var v uint32
	for i := 0; i < 4; i++ {
		if i >= len(c.b) {
			break
		}
		d := c.b[i]
		v |= uint32(d&0x7f) << (7 * i)
		if d&0x80 == 0 {
			c.b = c.b[i+1:]
			return v
		}
	}
	c.fail(field, ErrMalformed)
	return 0
}

// binary reads two-byte length prefixed binary data (§1.5.6).
func (c *cursor) binary(field string) []byte {
	n := int(c.uint16(field))
	if c.err != nil {
		return nil
	}
	if len(c.b) < n {
		c.fail(field, ErrMalformed)
		return nil
	}
	v := c.b[:n:n]
	c.b = c.b[n:]
	return v
}

// str reads a UTF-8 encoded string (§1.5.4) and checks it.
func (c *cursor) str(field string) []byte {
	v := c.binary(field)
	if c.err == nil && !ValidUTF8(v) {
		c.fail(field, ErrMalformed)
	}
	return v
}

// text reads a UTF-8 string that names something (a client id, user name,
// topic name or filter) and, as Mosquitto does, refuses control characters
// in it with e.
func (c *cursor) text(field string, e *Error) []byte {
	v := c.str(field)
	if HasControl(v) { // nil when str failed
		c.fail(field, e)
	}
	return v
}

// HasControl reports whether b holds a control character: U+0001-U+001F or
// U+007F-U+009F (C0, DEL and C1). b is well-formed UTF-8.
func HasControl(b []byte) bool {
	for i, c := range b {
		if c < 0x20 || c == 0x7F || (c == 0xC2 && i+1 < len(b) && b[i+1] < 0xA0) {
			return true
		}
	}
	return false
}

// ValidUTF8 reports whether b is well-formed UTF-8 as MQTT requires: no
// U+0000 [MQTT-1.5.4-2] and no surrogates or overlong forms [MQTT-1.5.4-1].
// (The Go decoder already rejects surrogates and overlong encodings.)
func ValidUTF8(b []byte) bool {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c == 0 {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return false
		}
		i += n
	}
	return true
}
