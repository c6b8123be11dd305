package persist_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"midge/persist"
	"midge/persist/fault"
)

// openState opens the harness's log, replaying it into a new state.
func (h *harness) openState(sync persist.SyncPolicy, mutate func(*persist.Options)) (*persist.Log, *state, []persist.Damage) {
	h.t.Helper()
	s := newState()
	opt := persist.Options{Dir: h.dir, Sync: sync, FS: h.fs, SegmentBytes: 1 << 20,
		Done: func(seq uint64) { h.mu.Lock(); h.done = seq; h.mu.Unlock() }}
	if mutate != nil {
		mutate(&opt)
	}
	l, damage, err := persist.Open(opt, s.apply)
	if err != nil {
		h.t.Fatal(err)
	}
	if len(s.errs) > 0 {
		h.t.Fatalf("replay: %s", strings.Join(s.errs, "; "))
	}
	return l, s, damage
}

// crash kills the process that has l open (kill -9): nothing it does from
// now on reaches the disk; what it wrote stays. It returns the sequence
// number the writer last reported written.
func (h *harness) crash(l *persist.Log) uint64 {
	h.fs = h.fs.Crash()
	l.Close() // stops the writer goroutine; its writes all fail now
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.done
}

func (h *harness) written() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.done
}

// checkDamage fails when a report names a lost range that is empty or
// reversed, or names one at all when nothing may be lost.
func checkDamage(t *testing.T, damage []persist.Damage, lossAllowed bool) {
	t.Helper()
	for _, d := range damage {
		if d.LostFrom > d.LostTo {
			t.Errorf("reversed lost range: %s", d)
		}
		if !lossAllowed && (d.LostTo != 0 || d.Quarantined != "") {
			t.Errorf("reported a loss where nothing was lost: %s", d)
		}
	}
}

// The disk fills while two durable sessions receive QoS 1 messages: a write
// is cut short by ENOSPC, the writer fails, space returns, the writer
// rewrites the batch into a new segment and the acknowledgements resume.
// Then the process is killed, recovered, killed again and recovered again.
// Both recoveries must bring back both sessions and every message the
// writer reported written, and neither may report anything lost: the
// segment the failed write left with a torn tail holds records (the
// sessions themselves) that exist nowhere else.
func TestENOSPCThenTwoCrashesKeepsSessions(t *testing.T) {
	h := newHarness(t)
	retry := func(o *persist.Options) { o.RetryDelay = 10 * time.Millisecond }
	l, _, _ := h.openState(persist.SyncInterval, retry)
	want := newState()
	var seq uint64
	add := func(typ byte, payload []byte) {
		seq = l.Append(typ, payload, len(payload))
		want.apply(persist.Record{Type: typ, Seq: seq, Payload: payload})
	}
	for _, c := range []string{"s1", "s2"} {
		add(persist.RecSessionPut, encSession(c, 3600))
	}
	l.Flush()
	h.waitDone(seq)

	h.fs.SetFree(96 << 10) // the disk fills after about 96 KiB more
	var mid uint64
	deadline := time.Now().Add(10 * time.Second)
	for !l.Stats().Failed {
		if mid > 20000 || time.Now().After(deadline) {
			t.Fatalf("the writer never failed (%d messages)", mid)
		}
		for i := 0; i < 8; i++ {
			mid++
			add(persist.RecMessage, encMessage(mid, fmt.Sprintf("%0100d", mid)))
			add(persist.RecDeliveryPut, encDelivery("s1", mid))
			add(persist.RecDeliveryPut, encDelivery("s2", mid))
		}
		l.Flush()
		// Wait for this batch to be written or for the writer to fail.
		for until := time.Now().Add(5 * time.Second); h.written() < seq && !l.Stats().Failed; {
			if time.Now().After(until) {
				t.Fatalf("batch up to %d neither written nor failed", seq)
			}
			time.Sleep(100 * time.Microsecond)
		}
	}
	stalled := h.written()
	h.fs.SetFree(-1) // space returns
	h.waitDone(seq)
	if l.Stats().Failed {
		t.Fatal("still failed after space returned")
	}
	acked := h.crash(l)
	reps, _ := persist.Check(h.dir, nil, nil)
	for _, r := range reps {
		if r.LostFrom != 0 || r.LostTo != 0 {
			t.Errorf("check reports sequence numbers %d-%d of %s lost", r.LostFrom, r.LostTo, r.Name)
		}
	}
	t.Logf("%d messages, acknowledgements stalled at record %d, %d records written before the crash", mid, stalled, acked)
	wantLive := want.live()

	for round := 1; round <= 2; round++ {
		l, got, damage := h.openState(persist.SyncInterval, retry)
		for _, d := range damage {
			t.Logf("recovery %d: %s", round, d)
		}
		checkDamage(t, damage, false)
		if got.live() != wantLive {
			t.Fatalf("recovery %d: %d sessions, %d and %d deliveries, want 2 sessions with %d deliveries each",
				round, len(got.sessions), len(got.deliveries["s1"]), len(got.deliveries["s2"]), mid)
		}
		if l.Seq() != acked {
			t.Fatalf("recovery %d: last record %d, want %d", round, l.Seq(), acked)
		}
		h.crash(l)
	}
}

// A bit flipped in the middle of an older segment loses that record and the
// rest of its segment, and only that: the records before it were replayed
// and are still there after the next crash, the lost range is exactly the
// cut-off records, and the cut-off bytes are saved to .corrupt. When even
// saving them fails (a full disk) the segment is left as it was, replays the
// same way, and is dealt with at the next start.
func TestDamagedOlderSegmentKeepsItsValidRecords(t *testing.T) {
	for _, full := range []bool{false, true} {
		t.Run(fmt.Sprint("disk-full-", full), func(t *testing.T) {
			h := newHarness(t)
			l, _, _ := h.openState(persist.SyncAlways, func(o *persist.Options) { o.SegmentBytes = 300 })
			for i := 0; i < 40; i++ {
				seq := l.Append(persist.RecSessionPut, encSession(fmt.Sprintf("c%03d", i), uint64(i)), 0)
				l.Flush()
				h.waitDone(seq)
			}
			l.Close()
			const recLen = 27
			reps, err := persist.Check(h.dir, nil, nil)
			if err != nil || len(reps) < 3 || reps[1].Records < 8 || reps[1].Bytes != int64(reps[1].Records)*recLen {
				t.Fatalf("segments %+v, %v", reps, err)
			}
			seg := filepath.Join(h.dir, reps[1].Name)
			fault.FlipBit(seg, 5*recLen+recLen-2)
			lostFrom, lostTo := reps[1].FirstSeq+5, reps[1].LastSeq
			want := func(s *state) {
				t.Helper()
				for i := uint64(0); i < 40; i++ {
					_, ok := s.sessions[fmt.Sprintf("c%03d", i)]
					if lost := i+1 >= lostFrom && i+1 <= lostTo; ok == lost {
						t.Fatalf("record %d: recovered %v", i+1, ok)
					}
				}
			}
			if reps, _ := persist.Check(h.dir, nil, nil); reps[1].LostFrom != lostFrom || reps[1].LostTo != lostTo {
				t.Fatalf("check: %+v, want sequence numbers %d-%d lost", reps[1], lostFrom, lostTo)
			}
			if full {
				h.fs.SetFree(0)
			}
			l, s, damage := h.openState(persist.SyncInterval, nil)
			if len(damage) != 1 || damage[0].LostFrom != lostFrom || damage[0].LostTo != lostTo || damage[0].Kept != full {
				t.Fatalf("damage %+v, want sequence numbers %d-%d lost", damage, lostFrom, lostTo)
			}
			want(s)
			h.crash(l)
			h.fs.SetFree(-1)
			l, s, damage = h.openState(persist.SyncInterval, nil)
			if full != (len(damage) == 1) {
				t.Fatalf("second recovery: damage %v", damage)
			}
			want(s)
			l.Close()
			tail, err := os.ReadFile(seg + ".corrupt")
			if err != nil || len(tail) != int(lostTo-lostFrom+1)*recLen {
				t.Fatalf(".corrupt holds %d bytes (%v), want the %d cut-off records", len(tail), err, lostTo-lostFrom+1)
			}
			if st, err := os.Stat(seg); err != nil || st.Size() != 5*recLen {
				t.Fatalf("damaged segment not cut at its bad record: %v", err)
			}
		})
	}
}

// A disk that is full (or failing) when the log opens does not make Open
// fail, which would run the broker without persistence for good: the log
// opens failed, with what it recovered, and the first write that succeeds
// starts a segment.
func TestOpenWithFullDisk(t *testing.T) {
	for _, f := range []*fault.Fault{
		{Op: fault.OpCreate, N: 1, Err: syscall.ENOSPC},
		{Op: fault.OpSyncDir, N: 1, Err: syscall.EIO},
	} {
		t.Run(string(f.Op), func(t *testing.T) {
			h := newHarness(t)
			retry := func(o *persist.Options) { o.RetryDelay = time.Millisecond; o.SegmentBytes = 20 }
			l, _, _ := h.openState(persist.SyncAlways, retry)
			seq := l.Append(persist.RecSessionPut, encSession("s1", 3600), 0)
			l.Flush()
			h.waitDone(seq) // fills the segment: the next open starts one
			l.Close()
			h.fs.Arm(f)
			l, s, _ := h.openState(persist.SyncAlways, retry)
			if !l.Stats().Failed || len(s.sessions) != 1 {
				t.Fatalf("stats %+v, %d sessions", l.Stats(), len(s.sessions))
			}
			seq = l.Append(persist.RecSessionPut, encSession("s2", 60), 0)
			l.Flush()
			h.waitDone(seq)
			if l.Stats().Failed {
				t.Fatal("still failed after a write")
			}
			h.crash(l)
			l, s, _ = h.openState(persist.SyncAlways, nil)
			if len(s.sessions) != 2 {
				t.Fatalf("%d sessions recovered", len(s.sessions))
			}
			l.Close()
		})
	}
}

// When recovery cannot repair a damaged segment (the truncation or the
// removal fails: a failing device) Open still succeeds: the segment is left
// as it was and replays the same way, a newest one is not appended to (new
// records go to a new segment), and the next start repairs it. Nothing
// replayed or acknowledged is lost on the way.
func TestRepairFailureStillOpens(t *testing.T) {
	for _, tc := range []struct {
		name   string
		op     fault.Op
		damage func(dir string, reps []persist.SegmentReport)
	}{
		{"older-torn-tail", fault.OpTruncate, func(dir string, reps []persist.SegmentReport) {
			fault.ZeroTail(filepath.Join(dir, reps[0].Name), 7)
		}},
		{"newest-torn-tail", fault.OpTruncate, func(dir string, reps []persist.SegmentReport) {
			fault.ZeroTail(filepath.Join(dir, reps[len(reps)-1].Name), 7)
		}},
		{"garbage-segment", fault.OpRemove, func(dir string, reps []persist.SegmentReport) {
			// Between two segments, holding nothing valid: nothing lost.
			name := fmt.Sprintf("%020d.seg", reps[0].LastSeq)
			os.WriteFile(filepath.Join(dir, name), []byte("not a record"), 0o600)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			opts := func(o *persist.Options) { o.SegmentBytes = 200 }
			l, _, _ := h.openState(persist.SyncAlways, opts)
			want := newState()
			add := func(typ byte, payload []byte) {
				seq := l.Append(typ, payload, 0)
				want.apply(persist.Record{Type: typ, Seq: seq, Payload: payload})
				l.Flush()
				h.waitDone(seq)
			}
			add(persist.RecSessionPut, encSession("s1", 3600))
			for mid := uint64(1); mid <= 20; mid++ {
				add(persist.RecDeliveryPut, encDelivery("s1", mid))
			}
			l.Close()
			reps, err := persist.Check(h.dir, nil, nil)
			if err != nil || len(reps) < 3 {
				t.Fatalf("segments %v: %v", reps, err)
			}
			tc.damage(h.dir, reps)
			h.fs.Arm(&fault.Fault{Op: tc.op, N: 1, Err: syscall.EIO})
			l, got, damage := h.openState(persist.SyncAlways, opts)
			if len(damage) != 1 || !damage[0].Kept || damage[0].LostFrom != 0 {
				t.Fatalf("damage %v", damage)
			}
			if got.live() != want.live() {
				t.Fatalf("recovered %s, want %s", got.live(), want.live())
			}
			add(persist.RecSessionPut, encSession("s2", 60))
			add(persist.RecDeliveryPut, encDelivery("s2", 21))
			h.crash(l)
			for round := 1; round <= 2; round++ {
				l, got, damage := h.openState(persist.SyncAlways, opts)
				checkDamage(t, damage, false)
				if len(damage) != 2-round || (round == 1 && damage[0].Kept) {
					t.Fatalf("recovery %d: damage %v", round, damage)
				}
				if got.live() != want.live() {
					t.Fatalf("recovery %d: recovered %s, want %s", round, got.live(), want.live())
				}
				h.crash(l)
			}
		})
	}
}
