package broker

import (
	"sort"

	"midge/broker/packet"
	"midge/broker/topic"
	"midge/broker/wheel"
)

// session is the state of one client id: subscriptions, queued and in-flight
// messages, and inbound QoS 2 ids. It outlives its connection when the
// client asked for a persistent session.
type session struct {
	b    *Broker
	id   string
	conn *conn

	// One timer serves both deadlines of an offline session: its will delay
	// and its expiry (nanoseconds on the broker's clock; 0 = none).
	timer           wheel.Timer
	willDue, expDue int64

	subs   map[string]subscription // by full filter (shared ones with their $share prefix)
	sBytes int                     // memory budget charged for subs (budget.go)

	queue    dqueue // waiting for an in-flight slot or output room
	inflight map[uint16]*delivery
	qBytes   int                 // bytes of queued messages
	fBytes   int                 // bytes of in-flight messages
	sendSeq  uint32              // send order of in-flight messages (compared with wrap-around)
	recvQoS2 map[uint16]struct{} // inbound QoS 2 ids between PUBREC and PUBREL

	will *message

	// fan-out bookkeeping: the broker's generation this session was last
	// matched in, and its index in Broker.targets.
	gen uint64
	idx int32

	expiry    uint32 // seconds after disconnect; 0 = with the connection
	willDelay uint32
	nextID    uint16
	version   byte
	lnIdx     uint8      // the listener it last connected on (its overflow policy)
	stored    bool       // the session is in the persistence log
	anonymous bool       // connected without a user name
	ident     *sessIdent // user name and token claims (nil: none)
}

// sessIdent is who a session authenticated as, kept apart so anonymous
// sessions stay small.
type sessIdent struct {
	_ [0]func() // not comparable: no equality function in the binary

	user   string
	claims sessionClaims // a JWT's topic rules (nil: none)
	cred   uint64        // the password file entry it logged in with (0: not by password)
}

func (s *session) user() string {
	if s.ident == nil {
		return ""
	}
	return s.ident.user
}

func (s *session) claims() sessionClaims {
	if s.ident == nil {
		return nil
	}
	return s.ident.claims
}

// setIdent records who the session is.
func (s *session) setIdent(user string, claims sessionClaims, cred uint64) {
	if user == "" && claims == nil {
		s.ident = nil
		return
	}
	s.ident = &sessIdent{user: user, claims: claims, cred: cred}
}

func (s *session) cred() uint64 {
	if s.ident == nil {
		return 0
	}
	return s.ident.cred
}

type subscription struct {
	group  []byte
	filter []byte
	opts   topic.Options
}

// delivery is one message on its way to one session.
type delivery struct {
	msg    *message
	size   int // bytes charged to the memory budget
	qos    byte
	retain bool
	subIDs []uint32
	stored bool // recorded in the persistence log
	id     uint16
	seq    uint32 // send order, for redelivery
	state  byte   // what the in-flight message waits for
}

const (
	waitPuback byte = iota + 1
	waitPubrec
	waitPubcomp
)

func newSession(b *Broker, id string) *session {
	s := &session{b: b, id: id}
	s.timer.Owner = s
	return s
}

// window is how many QoS 1/2 messages may be in flight to the client.
func (s *session) window() int {
	w := s.b.cfg.MaxInflightMessages
	if s.conn != nil && s.conn.recvMax > 0 && int(s.conn.recvMax) < w {
		w = int(s.conn.recvMax)
	}
	return w
}

func (s *session) newID() uint16 {
	for {
		s.nextID++
		if s.nextID == 0 {
			s.nextID = 1
		}
		if _, used := s.inflight[s.nextID]; !used {
			return s.nextID
		}
	}
}

// pump moves queued messages to the client while the in-flight window
// (messages and bytes) and the output buffer allow, then the retained
// messages still owed to new subscriptions (retain_send.go). Expired
// messages are dropped on the way [MQTT-3.3.2-5].
func (s *session) pump() {
	c := s.conn
	if c == nil || c.state != stateConnected {
		return
	}
	b := s.b
	for s.queue.len() > 0 {
		d := s.queue.front()
		if d.qos > 0 && !s.inflightRoom(d) {
			break
		}
		if _, ok := remaining(d.msg, b.now); !ok {
			b.drop(dropExpired)
			b.storeDeliveryDel(s, d)
		} else if !s.transmit(d) {
			break
		}
		s.queue.pop()
		s.uncharge(d.size, false)
	}
	if c.x != nil {
		s.sendBacklog(c.x)
	}
}

// inflightRoom reports whether d may go in flight now.
func (s *session) inflightRoom(d *delivery) bool {
	if len(s.inflight) >= s.window() {
		return false
	}
	return len(s.inflight) == 0 || s.fBytes+d.size <= s.b.cfg.MaxInflightBytes
}

// transmit encodes d to the connection if the output buffer has room,
// registering it in flight for QoS 1/2. It reports false when there was no
// room (d stays with the caller). A message too large for the client's
// Maximum Packet Size is dropped, counted, and reported as sent.
func (s *session) transmit(d *delivery) bool {
	c := s.conn
	b := s.b
	p := packet.Publish{Topic: d.msg.Topic, Payload: d.msg.Payload, QoS: d.qos, Retain: d.retain, Props: d.msg.Props}
	if left, ok := remaining(d.msg, b.now); ok && p.Props.Has(packet.PropMessageExpiry) {
		p.Props.MessageExpiry = left // the remaining interval is forwarded [MQTT-3.3.2-6]
	}
	var id uint16
	if d.qos > 0 {
		id = s.newID()
		p.PacketID = id
	}
	switch c.sendPublish(&p, d.subIDs) {
	case sendNoRoom:
		return false
	case sendTooLarge:
		return true
	}
	if d.qos > 0 {
		if s.inflight == nil {
			s.inflight = make(map[uint16]*delivery)
		}
		d.id = id
		s.sendSeq++
		d.seq = s.sendSeq
		d.state = waitPuback
		if d.qos == 2 {
			d.state = waitPubrec
		}
		s.inflight[id] = d
		s.charge(d.size, true)
		b.storeSent(s, d)
	}
	return true
}

// settle ends an in-flight message's flow.
func (s *session) settle(id uint16) {
	if d := s.inflight[id]; d != nil {
		delete(s.inflight, id)
		s.uncharge(d.size, true)
		s.b.storeDeliveryDel(s, d)
	}
}

// resend retransmits every in-flight message after a reconnect, in the order
// they were first sent: PUBLISH with DUP set, or PUBREL [MQTT-4.4.0-1].
func (s *session) resend() {
	if len(s.inflight) == 0 {
		return
	}
	c := s.conn
	for _, d := range sortedInflight(s) {
		if d.state == waitPubcomp {
			a := packet.Ack{Type: packet.PUBREL, PacketID: d.id}
			c.send(packet.AppendAck(s.b.scratch[:0], &a, c.version))
			continue
		}
		p := packet.Publish{Topic: d.msg.Topic, Payload: d.msg.Payload, QoS: d.qos, Retain: d.retain,
			Dup: true, PacketID: d.id, Props: d.msg.Props}
		if left, ok := remaining(d.msg, s.b.now); ok && p.Props.Has(packet.PropMessageExpiry) {
			p.Props.MessageExpiry = left
		}
		c.sendPublish(&p, d.subIDs) // in flight already: sent whatever the buffer holds
	}
}

// clearSubscriptions removes all of the session's subscriptions from the tree.
func (s *session) clearSubscriptions() {
	for _, sub := range s.subs {
		s.b.tree.Unsubscribe(sub.group, sub.filter, s)
		if isSysFilter(sub.filter) {
			s.b.sysSubscribed(-1)
		}
	}
	s.subs = nil
	s.chargeSub(-s.sBytes)
}

// sortedInflight returns s's in-flight deliveries in the order they were sent.
func sortedInflight(s *session) []*delivery {
	list := make([]*delivery, 0, len(s.inflight))
	for _, d := range s.inflight {
		list = append(list, d)
	}
	sort.Slice(list, func(i, j int) bool { return int32(list[i].seq-list[j].seq) < 0 })
	return list
}
