package broker

import (
	"errors"

	"midge/broker/packet"
	"midge/platform"
)

// Reading and handling: one read(2) per readable connection, framing into
// whole packets, decoding, dispatch to the handle_*.go handlers, and the
// mapping of a handler's error to the spec's answer (like Mosquitto's
// read_handle.c).

// maxPacketSize is the inbound size cap in force: small before CONNECT.
func (c *conn) maxPacketSize() int {
	if c.state == stateNew {
		return c.b.cfg.MaxConnectPacketSize
	}
	return c.b.cfg.MaxPacketSize
}

// readable reads once and handles every whole packet read. Only a packet
// split across reads is copied, into c.in.
func (c *conn) readable() {
	if c.state == stateClosed {
		return
	}
	b := c.b
	buf := b.readBuf
	n, err := platform.Read(c.fd, buf)
	if err == platform.ErrWouldBlock {
		return
	}
	if n == 0 || err != nil {
		if c.state == stateClosing {
			c.destroy()
			return
		}
		if err != nil {
			b.log.Debugf("Socket error on client %s, disconnecting.", c)
		}
		c.b.lost(c)
		return
	}
	if c.state == stateClosing {
		return // draining until the peer closes or the linger timer fires
	}
	b.stats.BytesReceived += uint64(n)
	c.lastRecv = b.clock()
	data := buf[:n]
	if c.wsS() != nil {
		stream, ok := c.wsInput(data)
		if !ok {
			c.b.disconnect(c, false)
			return
		}
		if len(stream) == 0 {
			return
		}
		data = stream
	}
	if c.loginWait() {
		c.holdInput(data) // input is paused, but a hangup still reads
		return
	}
	if c.in != nil {
		c.in = append(c.in, data...)
		data = c.in
	}
	c.consume(data)
}

// consume handles the complete packets in data (this read, with what was
// kept from earlier ones) and keeps the rest for the next read.
func (c *conn) consume(data []byte) {
	rest, err := c.handleFrames(data)
	if err != nil {
		c.fail(err)
		return
	}
	if c.state != stateNew && c.state != stateConnected {
		return
	}
	if c.loginWait() {
		// What followed the CONNECT waits for its answer; holdInput copies
		// rest, which may be a view of c.in.
		c.in = nil
		if c.holdInput(rest) {
			c.setInterest()
		}
		return
	}
	switch {
	case len(rest) == 0:
		c.in = nil
	case c.in != nil && &rest[0] == &c.in[0]:
		// nothing consumed from the pending buffer; keep it
	default:
		// Copy only the partial packet, into a buffer that grows with the
		// bytes actually received (never by the claimed length).
		c.in = append(make([]byte, 0, len(rest)+512), rest...)
	}
	c.setInterest() // pauses reading while output is backed up past the budget
}

// handleFrames handles each complete packet in data and returns the bytes of
// a trailing partial packet.
func (c *conn) handleFrames(data []byte) ([]byte, error) {
	for len(data) > 0 {
		if c.state != stateNew && c.state != stateConnected {
			return nil, nil
		}
		h, ok, err := packet.ReadHeader(data, c.maxPacketSize())
		if err != nil {
			if c.state == stateNew && h.Type == packet.CONNECT && h.Size > 0 {
				// A CONNECT over max_connect_packet_size (a will of 64 KiB
				// is legal): 5.0 clients are told 0x95 Packet too large.
				c.version = packet.PeekVersion(data[h.Size:])
			}
			return nil, err
		}
		if !ok || len(data) < h.Len() {
			return data, nil
		}
		if err := c.handle(h, data[h.Size:h.Len()]); err != nil {
			return nil, err
		}
		data = data[h.Len():]
		if c.loginWait() {
			return data, nil // kept until the CONNECT is answered
		}
	}
	return nil, nil
}

var (
	errNotConnect    = errors.New("first packet is not CONNECT")
	errClientOnly    = &packet.FieldError{Field: "packet type (server to client only)", Err: packet.ErrProtocol}
	errSecondConnect = &packet.FieldError{Packet: packet.CONNECT, Field: "second CONNECT", Err: packet.ErrProtocol}
)

// handle dispatches one complete packet: the connection's state decides
// which packets it may send, packet.Packets.DecodeFromClient decodes it, and its
// handler runs. Decoded fields are views into the read buffer, valid only
// until handle returns.
func (c *conn) handle(h packet.FixedHeader, body []byte) error {
	b := c.b
	b.stats.PacketsReceived++
	authing := c.authS() != nil && c.authS().x != nil // an AUTH exchange holds the CONNECT
	switch {
	case c.state == stateNew && h.Type == packet.CONNECT && !authing:
		// CONNECT decodes itself: a refusal is answered in the client's
		// protocol version even when the rest does not decode.
		return c.handleConnect(h.Flags, body)
	case c.state == stateNew && (h.Type != packet.AUTH || !authing):
		return errNotConnect // [MQTT-3.1.0-1]
	case h.Type == packet.CONNECT:
		return errSecondConnect // [MQTT-3.1.0-2]
	case !fromClient(h.Type):
		return errClientOnly
	}
	ps := &b.ps
	if err := ps.DecodeFromClient(h, body, c.version); err != nil {
		return err
	}
	switch h.Type {
	case packet.PUBLISH:
		return c.handlePublish(&ps.Publish)
	case packet.PUBACK, packet.PUBREC, packet.PUBREL, packet.PUBCOMP:
		return c.handleAck(&ps.Ack)
	case packet.SUBSCRIBE:
		return c.handleSubscribe(&ps.Subscribe)
	case packet.UNSUBSCRIBE:
		return c.handleUnsubscribe(&ps.Subscribe)
	case packet.PINGREQ:
		c.send(packet.AppendPingresp(b.scratch[:0]))
		return nil
	case packet.DISCONNECT:
		return c.handleDisconnect(&ps.Disconnect)
	default: // AUTH
		return c.handleAuth(&ps.Disconnect)
	}
}

// fromClient reports whether a client may send packets of type t after
// its CONNECT.
func fromClient(t packet.Type) bool {
	switch t {
	case packet.PUBLISH, packet.PUBACK, packet.PUBREC, packet.PUBREL, packet.PUBCOMP,
		packet.SUBSCRIBE, packet.UNSUBSCRIBE, packet.PINGREQ, packet.DISCONNECT, packet.AUTH:
		return true
	}
	return false
}

// fail answers a protocol error as the spec asks: CONNACK with the reason
// (5.0, or a 3.1.1 return code where one exists) before CONNECT succeeded,
// DISCONNECT with the reason code for 5.0 after it, a plain close for 3.1.1.
func (c *conn) fail(err error) {
	b := c.b
	b.stats.Malformed++
	code := packet.Code(err)
	b.log.Noticef("Client %s disconnected: %v.", c, err)
	if c.state == stateNew {
		if err != errNotConnect && c.version != 0 {
			c.sendConnack(false, code, nil)
		}
		c.b.disconnect(c, false)
		return
	}
	c.sendDisconnectText(code, err.Error())
	c.b.disconnect(c, false)
}
