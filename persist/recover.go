package persist

import (
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

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
	Kept          bool   // the segment could not be repaired and was left as it was
}

func (d Damage) String() string {
	switch {
	case d.Kept && d.LostFrom != 0:
		return fmt.Sprintf("segment %s damaged at record %d (offset %d): sequence numbers %d-%d lost, segment left in place",
			d.Segment, d.FirstBadIndex, d.TruncatedAt, d.LostFrom, d.LostTo)
	case d.Kept:
		return fmt.Sprintf("segment %s: torn tail at offset %d, %d bytes, left in place", d.Segment, d.TruncatedAt, d.DroppedBytes)
	case d.LostFrom != 0:
		return fmt.Sprintf("segment %s damaged at record %d (offset %d): %d bytes moved to %s, sequence numbers %d-%d lost",
			d.Segment, d.FirstBadIndex, d.TruncatedAt, d.DroppedBytes, d.Quarantined, d.LostFrom, d.LostTo)
	}
	return fmt.Sprintf("segment %s: torn tail at offset %d, %d bytes dropped", d.Segment, d.TruncatedAt, d.DroppedBytes)
}

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
			remains := l.cut(&d, sc.tail, i == len(segs)-1)
			damage = append(damage, d)
			l.opt.Logf("persistence: %s", d)
			if !remains {
				continue
			}
			if d.Kept {
				sg.damaged = true
			} else {
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
// cut). An older segment with nothing valid left is removed (renamed to
// .corrupt when that loses something); the newest one stays, to be
// appended to. When any of this fails (a full disk, a failing device) the
// segment is left as it is (d.Kept): it replays the same way, is never
// appended to, and is dealt with at the next start.
func (l *Log) cut(d *Damage, tail []byte, newest bool) (remains bool) {
	name := l.path(d.Segment)
	var err error
	switch {
	case d.LostFrom != 0 && d.TruncatedAt == 0:
		d.Quarantined = d.Segment + ".corrupt"
		if err = l.fs.Rename(name, l.path(d.Quarantined)); err == nil {
			return false
		}
	case d.LostFrom != 0:
		d.Quarantined = d.Segment + ".corrupt"
		if err = l.saveFile(l.path(d.Quarantined), tail); err != nil {
			l.fs.Remove(l.path(d.Quarantined))
			break
		}
		err = l.fs.Truncate(name, d.TruncatedAt)
	case d.TruncatedAt == 0 && !newest:
		if err = l.fs.Remove(name); err == nil {
			return false
		}
	default:
		err = l.fs.Truncate(name, d.TruncatedAt)
	}
	if err != nil {
		l.opt.Logf("persistence: cannot repair %s, left as it is: %v", d.Segment, err)
		d.Quarantined, d.Kept = "", true
	}
	return true
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
	if n := len(l.segs); n > 0 && l.segs[n-1].size < l.opt.SegmentBytes && !l.segs[n-1].damaged {
		f, err := l.fs.OpenAppend(l.path(l.segs[n-1].name))
		if err != nil {
			return err
		}
		l.f = f
		return nil
	}
	return l.startSegment(l.seq + 1)
}
