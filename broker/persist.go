//go:build !nopersist

package broker

import (
	"sync/atomic"
	"time"

	"midge/broker/packet"
	"midge/broker/topic"
	"midge/broker/wheel"
	"midge/persist"
)

// Persistence reports whether persistence is compiled in.
const Persistence = true

// store connects the broker to its append-only log (persist package). All
// of it runs on the loop except the writer's completion callback.
type store struct {
	log      *persist.Log
	nextMID  uint64
	written  atomic.Uint64 // records up to this sequence number are written
	notified atomic.Bool   // a release is queued on the loop
	held     []*conn       // connections with acknowledgements waiting
	timer    wheel.Timer   // compaction check
	ackTimer wheel.Timer   // acknowledgements held too long (ack_timeout)
	busy     bool          // a compaction is running
	damage   []string      // what recovery reported (for $SYS)
	alarm    string
	cap      int64
	enc      persist.Enc
}

// openStore opens the log and rebuilds the broker's state from it. The
// broker never refuses to start because of its own files: damage is
// repaired and reported, and an unusable directory runs the broker without
// persistence, with an alarm.
func (b *Broker) openStore() {
	pc := b.cfg.Persistence
	if !pc.Enabled {
		return
	}
	sync, _ := persist.ParseSync(pc.Sync)
	st := &store{cap: int64(pc.MaxStoreBytes)}
	r := newReplay()
	opt := persist.Options{Dir: pc.Dir, Sync: sync, SyncInterval: pc.SyncInterval.D(),
		SegmentBytes: int64(pc.SegmentBytes), BatchBytes: pc.BatchBytes, BatchDelay: pc.BatchDelay.D(),
		FS: b.storeFS, Logf: func(f string, a ...any) { b.log.Warnf(f, a...) },
		Done: func(seq uint64) {
			st.written.Store(seq)
			if !st.notified.Swap(true) {
				b.Do(b.releaseHeld)
			}
		}}
	l, damage, err := persist.Open(opt, r.apply)
	for _, d := range damage {
		st.damage = append(st.damage, d.String())
		st.alarm = "recovered with damage: " + d.String()
	}
	if err != nil {
		b.log.Errorf("persistence disabled: %s: %v", pc.Dir, err)
		b.storeAlarm = "persistence disabled: " + err.Error()
		return
	}
	st.log = l
	b.store = st
	st.timer.Owner = wheel.Func(b.checkCompaction)
	st.ackTimer.Owner = wheel.Func(b.expireHeld)
	n := r.restore(b)
	b.log.Noticef("Persistence: %s, %d sessions, %d retained, %d messages restored.", pc.Dir, n.sessions, n.retained, n.messages)
}

// storeFlush hands this loop turn's records to the writer.
func (b *Broker) storeFlush() {
	if b.store != nil {
		b.store.log.Flush()
	}
}

func (b *Broker) startStore() {
	if b.store != nil {
		b.wheel.Schedule(&b.store.timer, b.now, 10*time.Second)
	}
}

// closeStore records each offline session's remaining expiry and closes
// the log.
func (b *Broker) closeStore() {
	st := b.store
	if st == nil {
		return
	}
	for _, s := range b.sessions {
		if s.stored {
			b.storeSession(s)
		}
	}
	if err := st.log.Close(); err != nil {
		b.log.Errorf("persistence: %v", err)
	}
	b.store = nil
}

func (st *store) payload() *persist.Enc {
	st.enc.B = st.enc.B[:0]
	return &st.enc
}

// durable reports whether s outlives its connection (and so is stored).
func (s *session) durable() bool { return s.expiry > 0 }

// remainingExpiry is the session's expiry interval left: the whole of it
// while connected, what is left of it while offline.
func (s *session) remainingExpiry() uint64 {
	if s.conn == nil && s.expDue != 0 {
		left := (s.expDue - s.b.clock()) / int64(time.Second)
		return uint64(max(left, 1))
	}
	return uint64(s.expiry)
}

func (b *Broker) storeSession(s *session) {
	st := b.store
	if st == nil {
		return
	}
	if !s.durable() {
		b.storeSessionDel(s)
		return
	}
	e := st.payload()
	encSession(e, s)
	st.log.Append(persist.RecSessionPut, e.B, 0)
	if !s.stored {
		s.stored = true
		for key, sub := range s.subs {
			b.storeSub(s, key, sub.opts)
		}
	}
}

func (b *Broker) storeSessionDel(s *session) {
	st := b.store
	if st == nil || !s.stored {
		return
	}
	e := st.payload()
	e.String(s.id)
	st.log.Append(persist.RecSessionDel, e.B, 0)
	s.stored = false
	s.queue.each(func(d *delivery) { d.stored = false })
	for _, d := range s.inflight {
		d.stored = false
	}
}

func (b *Broker) storeSub(s *session, key string, o topic.Options) {
	st := b.store
	if st == nil || !s.stored {
		return
	}
	e := st.payload()
	encSub(e, s.id, key, o)
	st.log.Append(persist.RecSubPut, e.B, 0)
}

func (b *Broker) storeSubDel(s *session, key string) {
	st := b.store
	if st == nil || !s.stored {
		return
	}
	e := st.payload()
	e.String(s.id)
	e.String(key)
	st.log.Append(persist.RecSubDel, e.B, 0)
}

func (b *Broker) storeRetain(m *message) {
	st := b.store
	if st == nil {
		return
	}
	e := st.payload()
	b.encRetained(e, m)
	st.log.Append(persist.RecRetainPut, e.B, len(m.Payload))
}

func (b *Broker) storeRetainDel(topicName []byte) {
	st := b.store
	if st == nil {
		return
	}
	e := st.payload()
	e.Bytes(topicName)
	st.log.Append(persist.RecRetainDel, e.B, 0)
}

// storeDelivery records a QoS 1/2 delivery to a durable session, writing
// the message body once however many sessions it goes to.
func (b *Broker) storeDelivery(s *session, d *delivery) {
	st := b.store
	if st == nil || !s.stored || d.qos == 0 || d.stored {
		return
	}
	m := d.msg
	if m.mid == 0 {
		st.nextMID++
		m.mid = st.nextMID
		e := st.payload()
		b.encMessage(e, m)
		st.log.Append(persist.RecMessage, e.B, len(m.Payload))
	}
	e := st.payload()
	encDelivery(e, s, d)
	st.log.Append(persist.RecDeliveryPut, e.B, 0)
	d.stored = true
}

func (b *Broker) storeDeliveryDel(s *session, d *delivery) {
	st := b.store
	if st == nil || !d.stored {
		return
	}
	e := st.payload()
	e.String(s.id)
	e.Uint(d.msg.mid)
	st.log.Append(persist.RecDeliveryDel, e.B, 0)
	d.stored = false
}

func (b *Broker) storeSent(s *session, d *delivery) {
	st := b.store
	if st == nil || !d.stored {
		return
	}
	e := st.payload()
	encSent(e, s, d)
	st.log.Append(persist.RecDeliverySent, e.B, 0)
}

func (b *Broker) storeInbound(s *session, id uint16, put bool) {
	st := b.store
	if st == nil || !s.stored {
		return
	}
	e := st.payload()
	encInbound(e, s.id, id)
	typ := persist.RecInboundDel
	if put {
		typ = persist.RecInboundPut
	}
	st.log.Append(typ, e.B, 0)
}

func b2byte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// storeSeq is the last record appended (0 without persistence).
func (b *Broker) storeSeq() uint64 {
	if b.store == nil {
		return 0
	}
	return b.store.log.Seq()
}

// storeFull reports whether new messages for offline sessions must be
// refused: the store is over max_store_bytes or failing.
func (b *Broker) storeFull() bool {
	st := b.store
	if st == nil {
		return false
	}
	s := st.log.Stats()
	return s.Failed || s.StoreBytes >= st.cap
}

// sendAfterStore sends an acknowledgement once every record appended so far
// is written (group commit); with nothing pending it goes at once.
func (c *conn) sendAfterStore(pkt []byte, since uint64) {
	st := c.b.store
	seq := c.b.storeSeq()
	held := len(c.heldAcks())
	if st == nil || (seq == since && held == 0) || seq <= st.written.Load() && held == 0 {
		c.send(pkt)
		return
	}
	if held == 0 {
		if len(st.held) == 0 {
			c.b.wheel.Schedule(&st.ackTimer, c.b.now, c.b.cfg.Persistence.AckTimeout.D())
		}
		st.held = append(st.held, c)
	}
	x := c.ext()
	x.held = append(x.held, heldAck{seq: seq, since: c.b.clock(), pkt: append([]byte(nil), pkt...)})
}

// expireHeld disconnects the clients whose oldest held acknowledgement
// has waited longer than ack_timeout (a full disk, failing flash): they
// were not told their messages are stored, so they keep them and send them
// again when they reconnect. Clients whose messages need no storage are
// never held, so they are not affected.
func (b *Broker) expireHeld() {
	st := b.store
	if st == nil {
		return
	}
	wait := b.cfg.Persistence.AckTimeout.D()
	now := b.clock()
	next := int64(-1)
	kept := st.held[:0]
	for _, c := range st.held {
		x := c.ext()
		if len(x.held) == 0 || c.state == stateClosed {
			x.held = nil
			continue
		}
		due := x.held[0].since + int64(wait)
		if due > now {
			kept = append(kept, c)
			if next < 0 || due < next {
				next = due
			}
			continue
		}
		b.log.Noticef("Client %s disconnected: %d acknowledgements waited %s for the store (%s); it keeps those messages.",
			c, len(x.held), wait, b.persistAlarm())
		x.held = nil
		c.sendDisconnect(packet.QuotaExceeded)
		b.disconnect(c, false)
	}
	clear(st.held[len(kept):])
	st.held = kept
	if next >= 0 {
		b.wheel.Schedule(&st.ackTimer, b.now, time.Duration(next-now))
	}
}

// releaseHeld sends the acknowledgements whose records are now written.
func (b *Broker) releaseHeld() {
	st := b.store
	if st == nil {
		return
	}
	st.notified.Store(false)
	written := st.written.Load()
	kept := st.held[:0]
	for _, c := range st.held {
		x := c.ext()
		n := 0
		for n < len(x.held) && x.held[n].seq <= written {
			c.send(x.held[n].pkt)
			n++
		}
		x.held = append(x.held[:0], x.held[n:]...)
		if len(x.held) > 0 && c.state != stateClosed {
			kept = append(kept, c)
		} else {
			x.held = nil
		}
	}
	clear(st.held[len(kept):])
	st.held = kept
}

// checkCompaction compacts the log when it holds more than twice the live
// data (estimated from the memory budget's accounting) and at least 1 MiB.
func (b *Broker) checkCompaction() {
	st := b.store
	if st == nil {
		return
	}
	b.wheel.Schedule(&st.timer, b.now, 10*time.Second)
	stats := st.log.Stats()
	live := int64(b.mem) + int64(len(b.sessions))*64 + int64(b.tree.Len())*64
	if st.busy || stats.StoreBytes < 1<<20 || stats.StoreBytes < 2*live {
		return
	}
	b.compact(false)
}

// Compact compacts the persistence log now if that frees anything (SIGUSR1,
// like Mosquitto's "save the database now"). Call it on the loop.
func (b *Broker) Compact() {
	if b.store != nil && !b.store.busy {
		b.compact(true)
	}
}

func (b *Broker) compact(force bool) {
	st := b.store
	stats := st.log.Stats()
	snap := b.snapshot()
	if int64(snap.Len())*2 > stats.StoreBytes && !(force && int64(snap.Len()) < stats.StoreBytes) {
		return // not worth it yet
	}
	st.busy = true
	result := st.log.Compact(snap)
	go func() {
		err := <-result
		b.Do(func() {
			st.busy = false
			if err != nil {
				b.log.Warnf("persistence: compaction: %v", err)
			}
		})
	}()
}

// snapshot writes the live durable state as log records.
func (b *Broker) snapshot() *persist.Snapshot {
	snap := b.store.log.NewSnapshot()
	seen := map[uint64]bool{}
	var e persist.Enc
	add := func(typ byte, enc func(*persist.Enc)) {
		e.B = e.B[:0]
		enc(&e)
		snap.Add(typ, e.B)
	}
	b.retained.Each(func(m *message) {
		if _, alive := remaining(m, b.now); alive {
			add(persist.RecRetainPut, func(e *persist.Enc) { b.encRetained(e, m) })
		}
	})
	for _, s := range b.sessions {
		if !s.stored {
			continue
		}
		add(persist.RecSessionPut, func(e *persist.Enc) { encSession(e, s) })
		for key, sub := range s.subs {
			add(persist.RecSubPut, func(e *persist.Enc) { encSub(e, s.id, key, sub.opts) })
		}
		delivery := func(d *delivery) {
			if !d.stored || d.msg == nil {
				return
			}
			if !seen[d.msg.mid] {
				seen[d.msg.mid] = true
				add(persist.RecMessage, func(e *persist.Enc) { b.encMessage(e, d.msg) })
			}
			add(persist.RecDeliveryPut, func(e *persist.Enc) { encDelivery(e, s, d) })
			if d.id != 0 {
				add(persist.RecDeliverySent, func(e *persist.Enc) { encSent(e, s, d) })
			}
		}
		for _, d := range sortedInflight(s) {
			delivery(d)
		}
		s.queue.each(delivery)
		for id := range s.recvQoS2 {
			add(persist.RecInboundPut, func(e *persist.Enc) { encInbound(e, s.id, id) })
		}
	}
	return snap
}

// The record payloads (persist/FORMAT.md), shared by the live appends and
// the compaction snapshot.

// PersistStats returns the store's counters (false without persistence);
// call it on the loop.
func (b *Broker) PersistStats() (persist.Stats, bool) { return b.persistStats() }

// persistStats are the store's figures for $SYS.
func (b *Broker) persistStats() (persist.Stats, bool) {
	if b.store == nil {
		return persist.Stats{}, false
	}
	return b.store.log.Stats(), true
}

// persistFailing reports a store that cannot write right now.
func (b *Broker) persistFailing() bool {
	return b.store != nil && b.store.log.Stats().Failed
}

// storeStalled reports a writer that has had work pending for longer than d.
func (b *Broker) storeStalled(d time.Duration) bool {
	return b.store != nil && b.store.log.PendingFor() > d
}

func (b *Broker) persistAlarm() string {
	if b.storeAlarm != "" {
		return b.storeAlarm
	}
	if b.store == nil {
		return ""
	}
	if s := b.store.log.Stats(); s.Failed {
		return "failing: " + s.LastError
	}
	return b.store.alarm
}
