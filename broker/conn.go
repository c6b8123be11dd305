package broker

import (
	"errors"
	"net/netip"
	"time"

	"midge/broker/packet"
	"midge/platform"
)

// maxScratch is the largest encode buffer the loop keeps between packets.
const maxScratch = 64 * 1024

type connState uint8

const (
	stateNew       connState = iota // waiting for CONNECT
	stateConnected                  // CONNACK sent
	stateClosing                    // flushing a last CONNACK/DISCONNECT, input ignored
	stateClosed
)

// conn is one client connection. Its fields are owned by the loop.
type conn struct {
	b      *Broker
	ln     *listener
	sess   *session
	remote netip.AddrPort

	keepAlive time.Duration // 1.5 x the negotiated keep alive; 0 = off
	lastRecv  int64         // broker clock (nanoseconds) of the last read
	timer     timer         // connect timeout, then keep alive, then close linger

	in  []byte // a partial inbound packet (nil when none)
	out outbuf
	fd  int

	state     connState
	version   byte
	dirty     bool
	wantWrite bool
	readOff   bool // input paused: output backed up

	// MQTT 5 limits the client announced.
	problemInfo bool
	recvMax     uint16 // how many QoS 1/2 we may have in flight to it
	aliasMax    uint16 // inbound topic aliases we allow
	outAliasMax uint16 // the client's Topic Alias Maximum
	maxPacket   uint32 // largest packet it accepts (0 = no limit)

	x *connExt // what only some connections need, made on first use
}

func newConn(b *Broker, l *listener, fd int, remote netip.AddrPort) *conn {
	c := &conn{b: b, ln: l, fd: fd, remote: remote, lastRecv: b.clock(), problemInfo: true}
	c.timer.owner = c
	if l.cfg.Protocol == "websockets" {
		c.ext().ws = &wsState{}
	}
	return c
}

func (c *conn) String() string {
	if c.sess != nil {
		return c.sess.id
	}
	return c.from()
}

// from is where the client connects from, for logs: its address, or the
// unix socket it came through.
func (c *conn) from() string {
	if !c.remote.IsValid() && c.ln.path != "" {
		return "unix:" + c.ln.path
	}
	return c.remote.String()
}

// maxQoS is the highest QoS this connection's listener allows.
func (c *conn) maxQoS() int {
	if c.ln.cfg.MaxQoS != nil {
		return *c.ln.cfg.MaxQoS
	}
	return c.b.cfg.MaxQoS
}

// inboundAliasMax is how many topic aliases a 5.0 client may set.
func (c *conn) inboundAliasMax() int {
	if c.ln.cfg.MaxTopicAlias != nil {
		return *c.ln.cfg.MaxTopicAlias
	}
	return c.b.cfg.MaxTopicAlias
}

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
		c.lost()
		return
	}
	if c.state == stateClosing {
		return // draining until the peer closes or the linger timer fires
	}
	b.Stats.BytesReceived += uint64(n)
	c.lastRecv = b.clock()
	data := buf[:n]
	if c.wsS() != nil {
		stream, ok := c.wsInput(data)
		if !ok {
			c.close(false)
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

// handle dispatches one complete packet. Decoded fields are views into the
// read buffer and are valid only until handle returns.
func (c *conn) handle(h packet.FixedHeader, body []byte) error {
	c.b.Stats.PacketsReceived++
	if c.state == stateNew {
		if h.Type == packet.AUTH && c.authS() != nil && c.authS().x != nil {
			if err := packet.DecodeDisconnect(&c.b.ps.Disconnect, h.Type, body, c.version); err != nil {
				return err
			}
			return c.handleAuth(&c.b.ps.Disconnect)
		}
		if h.Type != packet.CONNECT || (c.authS() != nil && c.authS().x != nil) {
			return errNotConnect // [MQTT-3.1.0-1]
		}
		return c.handleConnect(body)
	}
	v := c.version
	switch h.Type {
	case packet.PUBLISH:
		if err := packet.DecodePublish(&c.b.ps.Publish, h.Flags, body, v); err != nil {
			return err
		}
		return c.handlePublish(&c.b.ps.Publish)
	case packet.PUBACK, packet.PUBREC, packet.PUBREL, packet.PUBCOMP:
		if err := packet.DecodeAck(&c.b.ps.Ack, h.Type, body, v); err != nil {
			return err
		}
		return c.handleAck(&c.b.ps.Ack)
	case packet.SUBSCRIBE:
		if err := packet.DecodeSubscribe(&c.b.ps.Subscribe, h.Type, body, v); err != nil {
			return err
		}
		return c.handleSubscribe(&c.b.ps.Subscribe)
	case packet.UNSUBSCRIBE:
		if err := packet.DecodeSubscribe(&c.b.ps.Subscribe, h.Type, body, v); err != nil {
			return err
		}
		return c.handleUnsubscribe(&c.b.ps.Subscribe)
	case packet.PINGREQ:
		if err := packet.DecodeEmpty(h.Type, body); err != nil {
			return err
		}
		c.send(packet.AppendPingresp(c.b.scratch[:0]))
		return nil
	case packet.DISCONNECT:
		if err := packet.DecodeDisconnect(&c.b.ps.Disconnect, h.Type, body, v); err != nil {
			return err
		}
		return c.handleDisconnect(&c.b.ps.Disconnect)
	case packet.AUTH:
		if err := packet.DecodeDisconnect(&c.b.ps.Disconnect, h.Type, body, v); err != nil {
			return err
		}
		return c.handleAuth(&c.b.ps.Disconnect)
	case packet.CONNECT:
		return errSecondConnect // [MQTT-3.1.0-2]
	}
	return errClientOnly
}

// send queues an encoded packet for the client. Control packets are always
// accepted; back-pressure on input keeps them bounded.
func (c *conn) send(pkt []byte) {
	if c.state == stateClosed {
		return
	}
	if c.wsS() != nil {
		c.writeFrame(wsOpBinary, pkt) // one binary frame per packet
	} else {
		c.out.write(&c.b.pool, pkt)
	}
	c.b.Stats.BytesSent += uint64(len(pkt))
	c.b.Stats.PacketsSent++
	c.b.markDirty(c)
	if cap(pkt) > cap(c.b.scratch) && cap(pkt) <= maxScratch {
		c.b.scratch = pkt[:0] // keep the grown encode buffer
	}
}

// room reports whether n more bytes fit the connection's output budget.
func (c *conn) room(n int) bool {
	return c.out.Len()+n <= c.b.cfg.ClientBufferBytes || c.out.Len() == 0
}

// flush writes buffered output with writev; what the socket does not take
// waits for writability.
func (c *conn) flush() {
	if c.state == stateClosed {
		return
	}
	b := c.b
	for c.out.Len() > 0 {
		vec := c.out.iovecs(b.iov)
		n, err := platform.Writev(c.fd, vec)
		if n > 0 {
			c.out.consume(&b.pool, n)
		}
		if err == platform.ErrWouldBlock || (err == nil && c.out.Len() > 0 && n == 0) {
			break
		}
		if err != nil {
			c.out.release(&b.pool)
			if c.state == stateClosing {
				c.destroy()
			} else {
				c.lost()
			}
			return
		}
	}
	if c.out.Len() == 0 {
		c.out.release(&b.pool)
		if c.state == stateClosing {
			c.lingerClose()
			return
		}
		if c.sess != nil && c.state == stateConnected {
			c.sess.pump()
		}
		if c.out.Len() > 0 {
			b.markDirty(c)
		}
	}
	c.setInterest()
}

func (c *conn) setInterest() {
	if c.state == stateClosed {
		return
	}
	wantWrite := c.out.Len() > 0
	readOff := c.out.Len() > c.b.cfg.ClientBufferBytes && c.state == stateConnected || c.loginWait()
	if wantWrite != c.wantWrite || readOff != c.readOff {
		c.wantWrite, c.readOff = wantWrite, readOff
		c.b.poller.Modify(c.fd, !readOff, wantWrite)
	}
}

// onTimer is the connection's one timer: connect timeout before CONNECT,
// keep alive after, and the linger limit while closing.
func (c *conn) onTimer(*timer) {
	b := c.b
	switch c.state {
	case stateNew:
		b.log.Noticef("Client %s did not send CONNECT in time, closing.", c.from())
		c.destroy()
	case stateConnected:
		if c.keepAlive == 0 {
			return
		}
		idle := time.Duration(b.clock() - c.lastRecv)
		if idle >= c.keepAlive {
			b.log.Noticef("Client %s has exceeded timeout, disconnecting.", c)
			c.sendDisconnect(packet.KeepAliveTimeout)
			c.close(false)
			return
		}
		b.wheel.schedule(&c.timer, b.now, c.keepAlive-idle)
	case stateClosing:
		c.destroy()
	}
}

// fail answers a protocol error as the spec asks: CONNACK with the reason
// (5.0, or a 3.1.1 return code where one exists) before CONNECT succeeded,
// DISCONNECT with the reason code for 5.0 after it, a plain close for 3.1.1.
func (c *conn) fail(err error) {
	b := c.b
	b.Stats.Malformed++
	code := packet.Code(err)
	b.log.Noticef("Client %s disconnected: %v.", c, err)
	if c.state == stateNew {
		if err != errNotConnect && c.version != 0 {
			c.sendConnack(false, code, nil)
		}
		c.close(false)
		return
	}
	c.sendDisconnectText(code, err.Error())
	c.close(false)
}

// sendDisconnect sends a 5.0 DISCONNECT with code; nothing for 3.x.
func (c *conn) sendDisconnect(code packet.ReasonCode) { c.sendDisconnectText(code, "") }

// sendDisconnectText sends a 5.0 DISCONNECT with code and, when it fits the
// client's Maximum Packet Size, a reason string.
func (c *conn) sendDisconnectText(code packet.ReasonCode, text string) {
	if c.version != packet.Version5 || c.state != stateConnected {
		return
	}
	d := packet.Disconnect{Reason: code}
	if len(text) > 0 && len(text) <= 200 && (c.maxPacket == 0 || len(text)+16 <= int(c.maxPacket)) {
		d.Props.Set(packet.PropReasonString)
		d.Props.ReasonString = []byte(text)
	}
	c.send(packet.AppendDisconnect(c.b.scratch[:0], packet.DISCONNECT, &d, c.version))
}

// lost handles a connection that ended without DISCONNECT (read EOF, error).
func (c *conn) lost() {
	if c.state == stateConnected {
		c.b.log.Noticef("Client %s closed its connection.", c)
	}
	c.close(false)
}

// close ends the client's use of the connection: the session is detached
// (will, expiry), then buffered output is flushed before the fd closes.
// graceful is true after a DISCONNECT that suppresses the will.
func (c *conn) close(graceful bool) {
	if c.state == stateClosing || c.state == stateClosed {
		return
	}
	if c.sess != nil {
		c.b.detach(c, graceful)
	}
	c.state = stateClosing
	c.in = nil
	if c.x != nil {
		c.x.aliases, c.x.out5, c.x.auth = nil, nil, nil
	}
	if c.out.Len() == 0 {
		c.lingerClose()
		return
	}
	c.b.wheel.schedule(&c.timer, c.b.now, 2*time.Second)
	c.b.markDirty(c)
}

// lingerClose half-closes the socket so the last packet reaches the peer,
// then waits briefly for its EOF before closing the fd.
func (c *conn) lingerClose() {
	if err := platform.ShutdownWrite(c.fd); err != nil {
		c.destroy()
		return
	}
	c.b.poller.Modify(c.fd, true, false)
	c.wantWrite, c.readOff = false, false
	c.b.wheel.schedule(&c.timer, c.b.now, time.Second)
}

// destroy closes the fd and forgets the connection.
func (c *conn) destroy() {
	if c.state == stateClosed {
		return
	}
	b := c.b
	if c.sess != nil && c.state != stateClosing {
		b.detach(c, false)
	}
	c.state = stateClosed
	b.wheel.stop(&c.timer)
	b.poller.Remove(c.fd)
	platform.Close(c.fd)
	c.out.release(&b.pool)
	c.in = nil
	b.untrack(c)
	c.ln.count--
}

// heldAck is an acknowledgement waiting until its records are written.
type heldAck struct {
	seq uint64
	pkt []byte
}

// connExt holds the connection state that most connections never need,
// so an idle plain connection stays small.
type connExt struct {
	aliases map[uint16]string // inbound topic aliases
	out5    *outAliases       // outbound topic aliases
	auth    *authState        // enhanced authentication, when CONNECT named a method
	held    []heldAck         // acknowledgements waiting for their records to be written
	ws      *wsState          // WebSocket framing, on a websockets listener
	cert    tlsIdentity       // the TLS client certificate, if any
	login   *pendingLogin     // a CONNECT waiting for the credential verifier
}

// ext returns the connection's extension, making it on first use.
func (c *conn) ext() *connExt {
	if c.x == nil {
		c.x = &connExt{}
	}
	return c.x
}

func (c *conn) wsS() *wsState {
	if c.x == nil {
		return nil
	}
	return c.x.ws
}

func (c *conn) authS() *authState {
	if c.x == nil {
		return nil
	}
	return c.x.auth
}

func (c *conn) heldAcks() []heldAck {
	if c.x == nil {
		return nil
	}
	return c.x.held
}

func (c *conn) certID() tlsIdentity {
	if c.x == nil {
		return tlsIdentity{}
	}
	return c.x.cert
}

// tlsIdentity is what a TLS client certificate says.
type tlsIdentity struct {
	present bool
	cn, dn  string
}
