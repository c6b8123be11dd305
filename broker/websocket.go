//go:build !nows

package broker

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"strings"
)

// WebSocket transport (RFC 6455), framed inside the event loop: the HTTP
// upgrade is parsed from the first bytes of the connection, client frames
// are unmasked into a per-connection stream that the MQTT parser reads, and
// every packet the broker sends goes out as one binary frame. Only the
// parts MQTT over WebSocket needs: subprotocol "mqtt", any path, optional
// allowed origins, frames bounded by max_packet_size, clean close codes.
// WebSocketCompiled reports whether WebSocket listeners are compiled in.
const WebSocketCompiled = true

type wsState struct {
	upgraded bool
	hdr      []byte // the HTTP request until its blank line
	frames   []byte // raw frame bytes not yet complete
	closing  bool
}

const (
	wsMaxHeader = 8192
	wsGUID      = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

	wsOpCont   = 0x0
	wsOpText   = 0x1
	wsOpBinary = 0x2
	wsOpClose  = 0x8
	wsOpPing   = 0x9
	wsOpPong   = 0xA

	wsCloseNormal   = 1000
	wsCloseProtocol = 1002
	wsCloseData     = 1003
	wsCloseTooBig   = 1009
)

// wsAccept is the Sec-WebSocket-Accept value for a key (RFC 6455 §4.2.2).
func wsAccept(key string) string {
	h := sha1.Sum([]byte(key + wsGUID))
	return base64.StdEncoding.EncodeToString(h[:])
}

// wsHandshake parses an upgrade request. It returns the response to send,
// or an HTTP error response and ok=false.
func wsHandshake(req []byte, origins []string) (resp []byte, ok bool) {
	lines := strings.Split(string(req), "\r\n")
	if len(lines) < 1 || !strings.HasPrefix(lines[0], "GET ") || !strings.HasSuffix(lines[0], " HTTP/1.1") {
		return httpError("400 Bad Request"), false
	}
	hdr := map[string]string{}
	for _, l := range lines[1:] {
		k, v, found := strings.Cut(l, ":")
		if found {
			hdr[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
		}
	}
	if !strings.EqualFold(hdr["upgrade"], "websocket") || !containsToken(hdr["connection"], "upgrade") ||
		hdr["sec-websocket-version"] != "13" || hdr["sec-websocket-key"] == "" {
		return httpError("400 Bad Request"), false
	}
	if len(origins) > 0 {
		allowed := false
		for _, o := range origins {
			allowed = allowed || hdr["origin"] == o
		}
		if !allowed {
			return httpError("403 Forbidden"), false
		}
	}
	proto := ""
	for _, p := range strings.Split(hdr["sec-websocket-protocol"], ",") {
		if p = strings.TrimSpace(p); p == "mqtt" || p == "mqttv3.1" {
			proto = p
			break
		}
	}
	var b bytes.Buffer
	b.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n")
	b.WriteString("Sec-WebSocket-Accept: " + wsAccept(hdr["sec-websocket-key"]) + "\r\n")
	if proto != "" {
		b.WriteString("Sec-WebSocket-Protocol: " + proto + "\r\n")
	}
	b.WriteString("\r\n")
	return b.Bytes(), true
}

func containsToken(v, tok string) bool {
	for _, p := range strings.Split(v, ",") {
		if strings.EqualFold(strings.TrimSpace(p), tok) {
			return true
		}
	}
	return false
}

func httpError(status string) []byte {
	return []byte("HTTP/1.1 " + status + "\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
}

// wsFrame is one decoded client frame.
type wsFrame struct {
	fin     bool
	op      byte
	payload []byte // unmasked, a view into the input
}

// wsParse decodes the frame at the start of b, unmasking its payload in
// place. n = 0 means b holds no whole frame yet. max bounds the payload.
func wsParse(b []byte, max int) (f wsFrame, n int, code int) {
	if len(b) < 2 {
		return f, 0, 0
	}
	f.fin = b[0]&0x80 != 0
	f.op = b[0] & 0x0f
	if b[0]&0x70 != 0 {
		return f, 0, wsCloseProtocol // reserved bits, no extension negotiated
	}
	if b[1]&0x80 == 0 {
		return f, 0, wsCloseProtocol // client frames must be masked (§5.1)
	}
	length := uint64(b[1] & 0x7f)
	pos := 2
	switch length {
	case 126:
		if len(b) < 4 {
			return f, 0, 0
		}
		length, pos = uint64(binary.BigEndian.Uint16(b[2:])), 4
	case 127:
		if len(b) < 10 {
			return f, 0, 0
		}
		length, pos = binary.BigEndian.Uint64(b[2:]), 10
	}
	if f.op >= 0x8 && (length > 125 || !f.fin) {
		return f, 0, wsCloseProtocol // control frames are short and whole (§5.5)
	}
	if length > uint64(max) {
		return f, 0, wsCloseTooBig
	}
	if len(b) < pos+4+int(length) {
		return f, 0, 0
	}
	mask := b[pos : pos+4]
	pos += 4
	p := b[pos : pos+int(length)]
	for i := range p {
		p[i] ^= mask[i&3]
	}
	f.payload = p
	return f, pos + int(length), 0
}

// wsAppendHeader appends a server frame header (unmasked) for n bytes.
func wsAppendHeader(dst []byte, op byte, n int) []byte {
	dst = append(dst, 0x80|op)
	switch {
	case n < 126:
		return append(dst, byte(n))
	case n <= 0xffff:
		return append(dst, 126, byte(n>>8), byte(n))
	}
	dst = append(dst, 127)
	return binary.BigEndian.AppendUint64(dst, uint64(n))
}

// wsInput turns raw connection bytes into MQTT stream bytes for c: it
// completes the handshake, then decodes frames. It returns the MQTT bytes
// to parse (a slice the caller may keep only until the next call) and
// false when the connection must close.
func (c *conn) wsInput(data []byte) ([]byte, bool) {
	ws := c.wsS()
	b := c.b
	if !ws.upgraded {
		ws.hdr = append(ws.hdr, data...)
		end := bytes.Index(ws.hdr, []byte("\r\n\r\n"))
		if end < 0 {
			if len(ws.hdr) > wsMaxHeader {
				c.writeRaw(httpError("431 Request Header Fields Too Large"))
				return nil, false
			}
			return nil, true
		}
		resp, ok := wsHandshake(ws.hdr[:end], c.ln.cfg.WebSocketOrigins)
		c.writeRaw(resp)
		if !ok {
			return nil, false
		}
		data = ws.hdr[end+4:]
		ws.hdr, ws.upgraded = nil, true
		if len(data) == 0 {
			return nil, true
		}
		data = append([]byte(nil), data...)
	}
	raw := data
	if len(ws.frames) > 0 {
		ws.frames = append(ws.frames, data...)
		raw = ws.frames
	}
	var stream []byte
	for len(raw) > 0 {
		f, n, code := wsParse(raw, b.cfg.MaxPacketSize+16)
		if code != 0 {
			c.wsClose(code)
			return nil, false
		}
		if n == 0 {
			break
		}
		raw = raw[n:]
		switch f.op {
		case wsOpBinary, wsOpCont:
			stream = append(stream, f.payload...)
		case wsOpText:
			c.wsClose(wsCloseData) // MQTT is carried in binary frames only
			return nil, false
		case wsOpPing:
			c.writeFrame(wsOpPong, f.payload)
		case wsOpPong:
		case wsOpClose:
			c.wsClose(wsCloseNormal)
			return nil, false
		default:
			c.wsClose(wsCloseProtocol)
			return nil, false
		}
	}
	ws.frames = append(ws.frames[:0], raw...)
	if len(ws.frames) == 0 {
		ws.frames = nil
	}
	return stream, true
}

// writeRaw queues bytes without framing (the HTTP response).
func (c *conn) writeRaw(p []byte) {
	c.out.Write(&c.b.pool, p)
	c.queueFlush()
}

// writeFrame queues one server frame.
func (c *conn) writeFrame(op byte, payload []byte) {
	var h [10]byte
	c.out.Write(&c.b.pool, wsAppendHeader(h[:0], op, len(payload)))
	c.out.Write(&c.b.pool, payload)
	c.queueFlush()
}

// wsClose sends a close frame with code.
func (c *conn) wsClose(code int) {
	if c.wsS().closing {
		return
	}
	c.wsS().closing = true
	c.writeFrame(wsOpClose, []byte{byte(code >> 8), byte(code)})
}
