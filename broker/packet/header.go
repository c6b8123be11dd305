package packet

import "io"

// MaxRemainingLength is the largest value a 4-byte variable byte integer holds.
const MaxRemainingLength = 268435455

// FixedHeader is the first 2-5 bytes of every control packet.
type FixedHeader struct {
	Type      Type
	Flags     byte // low nibble of the first byte
	Remaining int  // remaining length: bytes after the fixed header
	Size      int  // bytes taken by the fixed header itself
}

// Len is the whole packet's length in bytes.
func (h FixedHeader) Len() int { return h.Size + h.Remaining }

// ReadHeader decodes a fixed header from the start of b.
//
// It returns ok=false with a nil error when b does not yet hold the whole
// fixed header. The flags are checked against the reserved values
// [MQTT-2.1.3-1] and the remaining length against maxSize (the whole packet
// size cap in force: a small one before CONNECT), so a caller never needs to
// buffer more than maxSize bytes for a packet it will refuse anyway.
func ReadHeader(b []byte, maxSize int) (h FixedHeader, ok bool, err error) {
	if len(b) < 2 {
		return h, false, nil
	}
	h.Type = Type(b[0] >> 4)
	h.Flags = b[0] & 0x0f
	if err := checkFlags(h.Type, h.Flags); err != nil {
		return h, false, err
	}
	var v, mul int = 0, 1
	for i := 1; ; i++ {
		if i > 4 {
			// [MQTT-1.5.5-1] at most four bytes.
			return h, false, fieldErr(h.Type, "remaining length", ErrMalformed)
		}
		if i >= len(b) {
			return h, false, nil
		}
		c := b[i]
		v += int(c&0x7f) * mul
		mul <<= 7
		if c&0x80 == 0 {
			h.Size = i + 1
			break
		}
	}
	h.Remaining = v
	if maxSize > 0 && h.Len() > maxSize {
		return h, false, fieldErr(h.Type, "remaining length", ErrTooLarge)
	}
	return h, true, nil
}

func checkFlags(t Type, flags byte) error {
	switch t {
	case 0:
		return fieldErr(t, "packet type", ErrMalformed)
	case PUBLISH:
		if flags&0x06 == 0x06 { // [MQTT-3.3.1-4] QoS 3
			return fieldErr(t, "QoS", ErrMalformed)
		}
		return nil
	case CONNECT:
		return nil // 3.1 leniency: checked by Packets.DecodeFromClient and the broker
	case PUBREL, SUBSCRIBE, UNSUBSCRIBE:
		if flags != 0x02 { // [MQTT-3.6.1-1], [MQTT-3.8.1-1], [MQTT-3.10.1-1]
			return fieldErr(t, "fixed header flags", ErrMalformed)
		}
	default:
		if flags != 0 { // [MQTT-2.1.3-1]
			return fieldErr(t, "fixed header flags", ErrMalformed)
		}
	}
	return nil
}

// AppendHeader appends a fixed header for a packet of type t, flags and the
// given remaining length.
func AppendHeader(dst []byte, t Type, flags byte, remaining int) []byte {
	dst = append(dst, byte(t)<<4|flags&0x0f)
	return AppendVarint(dst, uint32(remaining))
}

// AppendVarint appends a variable byte integer (§1.5.5).
func AppendVarint(dst []byte, v uint32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v > 0 {
			c |= 0x80
		}
		dst = append(dst, c)
		if v == 0 {
			return dst
		}
	}
}

// VarintLen is the encoded size of v as a variable byte integer.
func VarintLen(v int) int {
	switch {
	case v < 128:
		return 1
	case v < 16384:
		return 2
	case v < 2097152:
		return 3
	}
	return 4
}

// PacketReader is what ReadPacket reads from: a *bufio.Reader will do.
type PacketReader interface {
	io.Reader
	io.ByteReader
}

// ReadPacket reads one whole packet from a blocking stream: the fixed header
// a byte at a time, then a body of exactly its remaining length. It is for
// the CLI tools and tests; the broker parses from its ring buffers instead.
// maxSize caps the packet as in ReadHeader (0: no cap). Deadlines are the
// caller's.
func ReadPacket(r PacketReader, maxSize int) (FixedHeader, []byte, error) {
	var hdr [5]byte
	for n := 0; ; {
		b, err := r.ReadByte()
		if err != nil {
			return FixedHeader{}, nil, err
		}
		hdr[n] = b
		n++
		h, ok, err := ReadHeader(hdr[:n], maxSize)
		if err != nil {
			return h, nil, err
		}
		if ok {
			body := make([]byte, h.Remaining)
			if _, err := io.ReadFull(r, body); err != nil {
				return h, nil, err
			}
			return h, body, nil
		}
	}
}
