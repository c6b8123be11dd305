package broker

import (
	"net/netip"
	"time"

	"midge/broker/packet"
	"midge/broker/ring"
	"midge/broker/wheel"
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
	timer     wheel.Timer   // connect timeout, then keep alive, then close linger

	in  []byte // a partial inbound packet (nil when none)
	out ring.Buffer
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
	c.timer.Owner = c
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

// send queues an encoded packet for the client. Control packets are always
// accepted; back-pressure on input keeps them bounded.
func (c *conn) send(pkt []byte) {
	if c.state == stateClosed {
		return
	}
	if c.wsS() != nil {
		c.writeFrame(wsOpBinary, pkt) // one binary frame per packet
	} else {
		c.out.Write(&c.b.pool, pkt)
	}
	c.b.stats.BytesSent += uint64(len(pkt))
	c.b.stats.PacketsSent++
	c.queueFlush()
	if cap(pkt) > cap(c.b.scratch) && cap(pkt) <= maxScratch {
		c.b.scratch = pkt[:0] // keep the grown encode buffer
	}
}

// queueFlush puts the connection on the loop's list of connections with
// output, flushed at the end of the turn.
func (c *conn) queueFlush() {
	if !c.dirty {
		c.dirty = true
		c.b.dirty = append(c.b.dirty, c)
	}
}

// room reports whether n more bytes fit the connection's output budget.
func (c *conn) room(n int) bool {
	return c.out.Len()+n <= c.b.cfg.ClientBufferBytes || c.out.Len() == 0
}

// flush writes buffered output with writev; what the socket does not take
// waits for writability. It reports false when the socket failed (the
// output is dropped); the loop then ends the connection.
func (c *conn) flush() bool {
	if c.state == stateClosed {
		return true
	}
	b := c.b
	for c.out.Len() > 0 {
		vec := c.out.Iovecs(b.iov)
		n, err := platform.Writev(c.fd, vec)
		if n > 0 {
			c.out.Consume(&b.pool, n)
		}
		if err == platform.ErrWouldBlock || (err == nil && c.out.Len() > 0 && n == 0) {
			break
		}
		if err != nil {
			c.out.Release(&b.pool)
			return false
		}
	}
	if c.out.Len() == 0 {
		c.out.Release(&b.pool)
		if c.state == stateClosing {
			c.lingerClose()
			return true
		}
	}
	c.setInterest()
	return true
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

// close stops input and flushes buffered output before the fd closes. The
// connection must have no session: Broker.disconnect detaches it first.
func (c *conn) close() {
	if c.state == stateClosing || c.state == stateClosed {
		return
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
	c.b.wheel.Schedule(&c.timer, c.b.now, 2*time.Second)
	c.queueFlush()
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
	c.b.wheel.Schedule(&c.timer, c.b.now, time.Second)
}

// destroy closes the fd and forgets the connection.
func (c *conn) destroy() {
	if c.state == stateClosed {
		return
	}
	b := c.b
	c.state = stateClosed
	b.wheel.Stop(&c.timer)
	b.poller.Remove(c.fd)
	platform.Close(c.fd)
	c.out.Release(&b.pool)
	c.in = nil
	if c.x != nil {
		b.mem -= len(c.x.ret) * retEntrySize // the retained backlog goes with it
	}
	b.untrack(c)
	c.ln.count--
}

// heldAck is an acknowledgement waiting until its records are written.
type heldAck struct {
	seq   uint64
	since int64 // broker clock when it was held
	pkt   []byte
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
	ret     []retEntry        // retained messages still to send (retain_send.go)
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
	_ [0]func() // not comparable: no equality function in the binary

	present bool
	cn, dn  string
}

// track registers c under its fd; untrack forgets it.
func (b *Broker) track(c *conn) {
	if c.fd >= len(b.conns) {
		b.conns = append(b.conns, make([]*conn, c.fd+1-len(b.conns)+len(b.conns)/2)...)
	}
	b.conns[c.fd] = c
	b.nconns++
}

func (b *Broker) untrack(c *conn) {
	if c.fd < len(b.conns) && b.conns[c.fd] == c {
		b.conns[c.fd] = nil
		b.nconns--
	}
}

func (b *Broker) connAt(fd int) *conn {
	if fd >= 0 && fd < len(b.conns) {
		return b.conns[fd]
	}
	return nil
}
