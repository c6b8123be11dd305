package persist_test

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"midge/persist"
	"midge/persist/fault"
)

// The writer takes a batch, a compaction and a later batch in one go (the
// device was slow, the loop went on) and the first write fails. The
// batches must still reach the log in order, the later one be reported
// written, and a crash then recover all of it, whether the compaction
// succeeds or fails too.
func TestFailedWriteBeforeCompactionKeepsOrder(t *testing.T) {
	for _, compactionFails := range []bool{false, true} {
		t.Run(fmt.Sprint("compaction-fails-", compactionFails), func(t *testing.T) {
			h := newHarness(t)
			l, _, _ := h.openState(persist.SyncAlways, func(o *persist.Options) {
				o.RetryDelay = time.Millisecond
				o.Failpoint = func(step string) error {
					if compactionFails && step == "tmp-written" {
						return fmt.Errorf("compaction stopped at %s", step)
					}
					return nil
				}
			})
			want := newState()
			add := func(typ byte, payload []byte) uint64 {
				seq := l.Append(typ, payload, 0)
				want.apply(persist.Record{Type: typ, Seq: seq, Payload: payload})
				return seq
			}
			add(persist.RecSessionPut, encSession("s1", 3600))
			gate := make(chan struct{})
			h.fs.Arm(&fault.Fault{Op: fault.OpWrite, N: 1, Hold: gate})
			h.fs.Arm(&fault.Fault{Op: fault.OpWrite, N: 2, Err: syscall.ENOSPC, Keep: 25})
			l.Flush()
			for until := time.Now().Add(5 * time.Second); h.fs.Count(fault.OpWrite) < 1; {
				if time.Now().After(until) {
					t.Fatal("the first batch was never written")
				}
				time.Sleep(50 * time.Microsecond)
			}
			// The writer is now held in that write: what follows queues up.
			for mid := uint64(1); mid <= 20; mid++ {
				add(persist.RecMessage, encMessage(mid, "v"))
				add(persist.RecDeliveryPut, encDelivery("s1", mid))
			}
			for mid := uint64(1); mid <= 15; mid++ {
				add(persist.RecDeliveryDel, encDeliveryDel("s1", mid))
			}
			l.Flush()
			snap := l.NewSnapshot()
			want.snapshot(snap)
			res := l.Compact(snap)
			add(persist.RecSessionPut, encSession("s2", 60))
			add(persist.RecMessage, encMessage(21, "w"))
			last := add(persist.RecDeliveryPut, encDelivery("s2", 21))
			l.Flush()
			close(gate)
			for until := time.Now().Add(2 * time.Second); h.written() < last; time.Sleep(100 * time.Microsecond) {
				if time.Now().After(until) {
					t.Errorf("records up to %d never reported written (at %d)", last, h.written())
					break
				}
			}
			if err := <-res; (err != nil) != compactionFails {
				t.Errorf("compaction: %v", err)
			}
			h.crash(l)
			l, got, _ := h.openState(persist.SyncInterval, nil)
			if g, w := got.live(), want.live(); g != w {
				t.Fatalf("recovered\n%s\nwant\n%s", g, w)
			}
			l.Close()
		})
	}
}

// StoreBytes (which drives compaction and the store cap) stays the size of
// the segments on disk through failed fsyncs and directory fsyncs,
// including a rotation fsync failing in a segment never synced, which the
// writer starts again under the same name.
func TestStoreBytesThroughFailures(t *testing.T) {
	for _, op := range []fault.Op{fault.OpSync, fault.OpSyncDir} {
		for n := 1; n <= 4; n++ {
			t.Run(fmt.Sprint(op, n), func(t *testing.T) {
				h := newHarness(t)
				l, _, _ := h.openState(persist.SyncInterval, func(o *persist.Options) {
					o.RetryDelay = time.Millisecond
					o.SegmentBytes = 600
					o.SyncInterval = time.Hour
				})
				h.fs.Arm(&fault.Fault{Op: op, N: n, Err: syscall.EIO})
				for mid := uint64(1); mid <= 40; mid++ {
					seq := l.Append(persist.RecMessage, encMessage(mid, "payload"), 7)
					l.Flush()
					h.waitDone(seq)
				}
				l.Close()
				var disk int64
				names, _ := filepath.Glob(filepath.Join(h.dir, "*.seg"))
				for _, name := range names {
					st, err := os.Stat(name)
					if err != nil {
						t.Fatal(err)
					}
					disk += st.Size()
				}
				if got := l.Stats().StoreBytes; got != disk {
					t.Fatalf("StoreBytes %d, segments on disk %d bytes", got, disk)
				}
			})
		}
	}
}

// Under "interval" a segment can hold only records written since the last
// fsync, all of them reported written. When a write then fails, the retry
// starts a new segment with those records again; it must not take the name
// of the segment it leaves (Create would empty it, and a kill before the
// rewrite lands would lose what was acknowledged).
func TestRetryKeepsTheSegmentItLeaves(t *testing.T) {
	h := newHarness(t)
	opts := func(o *persist.Options) {
		o.RetryDelay = time.Millisecond
		o.SegmentBytes = 200
		o.SyncInterval = time.Hour
	}
	l, _, _ := h.openState(persist.SyncInterval, opts)
	want := newState()
	var seq uint64
	add := func(typ byte, payload []byte) {
		seq = l.Append(typ, payload, 0)
		want.apply(persist.Record{Type: typ, Seq: seq, Payload: payload})
		l.Flush()
		h.waitDone(seq)
	}
	add(persist.RecSessionPut, encSession("s1", 3600))
	for mid := uint64(1); mid <= 12; mid++ { // past the first rotation
		add(persist.RecDeliveryPut, encDelivery("s1", mid))
	}
	h.fs.Arm(&fault.Fault{Op: fault.OpWrite, N: 1, Err: syscall.ENOSPC})
	h.fs.Arm(&fault.Fault{Op: fault.OpWrite, N: 2, Err: syscall.ENOSPC, Crash: true})
	l.Append(persist.RecDeliveryPut, encDelivery("s1", 13), 0)
	l.Flush()
	for until := time.Now().Add(5 * time.Second); !h.fs.Crashed(); time.Sleep(100 * time.Microsecond) {
		if time.Now().After(until) {
			t.Fatal("the retry never came")
		}
	}
	if acked := h.crash(l); acked != seq {
		t.Fatalf("acknowledged %d, want %d", acked, seq)
	}
	l, got, _ := h.openState(persist.SyncInterval, opts)
	if g, w := got.live(), want.live(); g != w {
		t.Fatalf("recovered\n%s\nwant\n%s", g, w)
	}
	l.Close()
}
