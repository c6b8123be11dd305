package broker

import (
	"sort"

	"midge/broker/packet"
	"midge/broker/topic"
)

// session is the state of one client id: subscriptions, queued and in-flight
// messages, and inbound QoS 2 ids. It outlives its connection when the
// client asked for a persistent session.
type session struct {
	b       *Broker
	id      string
	conn    *conn
	version byte

	expiry   uint32 // seconds after disconnect; 0 = with the connection
	expTimer timer

	subs map[string]subscription // by full filter (shared ones with their $share prefix)

	queue    []*delivery // waiting for an in-flight slot or output room
	inflight map[uint16]*delivery
	sendSeq  uint64
	nextID   uint16
	recvQoS2 map[uint16]struct{} // inbound QoS 2 ids between PUBREC and PUBREL

	will      *Message
	willDelay uint32
	willTimer timer

	// fan-out bookkeeping: the broker's generation this session was last
	// matched in, and its index in Broker.targets.
	gen uint64
	idx int
}

type subscription struct {
	group  []byte
	filter []byte
	opts   topic.Options
}

// delivery is one message on its way to one session.
type delivery struct {
	msg    *Message
	qos    byte
	retain bool
	subIDs []uint32
	id     uint16
	seq    uint64 // send order, for redelivery
	state  byte   // what the in-flight message waits for
}

const (
	waitPuback byte = iota + 1
	waitPubrec
	waitPubcomp
)

func newSession(b *Broker, id string) *session {
	s := &session{b: b, id: id}
	s.expTimer.fire = s.onExpire
	s.willTimer.fire = s.onWillDelay
	return s
}

// window is how many QoS 1/2 messages may be in flight to the client.
func (s *session) window() int {
	w := s.b.cfg.MaxInflightMessages
	if s.conn != nil && s.conn.recvMax > 0 && s.conn.recvMax < w {
		w = s.conn.recvMax
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

// enqueue adds d to the pending queue, dropping it when the queue is full
// (Mosquitto drops new messages). It reports whether d was kept.
func (s *session) enqueue(d *delivery) bool {
	if len(s.queue) >= s.b.cfg.MaxQueuedMessages {
		s.b.Stats.Dropped++
		return false
	}
	s.queue = append(s.queue, d)
	return true
}

// pump moves queued messages to the client while the in-flight window and
// the output budget allow.
func (s *session) pump() {
	c := s.conn
	if c == nil || c.state != stateConnected {
		return
	}
	n := 0
	for n < len(s.queue) {
		d := s.queue[n]
		if d.qos > 0 && len(s.inflight) >= s.window() {
			break
		}
		if !s.transmit(d) {
			break
		}
		s.queue[n] = nil
		n++
	}
	if n > 0 {
		s.queue = append(s.queue[:0], s.queue[n:]...)
		if len(s.queue) == 0 {
			s.queue = nil
		}
	}
}

// transmit encodes d to the connection if the output budget has room,
// registering it in flight for QoS 1/2. It reports false when there was no
// room (d stays with the caller). A message too large for the client's
// Maximum Packet Size is dropped and counted, and reported as sent.
func (s *session) transmit(d *delivery) bool {
	c := s.conn
	b := s.b
	p := packet.Publish{Topic: d.msg.Topic, Payload: d.msg.Payload, QoS: d.qos, Retain: d.retain}
	if c.version == packet.Version5 {
		p.Props = d.msg.Props
		if len(d.subIDs) > 0 {
			b.subIDs = b.subIDs[:0]
			for _, id := range d.subIDs {
				b.subIDs = packet.AppendSubscriptionID(b.subIDs, id)
			}
			p.Props.SubIDs = b.subIDs
		}
	}
	if d.qos > 0 {
		d.id = s.newID()
		p.PacketID = d.id
	}
	size := packet.PublishLen(&p, c.version)
	if c.maxPacket > 0 && size > int(c.maxPacket) {
		b.Stats.Dropped++ // [MQTT-3.1.2-25] too large for this client: discard
		return true
	}
	if !c.room(size) {
		d.id = 0
		return false
	}
	c.send(packet.AppendPublish(b.scratch[:0], &p, c.version))
	b.Stats.MsgsSent++
	if d.qos > 0 {
		if s.inflight == nil {
			s.inflight = make(map[uint16]*delivery)
		}
		s.sendSeq++
		d.seq = s.sendSeq
		d.state = waitPuback
		if d.qos == 2 {
			d.state = waitPubrec
		}
		s.inflight[d.id] = d
	}
	return true
}

// resend retransmits every in-flight message after a reconnect, in the order
// they were first sent: PUBLISH with DUP set, or PUBREL [MQTT-4.4.0-1].
func (s *session) resend() {
	if len(s.inflight) == 0 {
		return
	}
	list := make([]*delivery, 0, len(s.inflight))
	for _, d := range s.inflight {
		list = append(list, d)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].seq < list[j].seq })
	c := s.conn
	for _, d := range list {
		if d.state == waitPubcomp {
			a := packet.Ack{Type: packet.PUBREL, PacketID: d.id}
			c.send(packet.AppendAck(s.b.scratch[:0], &a, c.version))
			continue
		}
		delete(s.inflight, d.id)
		s.transmitDup(d)
	}
}

// transmitDup resends d with its packet id kept and DUP set.
func (s *session) transmitDup(d *delivery) {
	c := s.conn
	p := packet.Publish{Topic: d.msg.Topic, Payload: d.msg.Payload, QoS: d.qos, Retain: d.retain, Dup: true, PacketID: d.id}
	if c.version == packet.Version5 {
		p.Props = d.msg.Props
	}
	c.send(packet.AppendPublish(s.b.scratch[:0], &p, c.version))
	s.inflight[d.id] = d
}

// clearSubscriptions removes all of the session's subscriptions from the tree.
func (s *session) clearSubscriptions() {
	for _, sub := range s.subs {
		s.b.tree.Unsubscribe(sub.group, sub.filter, s)
	}
	s.subs = nil
}

// onExpire ends a disconnected session whose expiry interval has passed.
func (s *session) onExpire() {
	if s.conn != nil {
		return
	}
	s.b.log.Debugf("Session %s expired.", s.id)
	s.b.endSession(s)
}

// onWillDelay publishes a delayed will.
func (s *session) onWillDelay() {
	if s.conn == nil {
		s.b.publishWill(s)
	}
}
