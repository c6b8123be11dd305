//go:build !nopersist

package broker

import (
	"midge/broker/packet"
	"midge/broker/topic"
	"midge/persist"
)

// Persistence records: the encoder and decoder of each record type the
// broker writes, side by side (the format is in persist/FORMAT.md). The
// decoder collects records into a replay that restore.go turns into state.

func encSession(e *persist.Enc, s *session) {
	e.String(s.id)
	e.Byte(s.version)
	e.Uint(s.remainingExpiry())
}

func encSub(e *persist.Enc, id, key string, o topic.Options) {
	e.String(id)
	e.String(key)
	e.Byte(o.QoS)
	e.Byte(b2byte(o.NoLocal) | b2byte(o.RetainAsPublished)<<1)
	e.Byte(o.RetainHandling)
	e.Uint(uint64(o.SubID))
}

func (b *Broker) encRetained(e *persist.Enc, m *message) {
	left, _ := remaining(m, b.now)
	e.Bytes(m.Topic)
	e.Byte(m.QoS)
	e.Uint(uint64(left))
	e.Bytes(packet.AppendPropertyBytes(nil, &m.Props))
	e.Bytes(m.Payload)
}

func (b *Broker) encMessage(e *persist.Enc, m *message) {
	left, _ := remaining(m, b.now)
	e.Uint(m.mid)
	e.Byte(m.QoS)
	e.Uint(uint64(left))
	e.Bytes(m.Topic)
	e.Bytes(packet.AppendPropertyBytes(nil, &m.Props))
	e.Bytes(m.Payload)
}

func encDelivery(e *persist.Enc, s *session, d *delivery) {
	e.String(s.id)
	e.Uint(d.msg.mid)
	e.Byte(d.qos)
	e.Byte(b2byte(d.retain))
	e.Uint(uint64(len(d.subIDs)))
	for _, id := range d.subIDs {
		e.Uint(uint64(id))
	}
}

func encSent(e *persist.Enc, s *session, d *delivery) {
	e.String(s.id)
	e.Uint(d.msg.mid)
	e.Uint(uint64(d.id))
	e.Byte(d.state)
}

func encInbound(e *persist.Enc, id string, pid uint16) {
	e.String(id)
	e.Uint(uint64(pid))
}

// replay collects the log's records at start, then rebuilds the broker's
// state from them.
type replay struct {
	sessions map[string]*rSession
	order    []string
	retained map[string]*rMessage
	rorder   []string
	messages map[uint64]*rMessage
	maxMID   uint64
}

type rSession struct {
	version byte
	expiry  uint64
	subs    map[string]topic.Options
	subOrd  []string
	dels    map[uint64]*rDelivery
	dorder  []uint64
	inbound map[uint16]bool
}

type rDelivery struct {
	mid    uint64
	qos    byte
	retain bool
	subIDs []uint32
	pid    uint16
	state  byte
}

type rMessage struct {
	qos     byte
	expiry  uint64
	topic   []byte
	props   []byte
	payload []byte
}

func newReplay() *replay {
	return &replay{sessions: map[string]*rSession{}, retained: map[string]*rMessage{}, messages: map[uint64]*rMessage{}}
}

// apply takes one record (its payload is copied where kept).
func (r *replay) apply(rec persist.Record) {
	d := persist.Dec{B: rec.Payload}
	switch rec.Type {
	case persist.RecSessionPut:
		id, v, exp := d.String(), d.Byte(), d.Uint()
		if d.Err != nil {
			return
		}
		s := r.sessions[id]
		if s == nil {
			s = &rSession{subs: map[string]topic.Options{}, dels: map[uint64]*rDelivery{}, inbound: map[uint16]bool{}}
			r.sessions[id] = s
			r.order = append(r.order, id)
		}
		s.version, s.expiry = v, exp
	case persist.RecSessionDel:
		delete(r.sessions, d.String())
	case persist.RecSubPut:
		id, key := d.String(), d.String()
		o := topic.Options{QoS: d.Byte()}
		flags := d.Byte()
		o.NoLocal, o.RetainAsPublished = flags&1 != 0, flags&2 != 0
		o.RetainHandling = d.Byte()
		o.SubID = uint32(d.Uint())
		if s := r.sessions[id]; s != nil && d.Err == nil {
			if _, ok := s.subs[key]; !ok {
				s.subOrd = append(s.subOrd, key)
			}
			s.subs[key] = o
		}
	case persist.RecSubDel:
		id, key := d.String(), d.String()
		if s := r.sessions[id]; s != nil {
			delete(s.subs, key)
		}
	case persist.RecRetainPut:
		m := &rMessage{topic: clone(d.Bytes()), qos: d.Byte(), expiry: d.Uint()}
		m.props, m.payload = clone(d.Bytes()), clone(d.Bytes())
		if d.Err == nil {
			if _, ok := r.retained[string(m.topic)]; !ok {
				r.rorder = append(r.rorder, string(m.topic))
			}
			r.retained[string(m.topic)] = m
		}
	case persist.RecRetainDel:
		delete(r.retained, string(d.Bytes()))
	case persist.RecMessage:
		mid := d.Uint()
		m := &rMessage{qos: d.Byte(), expiry: d.Uint()}
		m.topic, m.props, m.payload = clone(d.Bytes()), clone(d.Bytes()), clone(d.Bytes())
		if d.Err == nil {
			r.messages[mid] = m
			r.maxMID = max(r.maxMID, mid)
		}
	case persist.RecDeliveryPut:
		id, mid := d.String(), d.Uint()
		dl := &rDelivery{mid: mid, qos: d.Byte(), retain: d.Byte() == 1}
		n := d.Uint()
		for i := uint64(0); i < n && d.Err == nil && i < 64; i++ {
			dl.subIDs = append(dl.subIDs, uint32(d.Uint()))
		}
		if s := r.sessions[id]; s != nil && d.Err == nil {
			if _, ok := s.dels[mid]; !ok {
				s.dorder = append(s.dorder, mid)
			}
			s.dels[mid] = dl
		}
	case persist.RecDeliveryDel:
		id, mid := d.String(), d.Uint()
		if s := r.sessions[id]; s != nil {
			delete(s.dels, mid)
		}
	case persist.RecDeliverySent:
		id, mid, pid, state := d.String(), d.Uint(), d.Uint(), d.Byte()
		if s := r.sessions[id]; s != nil && d.Err == nil {
			if dl := s.dels[mid]; dl != nil {
				dl.pid, dl.state = uint16(pid), state
			}
		}
	case persist.RecInboundPut, persist.RecInboundDel:
		id, pid := d.String(), uint16(d.Uint())
		if s := r.sessions[id]; s != nil && d.Err == nil {
			if rec.Type == persist.RecInboundPut {
				s.inbound[pid] = true
			} else {
				delete(s.inbound, pid)
			}
		}
	}
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }
