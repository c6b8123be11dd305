package persist

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// SyncPolicy says when the log fsyncs.
type SyncPolicy int

const (
	SyncInterval SyncPolicy = iota // at most once per SyncInterval, when something was written
	SyncAlways                     // before any acknowledgement is released
	SyncNever                      // never (tmpfs, or when the kernel's writeback is enough)
)

// ParseSync reads "always", "interval" or "never".
func ParseSync(s string) (SyncPolicy, error) {
	switch s {
	case "always":
		return SyncAlways, nil
	case "interval", "":
		return SyncInterval, nil
	case "never":
		return SyncNever, nil
	}
	return 0, fmt.Errorf("sync must be always, interval or never, got %q", s)
}

// Options configure a Log.
type Options struct {
	Dir          string
	Sync         SyncPolicy
	SyncInterval time.Duration
	SegmentBytes int64         // rotate the active segment beyond this size
	BatchBytes   int           // write(2) once this much is pending...
	BatchDelay   time.Duration // ...or the oldest pending record waited this long
	FS           FS
	Logf         func(format string, args ...any)
	// Done is called from the writer goroutine when every record up to seq
	// is written (and fsynced under SyncAlways). It must not block long.
	Done func(seq uint64)
	// RetryDelay is how long the writer waits after a failed write or fsync
	// before it tries again (default 1s).
	RetryDelay time.Duration
	// Failpoint, in tests, is called at each step of a compaction; an error
	// stops the compaction there as a crash would.
	Failpoint func(step string) error
}

// Stats are the log's counters.
type Stats struct {
	BytesWritten, Fsyncs, Records, Compactions, PayloadBytes uint64
	StoreBytes                                               int64
	Failed                                                   bool
	LastError                                                string
}

// Damage describes what recovery found wrong in a segment and did about it.
// Records before the first bad one were replayed and stay in the live log;
// the bytes from the first bad record on are cut off. Sequence numbers are
// reported lost only when no later segment holds them: a failed write
// leaves a torn tail in a segment whose records the writer then wrote
// again into the next one, and that loses nothing.
type Damage struct {
	Segment       string
	TruncatedAt   int64  // the offset the segment was cut at (its first bad record)
	DroppedBytes  int64  // bytes cut off from there
	Quarantined   string // the file the cut-off bytes were moved to (*.corrupt), if anything was lost
	LostFrom      uint64 // first lost sequence number (0 = nothing lost)
	LostTo        uint64 // last lost sequence number
	FirstBadIndex int    // record index of the first bad record
	Kept          bool   // the bytes could not be moved aside: the segment was left as it was
}

func (d Damage) String() string {
	switch {
	case d.Kept:
		return fmt.Sprintf("segment %s damaged at record %d (offset %d): sequence numbers %d-%d lost, segment left in place",
			d.Segment, d.FirstBadIndex, d.TruncatedAt, d.LostFrom, d.LostTo)
	case d.LostFrom != 0:
		return fmt.Sprintf("segment %s damaged at record %d (offset %d): %d bytes moved to %s, sequence numbers %d-%d lost",
			d.Segment, d.FirstBadIndex, d.TruncatedAt, d.DroppedBytes, d.Quarantined, d.LostFrom, d.LostTo)
	}
	return fmt.Sprintf("segment %s: torn tail at offset %d, %d bytes dropped", d.Segment, d.TruncatedAt, d.DroppedBytes)
}

type segment struct {
	name  string
	first uint64
	size  int64
}

// Log is the append-only store. Append, Flush, Seq and Compact are called
// from the broker's event loop; the writer goroutine does all file I/O.
type Log struct {
	opt Options
	fs  FS

	// loop side
	batch   []byte
	seq     uint64
	payload uint64 // payload bytes appended since the last Flush
	records uint64

	// handed over
	mu      sync.Mutex
	jobs    []job
	kick    chan struct{}
	closing bool
	done    chan struct{}

	// writer side
	segs         []segment // sealed and active, oldest first
	f            File
	unsynced     []byte // written since the last fsync, rewritten elsewhere if it fails
	unsyncedLast uint64
	dirty        bool
	lastSync     time.Time
	failed       error

	stats struct {
		bytes, fsyncs, records, compactions, payload atomic.Uint64
		store                                        atomic.Int64
		failed                                       atomic.Bool
		lastErr                                      atomic.Value
	}
}

type job struct {
	data    []byte
	last    uint64
	payload uint64
	records uint64
	compact *compaction
	since   time.Time
}

type compaction struct {
	snapshot *Snapshot
	covered  uint64 // last sequence number the snapshot covers
	result   chan error
}

func segName(first uint64) string { return fmt.Sprintf("%020d.seg", first) }

// Open recovers the log in opt.Dir and calls apply for every valid record in
// order, skipping sequence numbers already applied. Damage found is
// repaired (truncated or quarantined) and returned; only an unusable
// directory is an error.
func Open(opt Options, apply func(Record)) (*Log, []Damage, error) {
	if opt.FS == nil {
		opt.FS = OS{}
	}
	if opt.SegmentBytes <= 0 {
		opt.SegmentBytes = 4 << 20
	}
	if opt.BatchBytes <= 0 {
		opt.BatchBytes = 16 << 10
	}
	if opt.BatchDelay <= 0 {
		opt.BatchDelay = 2 * time.Millisecond
	}
	if opt.SyncInterval <= 0 {
		opt.SyncInterval = time.Second
	}
	if opt.RetryDelay <= 0 {
		opt.RetryDelay = time.Second
	}
	if opt.Logf == nil {
		opt.Logf = func(string, ...any) {}
	}
	l := &Log{opt: opt, fs: opt.FS, kick: make(chan struct{}, 1), done: make(chan struct{})}
	if err := l.fs.MkdirAll(opt.Dir); err != nil {
		return nil, nil, err
	}
	damage, err := l.recover(apply)
	if err != nil {
		return nil, damage, err
	}
	if err := l.openActive(); err != nil {
		// A full disk or a failing device, not an unusable directory: the
		// log starts failed and the first write starts a new segment.
		l.fail(err)
	}
	go l.writer()
	return l, damage, nil
}

// listSegments returns the segment files in sequence order and deletes
// leftover temporary files.
func listSegments(fs FS, dir string) ([]segment, error) {
	names, err := fs.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var segs []segment
	for _, n := range names {
		switch {
		case strings.HasSuffix(n, ".tmp"):
			fs.Remove(filepath.Join(dir, n))
		case strings.HasSuffix(n, ".seg"):
			first, err := strconv.ParseUint(strings.TrimSuffix(n, ".seg"), 10, 64)
			if err == nil {
				segs = append(segs, segment{name: n, first: first})
			}
		}
	}
	sortSegments(segs)
	return segs, nil
}

func sortSegments(segs []segment) {
	sort.Slice(segs, func(i, j int) bool { return segs[i].first < segs[j].first })
}

func (l *Log) path(name string) string { return filepath.Join(l.opt.Dir, name) }

func (l *Log) recover(apply func(Record)) ([]Damage, error) {
	segs, err := listSegments(l.fs, l.opt.Dir)
	if err != nil {
		return nil, err
	}
	// Replay every segment, noting what each damaged one holds after its
	// first bad record; what that loses depends on the segments after it.
	type scan struct {
		firstRec uint64 // the first valid record's sequence number (0: none)
		applied  uint64 // the highest sequence number applied up to its end
		off, idx int    // the first bad record's offset and index
		tail     []byte // the bytes from there on (nil: the segment is whole)
	}
	scans := make([]scan, len(segs))
	var applied uint64
	for i, sg := range segs {
		data, err := l.fs.ReadFile(l.path(sg.name))
		if err != nil {
			return nil, err
		}
		sc := &scans[i]
		for sc.off < len(data) {
			r, n, err := parseRecord(data[sc.off:])
			if err != nil {
				break
			}
			if sc.idx == 0 {
				sc.firstRec = r.Seq
			}
			if r.Seq > applied {
				applied = r.Seq
				if apply != nil {
					apply(r)
				}
			}
			sc.off += n
			sc.idx++
		}
		sc.applied = applied
		segs[i].size = int64(len(data))
		if sc.off < len(data) {
			sc.tail = append([]byte(nil), data[sc.off:]...)
		}
	}
	var damage []Damage
	var kept []segment
	for i, sg := range segs {
		sc := scans[i]
		if sc.tail != nil {
			d := Damage{Segment: sg.name, TruncatedAt: int64(sc.off), DroppedBytes: int64(len(sc.tail)), FirstBadIndex: sc.idx}
			for _, next := range scans[i+1:] {
				if next.firstRec != 0 {
					d.LostFrom, d.LostTo = lostRange(sc.applied, next.firstRec)
					break
				}
			}
			remains, err := l.cut(&d, sc.tail, i == len(segs)-1)
			if err != nil {
				return damage, err
			}
			damage = append(damage, d)
			l.opt.Logf("persistence: %s", d)
			if !remains {
				continue
			}
			if !d.Kept {
				sg.size = int64(sc.off)
			}
		}
		kept = append(kept, sg)
	}
	l.segs = kept
	l.seq = applied
	for _, sg := range kept {
		l.stats.store.Add(sg.size)
	}
	return damage, nil
}

// lostRange is what a damaged segment loses when the highest sequence
// number applied up to its first bad record is applied and the next record
// after it (the first valid record of a later segment) is next: the
// sequence numbers between them; none (0, 0) when next follows applied
// directly or repeats records already applied (a segment the writer
// started again after a failure).
func lostRange(applied, next uint64) (from, to uint64) {
	if next > applied+1 {
		return applied + 1, next - 1
	}
	return 0, 0
}

// cut drops a damaged segment's bytes from its first bad record on, tail,
// and reports whether the segment file remains. The records before the bad
// one were replayed and stay where they are, so a later recovery replays
// them again. When sequence numbers are lost the tail is first saved to
// <segment>.corrupt for inspection (made durable before the segment is
// cut); if that fails the segment is left as it is (d.Kept) and reported
// again at the next start. An older segment with nothing valid left is
// removed (renamed to .corrupt when that loses something); the newest one
// stays, to be appended to.
func (l *Log) cut(d *Damage, tail []byte, newest bool) (remains bool, err error) {
	name := l.path(d.Segment)
	if d.LostFrom != 0 {
		d.Quarantined = d.Segment + ".corrupt"
		if d.TruncatedAt == 0 {
			return false, l.fs.Rename(name, l.path(d.Quarantined))
		}
		if err := l.saveFile(l.path(d.Quarantined), tail); err != nil {
			l.opt.Logf("persistence: cannot save the damaged part of %s: %v", d.Segment, err)
			l.fs.Remove(l.path(d.Quarantined))
			d.Quarantined, d.Kept = "", true
			return true, nil
		}
	}
	if d.TruncatedAt == 0 && !newest {
		return false, l.fs.Remove(name)
	}
	return true, l.fs.Truncate(name, d.TruncatedAt)
}

// saveFile writes data to a new file name and makes it durable.
func (l *Log) saveFile(name string, data []byte) error {
	f, err := l.fs.Create(name)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return l.fs.SyncDir(l.opt.Dir)
}

// openActive opens the newest segment for appending, or starts one. On an
// error l.f stays nil.
func (l *Log) openActive() error {
	if n := len(l.segs); n > 0 && l.segs[n-1].size < l.opt.SegmentBytes {
		f, err := l.fs.OpenAppend(l.path(l.segs[n-1].name))
		if err != nil {
			return err
		}
		l.f = f
		return nil
	}
	return l.startSegment(l.seq + 1)
}

// startSegment creates a new active segment named after first, the
// sequence number of its first record, or after the newest segment's name
// plus one if that is not above it: after a failure the writer starts a
// segment with the records it wrote since the last good fsync, which may
// begin with the very first record of the segment it leaves, and that one
// must not be emptied (it holds records already reported written) nor
// sorted after the new one.
func (l *Log) startSegment(first uint64) error {
	if n := len(l.segs); n > 0 && first <= l.segs[n-1].first {
		first = l.segs[n-1].first + 1
	}
	name := segName(first)
	f, err := l.fs.Create(l.path(name))
	if err != nil {
		return err
	}
	if err := l.fs.SyncDir(l.opt.Dir); err != nil {
		f.Close()
		return err
	}
	l.f = f
	l.segs = append(l.segs, segment{name: name, first: first})
	return nil
}

// Seq is the last sequence number appended.
func (l *Log) Seq() uint64 { return l.seq }

// Append adds one record to the current batch and returns its sequence
// number. payloadBytes is the application payload it carries (for the
// write amplification figure).
func (l *Log) Append(typ byte, payload []byte, payloadBytes int) uint64 {
	l.seq++
	l.batch = appendRecord(l.batch, typ, l.seq, payload)
	l.payload += uint64(payloadBytes)
	l.records++
	return l.seq
}

// Flush hands the batch to the writer. The loop calls it once per turn.
func (l *Log) Flush() {
	if len(l.batch) == 0 {
		return
	}
	j := job{data: l.batch, last: l.seq, payload: l.payload, records: l.records, since: time.Now()}
	l.batch, l.payload, l.records = nil, 0, 0
	l.mu.Lock()
	l.jobs = append(l.jobs, j)
	l.mu.Unlock()
	l.wake()
}

func (l *Log) wake() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// Compact replaces the segments written so far with snapshot, which must
// hold the live state as records (see Snapshot). It runs on the writer
// after everything appended before it, and returns a channel that
// reports the outcome.
func (l *Log) Compact(snapshot *Snapshot) <-chan error {
	l.Flush()
	c := &compaction{snapshot: snapshot, covered: l.seq, result: make(chan error, 1)}
	l.mu.Lock()
	l.jobs = append(l.jobs, job{compact: c})
	l.mu.Unlock()
	l.wake()
	return c.result
}

// Snapshot accumulates the live state for a compaction, built on the loop.
// The writer gives its records sequence numbers from the oldest segment's
// first one, below the range the snapshot replaces.
type Snapshot struct {
	recs []snapRec
	size int
}

type snapRec struct {
	typ     byte
	payload []byte
}

// NewSnapshot starts a snapshot of the state as of the last Append.
func (l *Log) NewSnapshot() *Snapshot { return &Snapshot{} }

// Add appends a record to the snapshot (payload is copied).
func (s *Snapshot) Add(typ byte, payload []byte) {
	s.recs = append(s.recs, snapRec{typ, append([]byte(nil), payload...)})
	s.size += headerSize + len(payload)
}

// Len is the snapshot's size in bytes.
func (s *Snapshot) Len() int { return s.size }

// errNoGain means the snapshot would not replace anything.
var errNoGain = errors.New("compaction: nothing to gain")

// PendingFor is how long the oldest batch not yet written has waited: a
// growing value means the writer is stuck (a hung device), and the broker
// then stops petting the watchdog.
func (l *Log) PendingFor() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.jobs) == 0 {
		return 0
	}
	if l.stats.failed.Load() { // l.failed belongs to the writer goroutine
		return 0 // failing, not stuck: the alarm says so and retries go on
	}
	return time.Since(l.jobs[0].since)
}

// Stats returns the counters.
func (l *Log) Stats() Stats {
	st := Stats{BytesWritten: l.stats.bytes.Load(), Fsyncs: l.stats.fsyncs.Load(), Records: l.stats.records.Load(),
		Compactions: l.stats.compactions.Load(), PayloadBytes: l.stats.payload.Load(),
		StoreBytes: l.stats.store.Load(), Failed: l.stats.failed.Load()}
	if e, ok := l.stats.lastErr.Load().(string); ok {
		st.LastError = e
	}
	return st
}

// Close writes and syncs what is pending and stops the writer.
func (l *Log) Close() error {
	l.Flush()
	l.mu.Lock()
	l.closing = true
	l.mu.Unlock()
	l.wake()
	<-l.done
	return l.failed
}

// writer is the goroutine that owns the files.
func (l *Log) writer() {
	defer close(l.done)
	var timer *time.Timer
	for {
		var wait <-chan time.Time
		if d, ok := l.nextWake(); ok {
			if timer == nil {
				timer = time.NewTimer(d)
			} else {
				timer.Reset(d)
			}
			wait = timer.C
		}
		select {
		case <-l.kick:
		case <-wait:
		}
		if timer != nil && wait == nil {
			timer.Stop()
		}
		if l.step() {
			if l.f != nil {
				if l.dirty && l.opt.Sync != SyncNever {
					if err := l.sync(); err != nil {
						l.fail(err)
					}
				}
				l.f.Close()
			}
			return
		}
	}
}

// nextWake is how long the writer may sleep: until a pending batch is due
// or an interval fsync is due; forever when idle.
func (l *Log) nextWake() (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var d time.Duration = -1
	if len(l.jobs) > 0 {
		d = max(0, l.opt.BatchDelay-time.Since(l.jobs[0].since))
	}
	if l.dirty && l.opt.Sync == SyncInterval {
		s := max(0, l.opt.SyncInterval-time.Since(l.lastSync))
		if d < 0 || s < d {
			d = s
		}
	}
	if l.failed != nil && len(l.jobs) > 0 {
		d = l.opt.RetryDelay // retry after a failure
	}
	return d, d >= 0
}

// step does what is due; it reports true when the writer should stop.
func (l *Log) step() bool {
	l.mu.Lock()
	closing := l.closing
	var take []job
	size := 0
	for _, j := range l.jobs {
		size += len(j.data)
	}
	due := len(l.jobs) > 0 && (closing || size >= l.opt.BatchBytes || time.Since(l.jobs[0].since) >= l.opt.BatchDelay ||
		l.jobs[0].compact != nil)
	if due {
		take = l.jobs
		l.jobs = nil
	}
	l.mu.Unlock()
	if len(take) > 0 {
		l.run(take)
	}
	if l.dirty && l.opt.Sync == SyncInterval && time.Since(l.lastSync) >= l.opt.SyncInterval {
		if err := l.sync(); err != nil {
			l.retry(err, nil)
		}
	}
	return closing
}

// run writes the jobs' data, one write(2) per run of data jobs, and runs
// the compactions between them. After a failure nothing more of jobs is
// done: the data written since the last good fsync, the job that failed and
// the jobs after it are queued again, in that order and ahead of newer
// jobs, for a retry into a new segment. Records thus always reach the log,
// and are reported written, in sequence order.
func (l *Log) run(jobs []job) {
	var cur job // data jobs merged into one write
	for i, j := range jobs {
		if j.compact == nil {
			if cur.data == nil {
				cur = j
			} else {
				cur.data = append(cur.data, j.data...)
				cur.last, cur.payload, cur.records = j.last, cur.payload+j.payload, cur.records+j.records
			}
			continue
		}
		if !l.writeJob(&cur, jobs[i:]) {
			return
		}
		// Seal the active segment: records after the snapshot go to a
		// new one.
		if l.f != nil && l.dirty {
			if err := l.sync(); err != nil {
				j.compact.result <- fmt.Errorf("compaction: %w", err)
				l.retry(err, jobs[i+1:])
				return
			}
		}
		j.compact.result <- l.compact(j.compact)
	}
	l.writeJob(&cur, nil)
}

// writeJob writes cur (if it holds data), fsyncs under SyncAlways, rotates a
// full segment and reports cur written. On a failure it queues cur and rest
// again (see run) and reports false.
func (l *Log) writeJob(cur *job, rest []job) bool {
	if len(cur.data) == 0 {
		return true
	}
	if err := l.write(cur.data); err != nil {
		l.retry(err, append([]job{*cur}, rest...))
		return false
	}
	l.unsyncedLast = cur.last // cur is now part of what a failed fsync rewrites
	var err error
	if l.opt.Sync == SyncAlways {
		err = l.sync()
	}
	if err == nil {
		err = l.rotate()
	}
	if err != nil {
		l.retry(err, rest)
		return false
	}
	l.stats.payload.Add(cur.payload)
	l.stats.records.Add(cur.records)
	if l.opt.Done != nil && cur.last > 0 {
		l.opt.Done(cur.last)
	}
	*cur = job{}
	return true
}

func (l *Log) requeue(jobs []job) {
	l.mu.Lock()
	l.jobs = append(append([]job(nil), jobs...), l.jobs...)
	l.mu.Unlock()
}

func (l *Log) fail(err error) {
	if l.failed == nil {
		l.opt.Logf("persistence: %v", err)
	}
	l.failed = err
	l.stats.failed.Store(true)
	l.stats.lastErr.Store(err.Error())
}

// retry handles a failed write or fsync: the active segment is not trusted
// any more (after a failed fsync Linux may have dropped its dirty pages), so
// it is closed, and everything written to it since the last good fsync,
// followed by rest (the jobs not done, oldest first), is queued again for a
// new segment, ahead of any newer job.
func (l *Log) retry(err error, rest []job) {
	l.fail(err)
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
	var again []job
	if len(l.unsynced) > 0 {
		again = append(again, job{data: append([]byte(nil), l.unsynced...), last: l.unsyncedLast, since: time.Now()})
	}
	again = append(again, rest...)
	l.unsynced, l.dirty = l.unsynced[:0], false
	l.requeue(again)
}

// write appends b to the active segment, starting one if there is none.
func (l *Log) write(b []byte) error {
	if l.f == nil {
		if err := l.startSegment(l.firstSeq(b)); err != nil {
			return err
		}
	}
	if _, err := l.f.Write(b); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if l.failed != nil {
		l.opt.Logf("persistence: recovered")
		l.failed = nil
		l.stats.failed.Store(false)
	}
	l.unsynced = append(l.unsynced, b...)
	l.dirty = true
	n := int64(len(b))
	l.segs[len(l.segs)-1].size += n
	l.stats.bytes.Add(uint64(n))
	l.stats.store.Add(n)
	return nil
}

// rotate seals the active segment once it is full (fsynced unless the policy
// is SyncNever); the next write starts a new one.
func (l *Log) rotate() error {
	if l.f == nil || l.segs[len(l.segs)-1].size < l.opt.SegmentBytes {
		return nil
	}
	if l.dirty && l.opt.Sync != SyncNever {
		if err := l.sync(); err != nil {
			return err
		}
	}
	l.f.Close()
	l.f = nil
	l.unsynced, l.dirty = l.unsynced[:0], false
	return nil
}

// firstSeq is the sequence number of the first record in b.
func (l *Log) firstSeq(b []byte) uint64 {
	if r, _, err := parseRecord(b); err == nil {
		return r.Seq
	}
	return l.seq + 1
}

// sync fsyncs the active segment.
func (l *Log) sync() error {
	if l.f == nil {
		l.dirty = false
		return nil
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("fsync: %w", err)
	}
	l.stats.fsyncs.Add(1)
	l.unsynced = l.unsynced[:0]
	l.dirty = false
	l.lastSync = time.Now()
	return nil
}

var errFailpoint = errors.New("failpoint")

func (l *Log) failpoint(step string) error {
	if l.opt.Failpoint != nil {
		return l.opt.Failpoint(step)
	}
	return nil
}

// compact writes the snapshot over the sealed segments.
func (l *Log) compact(c *compaction) error {
	// The active segment was synced by run: records after the snapshot go
	// to a new one.
	if l.f != nil {
		l.f.Close()
		l.f = nil
		l.unsynced, l.dirty = l.unsynced[:0], false
	}
	inputs := append([]segment(nil), l.segs...)
	if len(inputs) == 0 {
		return nil
	}
	target := inputs[0].name
	tmp := target + ".tmp"
	seq := inputs[0].first
	if seq+uint64(len(c.snapshot.recs)) > c.covered {
		return errNoGain
	}
	data := make([]byte, 0, c.snapshot.size+headerSize+8)
	for _, r := range c.snapshot.recs {
		data = appendRecord(data, r.typ, seq, r.payload)
		seq++
	}
	data = appendRecord(data, RecCheckpoint, c.covered, leUint64(c.covered))
	f, err := l.fs.Create(l.path(tmp))
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		l.fs.Remove(l.path(tmp))
		return err
	}
	if err := l.failpoint("tmp-written"); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		l.fs.Remove(l.path(tmp))
		return err
	}
	f.Close()
	l.stats.fsyncs.Add(1)
	if err := l.failpoint("tmp-synced"); err != nil {
		return err
	}
	if err := l.fs.Rename(l.path(tmp), l.path(target)); err != nil {
		return err
	}
	if err := l.failpoint("renamed"); err != nil {
		return err
	}
	if err := l.fs.SyncDir(l.opt.Dir); err != nil {
		return err
	}
	if err := l.failpoint("dir-synced"); err != nil {
		return err
	}
	var freed int64
	for _, sg := range inputs {
		freed += sg.size
		if sg.name != target {
			l.fs.Remove(l.path(sg.name))
		}
	}
	l.fs.SyncDir(l.opt.Dir)
	if err := l.failpoint("deleted"); err != nil {
		return err
	}
	l.segs = []segment{{name: target, first: inputs[0].first, size: int64(len(data))}}
	l.stats.bytes.Add(uint64(len(data)))
	l.stats.store.Add(int64(len(data)) - freed)
	l.stats.compactions.Add(1)
	return nil
}

func leUint64(v uint64) []byte {
	var b [8]byte
	for i := range b {
		b[i] = byte(v >> (8 * i))
	}
	return b[:]
}
