package persist_test

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"midge/persist"
	"midge/persist/fault"
)

// The fault-injection suite: a workload that creates durable sessions,
// queues QoS 1 messages to them, acknowledges and sends some, deletes a
// session and compacts twice, run once per fault point: ENOSPC and EIO at
// every write (whole or cut short), fsync, directory fsync and file
// creation it does, under each sync policy. Each run goes on after the fault (the writer retries)
// or dies at it (or the disk fills, with the repair of what that leaves
// failing or not), then crashes and recovers, writes a little more, and
// crashes and recovers again. After each recovery the durability contract
// (doc.go) is checked against a model of what the writer acknowledged:
//
//   - every record the writer reported written (Done) is recovered, under
//     sync "always" even across a power cut;
//   - recovery returns exactly the state of a prefix of what was appended:
//     each record once, in order, nothing after a gap;
//   - everything one recovery returned is still there at the next;
//   - no damage report claims a loss (nothing here can lose an
//     acknowledged record).

// faultRun is one run of the workload.
type faultRun struct {
	t     *testing.T
	h     *harness
	sync  persist.SyncPolicy
	l     *persist.Log
	hist  []persist.Record // every record appended; hist[i].Seq == i+1
	cur   *state           // the state hist describes
	mid   uint64           // last message id used (never reused)
	pid   uint64
	acked uint64 // the last record the writer reported written before the crash
	// the operations of the first and second process and the bytes the
	// first wrote (for the sweep)
	firstOps, secondOps map[fault.Op]int
	firstBytes          uint64
	// a fault for the second process (its recovery, then more writes)
	second *fault.Fault
	// disk-full runs: the FS holds only free more bytes (< 0: no limit);
	// once the writer fails the workload goes on without waiting for
	// stuck steps, then space returns (or, with die, the process dies)
	free    int64
	die     bool
	stuck   int
	pending []<-chan error // compactions not waited for
}

const stuckSteps = 3

func (r *faultRun) options(o *persist.Options) {
	o.SegmentBytes = 2048
	o.BatchDelay = 20 * time.Microsecond
	o.RetryDelay = 200 * time.Microsecond
	o.SyncInterval = time.Hour // only the first write, a rotation, a compaction and Close fsync
}

// open recovers the log and checks the recovered state against the model.
func (r *faultRun) open(phase string) {
	t := r.t
	t.Helper()
	l, got, damage := r.h.openState(r.sync, r.options)
	for _, d := range damage {
		t.Logf("%s: %s", phase, d)
	}
	checkDamage(t, damage, false)
	k, acked := l.Seq(), r.acked
	if k < acked || k > uint64(len(r.hist)) {
		reps, _ := persist.Check(r.h.dir, nil, nil)
		for _, rep := range reps {
			t.Logf("%+v", rep)
		}
		t.Fatalf("%s: recovered up to record %d; %d were acknowledged, %d appended", phase, k, acked, len(r.hist))
	}
	r.hist = r.hist[:k]
	r.cur = newState()
	for _, rec := range r.hist {
		r.cur.apply(rec)
	}
	if g, w := got.live(), r.cur.live(); g != w {
		t.Fatalf("%s: recovered state differs from the first %d records' state:\n got %s\nwant %s", phase, k, g, w)
	}
	r.l = l
}

func (r *faultRun) add(typ byte, payload []byte) {
	seq := r.l.Append(typ, payload, len(payload))
	rec := persist.Record{Type: typ, Seq: seq, Payload: payload}
	if seq != uint64(len(r.hist))+1 {
		r.t.Fatalf("append returned record %d after %d", seq, len(r.hist))
	}
	r.hist = append(r.hist, rec)
	r.cur.apply(rec)
}

// flush hands the batch to the writer and waits until it is written or the
// process died; it reports whether the process lives. In a disk-full run,
// once the writer failed, the next steps do not wait (the broker's loop goes
// on while the writer is stuck), then space returns.
func (r *faultRun) flush() bool {
	r.l.Flush()
	seq := uint64(len(r.hist))
	for until := time.Now().Add(10 * time.Second); r.h.written() < seq; {
		if r.h.fs.Crashed() {
			return false
		}
		r.l.PendingFor() // the loop asks this every tick (the watchdog)
		if r.free >= 0 && (r.stuck > 0 || r.l.Stats().Failed) {
			if r.stuck++; r.stuck <= stuckSteps {
				return true
			}
			if r.die {
				r.h.fs.Crash()
				return false
			}
			r.free = -1
			r.h.fs.SetFree(-1)
		}
		if time.Now().After(until) {
			r.t.Fatalf("record %d never written: %+v", seq, r.l.Stats())
		}
		time.Sleep(20 * time.Microsecond)
	}
	return !r.h.fs.Crashed()
}

// compact compacts the log to the model's state; it reports whether the
// process lives. A failed compaction is not an error here. In a disk-full
// run it does not wait.
func (r *faultRun) compact() bool {
	snap := r.l.NewSnapshot()
	r.cur.snapshot(snap)
	r.pending = append(r.pending, r.l.Compact(snap))
	if r.free >= 0 {
		return true
	}
	return r.settle()
}

// settle waits for the compactions handed over; it reports whether the
// process lives.
func (r *faultRun) settle() bool {
	for until := time.Now().Add(10 * time.Second); len(r.pending) > 0; {
		select {
		case <-r.pending[0]:
			r.pending = r.pending[1:]
			continue
		default:
		}
		if r.h.fs.Crashed() {
			return false
		}
		if time.Now().After(until) {
			r.t.Fatal("compaction never finished")
		}
		time.Sleep(20 * time.Microsecond)
	}
	return !r.h.fs.Crashed()
}

// oldest is the lowest message id queued for c.
func (r *faultRun) oldest(c string) (uint64, bool) {
	var min uint64
	for mid := range r.cur.deliveries[c] {
		if min == 0 || mid < min {
			min = mid
		}
	}
	return min, min != 0
}

func (r *faultRun) message(clients ...string) {
	r.mid++
	r.add(persist.RecMessage, encMessage(r.mid, fmt.Sprintf("m%d-%s", r.mid, strings.Repeat("x", 150))))
	for _, c := range clients {
		if _, ok := r.cur.sessions[c]; ok {
			r.add(persist.RecDeliveryPut, encDelivery(c, r.mid))
		}
	}
}

func (r *faultRun) ack(c string) {
	if mid, ok := r.oldest(c); ok {
		r.add(persist.RecDeliveryDel, encDeliveryDel(c, mid))
	}
}

func (r *faultRun) send(c string) {
	for mid := range r.cur.deliveries[c] {
		if _, sent := r.cur.sent[c][mid]; !sent {
			r.pid++
			r.add(persist.RecDeliverySent, encSent(c, mid, r.pid))
			return
		}
	}
}

// workload is the first process's work; it stops where the process dies.
func (r *faultRun) workload() {
	for _, c := range []string{"s1", "s2", "s3"} {
		r.add(persist.RecSessionPut, encSession(c, 3600))
	}
	if !r.flush() {
		return
	}
	for i := 1; i <= 12; i++ {
		r.message("s1", "s2", "s3", "s4")
		r.ack("s1")
		if i > 2 {
			r.ack("s2")
		}
		if i%3 == 0 {
			r.send("s2")
		}
		switch i {
		case 4:
			r.add(persist.RecSessionDel, encSessionDel("s3"))
		case 5:
			r.add(persist.RecSessionPut, encSession("s4", 60))
		}
		if !r.flush() {
			return
		}
		if i == 5 && !r.compact() {
			return
		}
		if i == 8 && !r.burst() {
			return
		}
	}
	if r.free >= 0 {
		r.h.fs.SetFree(-1) // space returns
		r.free = -1
		if !r.flush() {
			return
		}
	}
	r.settle()
}

// burst is a slow write during which the loop hands over more batches, a
// compaction and a later batch, so the writer takes them in one go (the
// case where a failure must keep them in order); it reports whether the
// process lives.
func (r *faultRun) burst() bool {
	gate := make(chan struct{})
	r.h.fs.Arm(&fault.Fault{Op: fault.OpWrite, N: 1, Hold: gate})
	n := r.h.fs.Count(fault.OpWrite)
	r.message("s1", "s2", "s4")
	r.l.Flush()
	for until := time.Now().Add(2 * time.Second); r.h.fs.Count(fault.OpWrite) == n && !r.h.fs.Crashed() && time.Now().Before(until); {
		time.Sleep(20 * time.Microsecond) // until the writer is in that write
	}
	for j := 0; j < 2; j++ {
		r.message("s1", "s2", "s4")
		r.ack("s1")
		r.l.Flush()
	}
	snap := r.l.NewSnapshot()
	r.cur.snapshot(snap)
	r.pending = append(r.pending, r.l.Compact(snap))
	r.message("s1", "s2", "s4")
	close(gate)
	if !r.flush() {
		return false
	}
	if r.free >= 0 {
		return true
	}
	return r.settle()
}

// more is what the process after the first recovery does.
func (r *faultRun) more() {
	for i := 0; i < 3; i++ {
		r.message("s1", "s2", "s4", "s5")
		r.ack("s2")
		if i == 1 {
			r.add(persist.RecSessionPut, encSession("s5", 7200))
		}
		if !r.flush() {
			return
		}
	}
}

// crash kills the process; under sync "always" the power is cut too, which
// must lose nothing acknowledged either.
func (r *faultRun) crash() {
	r.acked = r.h.crash(r.l)
	if r.sync == persist.SyncAlways {
		r.h.fs.PowerCut(0)
	}
}

func (r *faultRun) ops() map[fault.Op]int {
	m := map[fault.Op]int{}
	for _, op := range []fault.Op{fault.OpWrite, fault.OpSync, fault.OpSyncDir, fault.OpCreate} {
		m[op] = r.h.fs.Count(op)
	}
	return m
}

func (r *faultRun) run() {
	r.cur = newState()
	r.l, _, _ = r.h.openState(r.sync, r.options)
	r.h.fs.SetFree(r.free)
	r.workload()
	r.firstOps = r.ops()
	r.firstBytes = r.l.Stats().BytesWritten
	r.crash()
	if r.second != nil {
		r.h.fs.Arm(r.second)
	}
	r.open("first recovery")
	r.more()
	r.secondOps = r.ops()
	r.crash()
	r.open("second recovery")
	r.l.Close()
}

func TestFaultInjection(t *testing.T) {
	type point struct {
		op   fault.Op
		errs []error
		keep []int // for writes: bytes written before the error
	}
	points := []point{
		{fault.OpWrite, []error{syscall.ENOSPC}, []int{0, 30}}, // a full disk: nothing or part written
		{fault.OpWrite, []error{syscall.EIO}, []int{0}},
		{fault.OpSync, []error{syscall.ENOSPC, syscall.EIO}, []int{0}},
		{fault.OpSyncDir, []error{syscall.EIO}, []int{0}},
		{fault.OpCreate, []error{syscall.ENOSPC}, []int{0}},
	}
	start := time.Now()
	runs := 0
	for _, sync := range []persist.SyncPolicy{persist.SyncAlways, persist.SyncInterval, persist.SyncNever} {
		name := map[persist.SyncPolicy]string{persist.SyncAlways: "always", persist.SyncInterval: "interval", persist.SyncNever: "never"}[sync]
		// Every point under "always" and "interval"; every other one under
		// "never", which differs from "interval" only in its fewer fsyncs;
		// every third with -short.
		stride := 1
		if sync == persist.SyncNever {
			stride = 2
		}
		if testing.Short() {
			stride = 3
		}
		// A run without faults, which also counts the operations of the
		// first process: the points to fail.
		clean := &faultRun{t: t, h: newHarness(t), sync: sync, free: -1}
		clean.run()
		total := clean.firstBytes
		for proc, counts := range []map[fault.Op]int{clean.firstOps, clean.secondOps} {
			t.Logf("sync %s, process %d: %d writes, %d fsyncs, %d directory fsyncs, %d creates", name, proc+1,
				counts[fault.OpWrite], counts[fault.OpSync], counts[fault.OpSyncDir], counts[fault.OpCreate])
			for _, p := range points {
				for n := 1; n <= counts[p.op]; n++ {
					if n%stride != 0 {
						continue
					}
					for _, e := range p.errs {
						for _, keep := range p.keep {
							for _, die := range []bool{false, true} {
								label := fmt.Sprintf("%s/process%d-%s-%d-%s-keep%d-die%v", name, proc+1, p.op, n, errName(e), keep, die)
								t.Run(label, func(t *testing.T) {
									r := &faultRun{t: t, h: newHarness(t), sync: sync, free: -1}
									f := &fault.Fault{Op: p.op, N: n, Err: e, Keep: keep, Crash: die}
									if proc == 0 {
										r.h.fs.Arm(f)
									} else {
										r.second = f
									}
									r.run()
									if !f.Fired {
										t.Fatalf("fault never fired")
									}
								})
								runs++
							}
						}
					}
				}
			}
		}
		// The disk fills at a point of the workload, and space returns
		// a few steps later, or the process dies while the writer is stuck;
		// and the first recovery can or cannot truncate what that left.
		const fills = 24
		for i := 0; i < fills; i++ {
			if i%stride != 0 {
				continue
			}
			free := int64(total) * int64(i) / fills
			for _, die := range []bool{false, true} {
				for _, repair := range []bool{true, false} {
					t.Run(fmt.Sprintf("%s/disk-full-after-%d-die%v-repair%v", name, free, die, repair), func(t *testing.T) {
						r := &faultRun{t: t, h: newHarness(t), sync: sync, free: free, die: die}
						if !repair { // the first recovery cannot cut what the full disk left torn
							r.second = &fault.Fault{Op: fault.OpTruncate, N: 1, Err: syscall.EIO}
						}
						r.run()
					})
					runs++
				}
			}
		}
	}
	t.Logf("%d fault runs in %v", runs, time.Since(start).Round(time.Millisecond))
}

func errName(err error) string {
	var e syscall.Errno
	if errors.As(err, &e) {
		switch e {
		case syscall.ENOSPC:
			return "ENOSPC"
		case syscall.EIO:
			return "EIO"
		}
	}
	return err.Error()
}
