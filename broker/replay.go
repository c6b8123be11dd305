//go:build !nopersist

package broker

import (
	"time"

	"midge/broker/packet"
	"midge/broker/topic"
	"midge/persist"
)

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

func (r *replay) message(m *rMessage, retain bool, now time.Time) *Message {
	var props packet.Properties
	packet.DecodePropertyBytes(&props, m.props, packet.PUBLISH)
	msg := newMessage(m.topic, m.payload, m.qos, retain, &props, now)
	if m.expiry > 0 {
		msg.Props.Set(packet.PropMessageExpiry)
		msg.Props.MessageExpiry = uint32(m.expiry)
	} else {
		msg.Props.Present &^= 1 << packet.PropMessageExpiry
	}
	return msg
}

type restored struct{ sessions, retained, messages int }

// restore rebuilds sessions (offline, with their expiry counting again from
// now), subscriptions, queued and in-flight messages, inbound QoS 2 ids and
// retained messages.
func (r *replay) restore(b *Broker) restored {
	var n restored
	now := b.now
	b.store.nextMID = r.maxMID
	for _, key := range r.rorder {
		m := r.retained[key]
		if m == nil {
			continue
		}
		msg := r.message(m, true, now)
		if b.setRetainedLoaded(msg) {
			n.retained++
		}
	}
	msgs := map[uint64]*Message{}
	for _, id := range r.order {
		rs := r.sessions[id]
		if rs == nil {
			continue
		}
		s := newSession(b, id)
		s.version, s.expiry, s.stored = rs.version, uint32(min(rs.expiry, maxExpiry-1)), true
		b.sessions[id] = s
		n.sessions++
		for _, key := range rs.subOrd {
			o, ok := rs.subs[key]
			if !ok {
				continue
			}
			stored := []byte(key)
			rec := subscription{filter: stored, opts: o}
			if group, filter, shared, _ := packet.SplitShared(stored); shared {
				rec.group, rec.filter = group, filter
			}
			b.tree.Subscribe(rec.group, rec.filter, s, o)
			if isSysFilter(rec.filter) {
				b.sys.subs++
			}
			if s.subs == nil {
				s.subs = make(map[string]subscription)
			}
			s.subs[key] = rec
		}
		for _, mid := range rs.dorder {
			dl := rs.dels[mid]
			rm := r.messages[mid]
			if dl == nil || rm == nil {
				continue
			}
			m := msgs[mid]
			if m == nil {
				m = r.message(rm, false, now)
				m.mid = mid
				msgs[mid] = m
			}
			d := &delivery{msg: m, qos: dl.qos, retain: dl.retain, subIDs: dl.subIDs, size: messageSize(m), stored: true}
			n.messages++
			if dl.pid != 0 {
				if s.inflight == nil {
					s.inflight = make(map[uint16]*delivery)
				}
				d.id, d.state = dl.pid, dl.state
				s.sendSeq++
				d.seq = s.sendSeq
				s.inflight[d.id] = d
				s.charge(d.size, true)
				s.nextID = max(s.nextID, d.id)
			} else {
				s.queue.push(d)
				s.charge(d.size, false)
			}
		}
		for pid := range rs.inbound {
			if s.recvQoS2 == nil {
				s.recvQoS2 = make(map[uint16]struct{})
			}
			s.recvQoS2[pid] = struct{}{}
		}
		// Offline from now on: expiry counts from the restart.
		if s.expiry != 0 && s.expiry != maxExpiry {
			s.expDue = b.clock() + int64(time.Duration(s.expiry)*time.Second)
		}
		s.arm()
	}
	return n
}
