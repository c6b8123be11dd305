package persist_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"midge/persist"
	"midge/persist/fault"
)

// model is the state the test records describe: key -> value, from
// session-put (key, value) and session-del (key) records.
type model map[string]string

func (m model) apply(r persist.Record) {
	d := persist.Dec{B: r.Payload}
	switch r.Type {
	case persist.RecSessionPut:
		k := d.String()
		m[k] = d.String()
	case persist.RecSessionDel:
		delete(m, d.String())
	}
}

func put(k, v string) []byte {
	var e persist.Enc
	e.String(k)
	e.String(v)
	return e.B
}

func del(k string) []byte {
	var e persist.Enc
	e.String(k)
	return e.B
}

type harness struct {
	t    *testing.T
	dir  string
	fs   *fault.FS
	mu   sync.Mutex
	done uint64
}

func newHarness(t *testing.T) *harness {
	return &harness{t: t, dir: t.TempDir(), fs: fault.New()}
}

func (h *harness) open(sync persist.SyncPolicy, mutate func(*persist.Options)) (*persist.Log, model, []persist.Damage) {
	h.t.Helper()
	m := model{}
	opt := persist.Options{Dir: h.dir, Sync: sync, FS: h.fs, SegmentBytes: 1 << 20,
		Done: func(seq uint64) { h.mu.Lock(); h.done = seq; h.mu.Unlock() }}
	if mutate != nil {
		mutate(&opt)
	}
	l, damage, err := persist.Open(opt, m.apply)
	if err != nil {
		h.t.Fatal(err)
	}
	return l, m, damage
}

func (h *harness) waitDone(seq uint64) {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		h.mu.Lock()
		d := h.done
		h.mu.Unlock()
		if d >= seq {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("records up to %d never reported written (at %d)", seq, d)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestAppendReopen(t *testing.T) {
	h := newHarness(t)
	l, m, _ := h.open(persist.SyncInterval, nil)
	if len(m) != 0 {
		t.Fatal("new store not empty")
	}
	for i := 0; i < 1000; i++ {
		l.Append(persist.RecSessionPut, put(fmt.Sprint(i%100), fmt.Sprint(i)), 4)
		if i%7 == 0 {
			l.Flush()
		}
	}
	l.Append(persist.RecSessionDel, del("5"), 0)
	l.Flush()
	h.waitDone(1001)
	l.Close()
	_, m, damage := h.open(persist.SyncInterval, nil)
	if len(damage) != 0 || len(m) != 99 || m["7"] != "907" || m["5"] != "" {
		t.Fatalf("damage %v, %d keys, 7=%q", damage, len(m), m["7"])
	}
}

// A power cut tears the unsynced tail at every possible byte: every synced
// record survives, the torn record is dropped and reported, and the log
// keeps working.
func TestTornTailAtEveryOffset(t *testing.T) {
	base := newHarness(t)
	l, _, _ := base.open(persist.SyncAlways, nil)
	for i := 0; i < 10; i++ {
		l.Append(persist.RecSessionPut, put(fmt.Sprint("k", i), "synced"), 6)
	}
	l.Flush()
	base.waitDone(10)
	l.Close()
	l, _, _ = base.open(persist.SyncNever, nil)
	for i := 0; i < 3; i++ {
		l.Append(persist.RecSessionPut, put(fmt.Sprint("u", i), "unsynced"), 8)
	}
	l.Flush()
	base.waitDone(13)
	l.Close()
	seg := filepath.Join(base.dir, "00000000000000000001.seg")
	tail := base.fs.Unsynced(seg)
	if tail == 0 {
		t.Fatal("nothing unsynced")
	}
	orig, _ := os.ReadFile(seg)
	for k := int64(0); k <= tail; k++ {
		h := newHarness(t)
		os.WriteFile(filepath.Join(h.dir, "00000000000000000001.seg"), orig[:int64(len(orig))-tail+k], 0o600)
		l, m, damage := h.open(persist.SyncInterval, nil)
		for i := 0; i < 10; i++ {
			if m[fmt.Sprint("k", i)] != "synced" {
				t.Fatalf("cut at %d: synced record %d lost", k, i)
			}
		}
		whole := 0
		for i := 0; i < 3; i++ {
			if m[fmt.Sprint("u", i)] == "unsynced" {
				whole++
			}
		}
		recLen := tail / 3
		if int64(whole) != k/recLen {
			t.Fatalf("cut at %d: %d whole unsynced records recovered, want %d", k, whole, k/recLen)
		}
		if (k%recLen != 0) != (len(damage) == 1) {
			t.Fatalf("cut at %d: damage %v", k, damage)
		}
		seq := l.Append(persist.RecSessionPut, put("after", "ok"), 2)
		l.Flush()
		h.waitDone(seq)
		l.Close()
		if _, m, damage := h.open(persist.SyncInterval, nil); m["after"] != "ok" || len(damage) != 0 {
			t.Fatalf("cut at %d: log unusable after recovery: %v", k, damage)
		}
	}
}

func TestZeroTailAndBitFlip(t *testing.T) {
	h := newHarness(t)
	l, _, _ := h.open(persist.SyncAlways, func(o *persist.Options) { o.SegmentBytes = 300 })
	for i := 0; i < 40; i++ {
		seq := l.Append(persist.RecSessionPut, put(fmt.Sprint("k", i), "v"), 1)
		l.Flush()
		h.waitDone(seq)
	}
	l.Close()
	names, _ := filepath.Glob(filepath.Join(h.dir, "*.seg"))
	sort.Strings(names)
	if len(names) < 4 {
		t.Fatalf("%d segments", len(names))
	}
	fault.ZeroTail(names[len(names)-1], 4096)
	fault.FlipBit(names[1], 30) // inside the first record of a sealed segment
	_, m, damage := h.open(persist.SyncInterval, nil)
	if len(damage) != 2 {
		t.Fatalf("damage %v", damage)
	}
	var quarantined, truncated bool
	for _, d := range damage {
		quarantined = quarantined || strings.HasSuffix(d.Quarantined, ".corrupt")
		truncated = truncated || d.DroppedBytes == 4096
	}
	if !quarantined || !truncated {
		t.Fatalf("damage %v", damage)
	}
	if _, err := os.Stat(names[1] + ".corrupt"); err != nil {
		t.Fatal("damaged segment not quarantined")
	}
	// Records of the other segments are all there; only the damaged one's are lost.
	if m["k0"] != "v" || m["k39"] != "v" || len(m) >= 40 {
		t.Fatalf("%d keys recovered", len(m))
	}
}

func TestFsyncFailureRewritesToNewSegment(t *testing.T) {
	h := newHarness(t)
	l, _, _ := h.open(persist.SyncAlways, nil)
	l.Append(persist.RecSessionPut, put("a", "1"), 1)
	l.Flush()
	h.waitDone(1)
	h.fs.FailSync(1)
	l.Append(persist.RecSessionPut, put("b", "2"), 1)
	l.Flush()
	h.waitDone(2) // reported only once durable, in a new segment
	if st := l.Stats(); !strings.Contains(st.LastError, "fsync") {
		t.Fatalf("stats %+v", st)
	}
	l.Close()
	h.fs.PowerCut(0)
	_, m, _ := h.open(persist.SyncInterval, nil)
	if m["a"] != "1" || m["b"] != "2" {
		t.Fatalf("after a failed fsync and a power cut: %v", m)
	}
	names, _ := filepath.Glob(filepath.Join(h.dir, "*.seg"))
	if len(names) < 2 {
		t.Fatal("no new segment after the failed fsync")
	}
}

func TestENOSPCRecovers(t *testing.T) {
	h := newHarness(t)
	l, _, _ := h.open(persist.SyncInterval, nil)
	h.fs.FailWrite(2)
	l.Append(persist.RecSessionPut, put("a", "1"), 1)
	l.Flush()
	time.Sleep(50 * time.Millisecond)
	if st := l.Stats(); !st.Failed {
		t.Fatalf("not failed: %+v", st)
	}
	h.waitDone(1) // retried after a second, once space is back
	if l.Stats().Failed {
		t.Fatal("still failed")
	}
	l.Close()
	if _, m, _ := h.open(persist.SyncInterval, nil); m["a"] != "1" {
		t.Fatal("record lost")
	}
}

// A crash at each step of a compaction recovers exactly the live set.
func TestCompactionCrashPoints(t *testing.T) {
	for _, step := range []string{"tmp-written", "tmp-synced", "renamed", "dir-synced", "deleted", ""} {
		t.Run("crash-after-"+step, func(t *testing.T) {
			h := newHarness(t)
			l, _, _ := h.open(persist.SyncInterval, func(o *persist.Options) {
				o.SegmentBytes = 2048
				o.Failpoint = func(s string) error {
					if s == step {
						return fmt.Errorf("crash at %s", s)
					}
					return nil
				}
			})
			want := model{}
			for i := 0; i < 500; i++ {
				k, v := fmt.Sprint("k", i%20), fmt.Sprint(i)
				l.Append(persist.RecSessionPut, put(k, v), len(v))
				want[k] = v
				if i%3 == 0 {
					l.Append(persist.RecSessionDel, del(k), 0)
					delete(want, k)
				}
				l.Flush()
			}
			snap := l.NewSnapshot()
			keys := make([]string, 0, len(want))
			for k := range want {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				snap.Add(persist.RecSessionPut, put(k, want[k]))
			}
			err := <-l.Compact(snap)
			if (err != nil) != (step != "") {
				t.Fatalf("compaction: %v", err)
			}
			// After the compaction, more records go to new segments.
			seq := l.Append(persist.RecSessionPut, put("later", "x"), 1)
			want["later"] = "x"
			l.Flush()
			h.waitDone(seq)
			l.Close()
			_, got, damage := h.open(persist.SyncInterval, nil)
			if len(damage) != 0 || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("recovered %v, want %v (damage %v)", got, want, damage)
			}
			if step == "" && l.Stats().Compactions != 1 {
				t.Fatal("compaction not counted")
			}
		})
	}
}

// Nothing is written while idle, and "interval" fsyncs at most once per
// interval however many batches are written.
func TestIdleWritesNothingAndIntervalSync(t *testing.T) {
	h := newHarness(t)
	l, _, _ := h.open(persist.SyncInterval, func(o *persist.Options) { o.SyncInterval = 200 * time.Millisecond })
	start := time.Now()
	for i := 0; i < 200; i++ {
		seq := l.Append(persist.RecSessionPut, put("k", fmt.Sprint(i)), 1)
		l.Flush()
		h.waitDone(seq)
		time.Sleep(2 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	elapsed := time.Since(start)
	st := l.Stats()
	if max := uint64(elapsed/(200*time.Millisecond)) + 1; st.Fsyncs > max || st.Fsyncs == 0 {
		t.Fatalf("%d fsyncs in %v, at most %d", st.Fsyncs, elapsed, max)
	}
	w := h.fs.Writes()
	time.Sleep(500 * time.Millisecond)
	if h.fs.Writes() != w || l.Stats().Fsyncs != st.Fsyncs {
		t.Fatal("the idle log wrote or synced")
	}
	l.Close()
}

func BenchmarkAppend(b *testing.B) {
	dir := b.TempDir()
	var last uint64
	var mu sync.Mutex
	l, _, err := persist.Open(persist.Options{Dir: dir, Done: func(s uint64) { mu.Lock(); last = s; mu.Unlock() }}, nil)
	if err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, 256)
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	var seq uint64
	for i := 0; b.Loop(); i++ {
		seq = l.Append(persist.RecMessage, payload, len(payload))
		if i%64 == 63 {
			l.Flush()
		}
	}
	l.Flush()
	for {
		mu.Lock()
		d := last
		mu.Unlock()
		if d >= seq {
			break
		}
		time.Sleep(time.Millisecond)
	}
	st := l.Stats()
	b.ReportMetric(float64(st.BytesWritten)/float64(st.PayloadBytes), "write-amp")
	l.Close()
}
