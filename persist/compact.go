package persist

import "errors"

type compaction struct {
	snapshot *Snapshot
	covered  uint64 // last sequence number the snapshot covers
	result   chan error
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
