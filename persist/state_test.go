package persist_test

import (
	"fmt"
	"sort"
	"strings"

	"midge/persist"
)

// state is the broker-like state a test workload's records describe:
// durable sessions, message bodies, and per-session deliveries (queued QoS 1
// messages), with the payloads of FORMAT.md. Replaying a log into it also
// checks that recovery hands every record over once, in sequence order.
type state struct {
	sessions   map[string]uint64            // client id -> expiry interval
	messages   map[uint64]string            // message id -> payload
	deliveries map[string]map[uint64]bool   // client id -> message ids
	sent       map[string]map[uint64]uint64 // client id -> message id -> packet id
	last       uint64                       // last sequence number applied
	errs       []string                     // replay anomalies
}

func newState() *state {
	return &state{sessions: map[string]uint64{}, messages: map[uint64]string{},
		deliveries: map[string]map[uint64]bool{}, sent: map[string]map[uint64]uint64{}}
}

func (s *state) errorf(format string, args ...any) {
	if len(s.errs) < 10 {
		s.errs = append(s.errs, fmt.Sprintf(format, args...))
	}
}

func (s *state) apply(r persist.Record) {
	if r.Seq <= s.last {
		s.errorf("record %d replayed after %d", r.Seq, s.last)
	}
	s.last = r.Seq
	d := persist.Dec{B: r.Payload}
	switch r.Type {
	case persist.RecSessionPut:
		c := d.String()
		d.Byte()
		s.sessions[c] = d.Uint()
	case persist.RecSessionDel:
		c := d.String()
		delete(s.sessions, c)
		delete(s.deliveries, c)
		delete(s.sent, c)
	case persist.RecMessage:
		mid := d.Uint()
		d.Byte()
		d.Uint()
		d.Bytes() // topic
		d.Bytes() // properties
		p := d.String()
		if _, dup := s.messages[mid]; dup {
			s.errorf("record %d: message %d stored twice", r.Seq, mid)
		}
		s.messages[mid] = p
	case persist.RecDeliveryPut:
		c, mid := d.String(), d.Uint()
		if _, ok := s.sessions[c]; !ok {
			s.errorf("record %d: delivery of %d for %s, a session that does not exist", r.Seq, mid, c)
		}
		if s.deliveries[c][mid] {
			s.errorf("record %d: delivery of %d to %s stored twice", r.Seq, mid, c)
		}
		if s.deliveries[c] == nil {
			s.deliveries[c] = map[uint64]bool{}
		}
		s.deliveries[c][mid] = true
	case persist.RecDeliveryDel:
		c, mid := d.String(), d.Uint()
		delete(s.deliveries[c], mid)
		delete(s.sent[c], mid)
	case persist.RecDeliverySent:
		c, mid, pid := d.String(), d.Uint(), d.Uint()
		if s.sent[c] == nil {
			s.sent[c] = map[uint64]uint64{}
		}
		s.sent[c][mid] = pid
	}
	if d.Err != nil {
		s.errorf("record %d (type %d): bad payload", r.Seq, r.Type)
	}
}

// live is the state as a canonical string: sessions, and for each its
// deliveries with the message body they refer to (bodies nothing refers
// to are garbage and not part of it).
func (s *state) live() string {
	var b strings.Builder
	ids := make([]string, 0, len(s.sessions))
	for c := range s.sessions {
		ids = append(ids, c)
	}
	sort.Strings(ids)
	for _, c := range ids {
		fmt.Fprintf(&b, "session %s expiry %d:", c, s.sessions[c])
		mids := make([]uint64, 0, len(s.deliveries[c]))
		for mid := range s.deliveries[c] {
			mids = append(mids, mid)
		}
		sort.Slice(mids, func(i, j int) bool { return mids[i] < mids[j] })
		for _, mid := range mids {
			body, ok := s.messages[mid]
			if !ok {
				body = "<no body>"
			}
			fmt.Fprintf(&b, " %d=%s", mid, body)
			if pid, ok := s.sent[c][mid]; ok {
				fmt.Fprintf(&b, "/sent%d", pid)
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// snapshot adds the live state to snap as records, as the broker's
// compaction does.
func (s *state) snapshot(snap *persist.Snapshot) {
	ids := make([]string, 0, len(s.sessions))
	for c := range s.sessions {
		ids = append(ids, c)
	}
	sort.Strings(ids)
	seen := map[uint64]bool{}
	for _, c := range ids {
		snap.Add(persist.RecSessionPut, encSession(c, s.sessions[c]))
		mids := make([]uint64, 0, len(s.deliveries[c]))
		for mid := range s.deliveries[c] {
			mids = append(mids, mid)
		}
		sort.Slice(mids, func(i, j int) bool { return mids[i] < mids[j] })
		for _, mid := range mids {
			if !seen[mid] {
				seen[mid] = true
				snap.Add(persist.RecMessage, encMessage(mid, s.messages[mid]))
			}
			snap.Add(persist.RecDeliveryPut, encDelivery(c, mid))
			if pid, ok := s.sent[c][mid]; ok {
				snap.Add(persist.RecDeliverySent, encSent(c, mid, pid))
			}
		}
	}
}

func encSession(c string, expiry uint64) []byte {
	var e persist.Enc
	e.String(c)
	e.Byte(5)
	e.Uint(expiry)
	return e.B
}

func encSessionDel(c string) []byte {
	var e persist.Enc
	e.String(c)
	return e.B
}

func encMessage(mid uint64, payload string) []byte {
	var e persist.Enc
	e.Uint(mid)
	e.Byte(1)
	e.Uint(0)
	e.String("sensors/temperature")
	e.Bytes(nil)
	e.String(payload)
	return e.B
}

func encDelivery(c string, mid uint64) []byte {
	var e persist.Enc
	e.String(c)
	e.Uint(mid)
	e.Byte(1)
	e.Byte(0)
	e.Uint(0)
	return e.B
}

func encDeliveryDel(c string, mid uint64) []byte {
	var e persist.Enc
	e.String(c)
	e.Uint(mid)
	return e.B
}

func encSent(c string, mid, pid uint64) []byte {
	var e persist.Enc
	e.String(c)
	e.Uint(mid)
	e.Uint(pid)
	e.Byte(1)
	return e.B
}
