package persist

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
)

// Record types (FORMAT.md).
const (
	RecSessionPut   byte = 1
	RecSessionDel   byte = 2
	RecSubPut       byte = 3
	RecSubDel       byte = 4
	RecRetainPut    byte = 5
	RecRetainDel    byte = 6
	RecMessage      byte = 7
	RecDeliveryPut  byte = 8
	RecDeliveryDel  byte = 9
	RecDeliverySent byte = 10
	RecInboundPut   byte = 11
	RecInboundDel   byte = 12
	RecCheckpoint   byte = 13
	maxRecType           = RecCheckpoint
	formatVersion   byte = 1
	headerSize           = 20
	maxPayload           = 512 << 20
)

// RecordNames names each record type (logdump).
var RecordNames = map[byte]string{RecSessionPut: "session-put", RecSessionDel: "session-del",
	RecSubPut: "sub-put", RecSubDel: "sub-del", RecRetainPut: "retain-put", RecRetainDel: "retain-del",
	RecMessage: "message", RecDeliveryPut: "delivery-put", RecDeliveryDel: "delivery-del",
	RecDeliverySent: "delivery-sent", RecInboundPut: "inbound-qos2-put", RecInboundDel: "inbound-qos2-del",
	RecCheckpoint: "checkpoint"}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// appendRecord frames payload as one record.
func appendRecord(dst []byte, typ byte, seq uint64, payload []byte) []byte {
	start := len(dst)
	var h [headerSize]byte
	h[0] = formatVersion
	h[1] = typ
	binary.LittleEndian.PutUint32(h[4:], uint32(len(payload)))
	binary.LittleEndian.PutUint64(h[8:], seq)
	dst = append(dst, h[:]...)
	dst = append(dst, payload...)
	crc := crc32.Update(crc32.Checksum(dst[start:start+16], castagnoli), castagnoli, payload)
	binary.LittleEndian.PutUint32(dst[start+16:], crc)
	return dst
}

// Record is one decoded record; Payload is a view into the read buffer.
type Record struct {
	Type    byte
	Seq     uint64
	Payload []byte
}

var errBadRecord = errors.New("bad record")

// parseRecord decodes the record at the start of b, checking bounds and
// CRC. n is its size.
func parseRecord(b []byte) (r Record, n int, err error) {
	if len(b) < headerSize {
		return r, 0, errBadRecord
	}
	if b[0] != formatVersion || b[1] == 0 || b[1] > maxRecType || b[2] != 0 || b[3] != 0 {
		return r, 0, errBadRecord
	}
	length := binary.LittleEndian.Uint32(b[4:])
	if length > maxPayload || int(length) > len(b)-headerSize {
		return r, 0, errBadRecord
	}
	n = headerSize + int(length)
	want := binary.LittleEndian.Uint32(b[16:])
	crc := crc32.Update(crc32.Checksum(b[:16], castagnoli), castagnoli, b[headerSize:n])
	if crc != want {
		return r, 0, errBadRecord
	}
	return Record{Type: b[1], Seq: binary.LittleEndian.Uint64(b[8:]), Payload: b[headerSize:n]}, n, nil
}

// Enc builds a record payload.
type Enc struct{ B []byte }

func (e *Enc) Uint(v uint64)   { e.B = binary.AppendUvarint(e.B, v) }
func (e *Enc) Byte(v byte)     { e.B = append(e.B, v) }
func (e *Enc) Bytes(v []byte)  { e.Uint(uint64(len(v))); e.B = append(e.B, v...) }
func (e *Enc) String(v string) { e.Uint(uint64(len(v))); e.B = append(e.B, v...) }

// Dec reads a record payload; after any error every read returns zero and
// Err reports it.
type Dec struct {
	B   []byte
	Err error
}

func (d *Dec) Uint() uint64 {
	if d.Err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.B)
	if n <= 0 {
		d.Err = errBadRecord
		return 0
	}
	d.B = d.B[n:]
	return v
}

func (d *Dec) Byte() byte {
	if d.Err != nil || len(d.B) < 1 {
		d.Err = errBadRecord
		return 0
	}
	v := d.B[0]
	d.B = d.B[1:]
	return v
}

func (d *Dec) Bytes() []byte {
	n := d.Uint()
	if d.Err != nil || n > uint64(len(d.B)) {
		d.Err = errBadRecord
		return nil
	}
	v := d.B[:n:n]
	d.B = d.B[n:]
	return v
}

func (d *Dec) String() string { return string(d.Bytes()) }
