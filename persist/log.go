package persist

import (
	"fmt"
	"path/filepath"
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

type segment struct {
	name    string
	first   uint64
	size    int64
	damaged bool // recovery could not cut its bad tail: never appended to
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

func segName(first uint64) string { return fmt.Sprintf("%020d.seg", first) }

func (l *Log) path(name string) string { return filepath.Join(l.opt.Dir, name) }

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
