//go:build !nopersist

package broker

import (
	"time"
	"unsafe"

	"midge/broker/packet"
)

func (r *replay) message(m *rMessage, retain bool, now time.Time) *message {
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
	msgs := map[uint64]*message{}
	for _, id := range r.order {
		rs := r.sessions[id]
		if rs == nil || b.sessions[id] != nil {
			continue // ended, or listed again after it was ended and made anew
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
			stored := unsafe.Slice(unsafe.StringData(key), len(key)) // never modified: the tree keeps views of it
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
			s.chargeSub(subSize(stored)) // charged even past the budget: restored state is kept
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
