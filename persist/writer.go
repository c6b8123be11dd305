package persist

import (
	"fmt"
	"time"
)

type job struct {
	data    []byte
	last    uint64
	payload uint64
	records uint64
	compact *compaction
	since   time.Time
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
