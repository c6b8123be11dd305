package packet

import (
	"testing"
)

// FuzzDecode feeds the input as two reads split at a fuzzer-chosen point,
// the way a socket delivers it, through the same reassembly rules the broker
// uses: a partial packet is kept and completed by the next read. Every
// decoded packet is re-encoded and decoded again.
func FuzzDecode(f *testing.F) {
	for _, g := range loadGolden(f) {
		f.Add(g.bytes(f), uint16(len(g.Hex)/4), g.Version)
	}
	f.Fuzz(func(t *testing.T, data []byte, split uint16, version byte) {
		version = Version31 + version%3
		cut := int(split) % (len(data) + 1)
		var pending []byte
		var ps Packets
		for _, chunk := range [][]byte{data[:cut], data[cut:]} {
			buf := append(pending, chunk...)
			for {
				h, ok, err := ReadHeader(buf, 1<<16)
				if err != nil {
					if Code(err) < 0x80 {
						t.Fatalf("error %v with success code", err)
					}
					return
				}
				if !ok || len(buf) < h.Len() {
					break
				}
				body := buf[h.Size:h.Len()]
				if err := ps.Decode(h, body, version); err != nil {
					if Code(err) < 0x80 {
						t.Fatalf("error %v with success code", err)
					}
					return
				}
				reencode(t, h, &ps, version)
				buf = buf[h.Len():]
			}
			pending = append([]byte(nil), buf...)
		}
	})
}

// reencode checks that what decoded also encodes and decodes to the same.
func reencode(t *testing.T, h FixedHeader, ps *Packets, version byte) {
	var b []byte
	switch h.Type {
	case PUBLISH:
		b = AppendPublish(nil, &ps.Publish, version)
	case PUBACK, PUBREC, PUBREL, PUBCOMP:
		b = AppendAck(nil, &ps.Ack, version)
	default:
		return
	}
	h2, ok, err := ReadHeader(b, 0)
	if !ok || err != nil {
		t.Fatalf("re-encoded header: %v", err)
	}
	var again Packets
	if err := again.Decode(h2, b[h2.Size:], version); err != nil {
		t.Fatalf("re-encoded %s does not decode: %v", h.Type, err)
	}
	if h.Type == PUBLISH && (string(again.Publish.Topic) != string(ps.Publish.Topic) ||
		string(again.Publish.Payload) != string(ps.Publish.Payload)) {
		t.Fatalf("publish round trip differs")
	}
}
