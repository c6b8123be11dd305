// Package fault is a fault-injecting file system for the persistence tests:
// it tracks what each file has made durable with fsync (an fsync is only
// recorded, not done: the tests need the model, not the disk), and can lose
// the rest as a power cut would, tear it at any byte, fill a tail with zeros,
// flip a bit, fail an fsync (EIO) or a write (ENOSPC), run out of space
// part-way through a write (a short write, as a full disk does), fail the
// n-th write or fsync with a chosen error, and stop dead as a killed
// process does.
package fault

import (
	"errors"
	"os"
	"sync"
	"syscall"

	"midge/persist"
)

// FS wraps the real file system.
type FS struct {
	persist.OS
	mu        sync.Mutex
	synced    map[string]int64 // durable size per file
	failSync  int              // fail the next n fsyncs with EIO
	failWrite int              // fail the next n writes with ENOSPC
	writes    int              // writes seen
	free      int64            // bytes writes may still add; < 0: unlimited
	crashed   bool             // the process is dead: nothing reaches the disk
	counts    map[Op]int       // operations seen, per kind
	faults    []*Fault         // armed faults
}

// Op is a kind of operation that can be made to fail.
type Op string

const (
	OpWrite    Op = "write"    // a file write
	OpSync     Op = "sync"     // a file fsync
	OpSyncDir  Op = "syncdir"  // a directory fsync
	OpCreate   Op = "create"   // creating (or truncating) a file
	OpTruncate Op = "truncate" // truncating a file to a size
	OpRename   Op = "rename"
	OpRemove   Op = "remove"
)

// Fault fails one operation: the N-th of its kind (1 = the next one).
type Fault struct {
	Op    Op
	N     int
	Err   error         // syscall.ENOSPC, syscall.EIO, ...; nil: the operation succeeds
	Keep  int           // a failing write first writes this many of its bytes (a short write)
	Crash bool          // the process dies right after the failed operation
	Hold  chan struct{} // if set, the operation first waits until it is closed (a slow device)
	Fired bool          // set once it reached its operation
}

// ErrCrashed is what every operation returns once the FS crashed.
var ErrCrashed = errors.New("process crashed")

// FailSync makes the next n fsyncs fail with EIO.
func (fs *FS) FailSync(n int) { fs.mu.Lock(); fs.failSync = n; fs.mu.Unlock() }

// FailWrite makes the next n writes fail with ENOSPC.
func (fs *FS) FailWrite(n int) { fs.mu.Lock(); fs.failWrite = n; fs.mu.Unlock() }

// SetFree makes the file system hold only n more bytes (n < 0: no limit).
// A write that does not fit writes what fits and fails with ENOSPC, as
// write(2) on a full disk does; removing or truncating a file frees space.
func (fs *FS) SetFree(n int64) { fs.mu.Lock(); fs.free = n; fs.mu.Unlock() }

// Arm adds a fault; its Fired field says whether it happened. Operations are
// counted from the call.
func (fs *FS) Arm(f *Fault) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	f.N += fs.counts[f.Op]
	fs.faults = append(fs.faults, f)
}

// Count is the number of operations of kind op seen.
func (fs *FS) Count(op Op) int { fs.mu.Lock(); defer fs.mu.Unlock(); return fs.counts[op] }

// Writes is the number of writes seen.
func (fs *FS) Writes() int { fs.mu.Lock(); defer fs.mu.Unlock(); return fs.writes }

// Crash kills the process using fs, as kill -9 would: from now on every
// operation through fs fails and changes nothing, while what was written
// stays in the files. It returns the file system the next process sees,
// which remembers what was synced (for a later PowerCut).
func (fs *FS) Crash() *FS {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.crashed = true
	next := New()
	for k, v := range fs.synced {
		next.synced[k] = v
	}
	return next
}

// Crashed reports whether the process using fs died (Crash, or a fault
// with Crash set).
func (fs *FS) Crashed() bool { fs.mu.Lock(); defer fs.mu.Unlock(); return fs.crashed }

// New returns a fault FS.
func New() *FS { return &FS{synced: map[string]int64{}, free: -1, counts: map[Op]int{}} }

// op counts an operation of kind op and returns the fault armed for it, if
// any, or ErrCrashed. It is called with fs.mu held.
func (fs *FS) op(op Op) (*Fault, error) {
	if fs.crashed {
		return nil, ErrCrashed
	}
	fs.counts[op]++
	for _, f := range fs.faults {
		if f.Op == op && f.N == fs.counts[op] && !f.Fired {
			f.Fired = true
			return f, nil
		}
	}
	return nil, nil
}

// hold waits, with fs.mu released, until a fault's Hold is closed; it
// reports ErrCrashed if the process died meanwhile.
func (fs *FS) hold(f *Fault) error {
	if f == nil || f.Hold == nil {
		return nil
	}
	fs.mu.Unlock()
	<-f.Hold
	fs.mu.Lock()
	if fs.crashed {
		return ErrCrashed
	}
	return nil
}

// enter counts an operation and waits out its fault's Hold: it returns
// the fault armed for it (nil: none), or ErrCrashed. It is called with
// fs.mu held.
func (fs *FS) enter(op Op) (*Fault, error) {
	flt, err := fs.op(op)
	if err == nil {
		err = fs.hold(flt)
	}
	return flt, err
}

// fail counts an operation of a kind that has no partial effect and returns
// the error it must fail with, if any. It is called with fs.mu held.
func (fs *FS) fail(op Op) error {
	flt, err := fs.enter(op)
	if err != nil {
		return err
	}
	if flt != nil && flt.Err != nil {
		return fs.after(flt)
	}
	return nil
}

// after finishes a failed operation: the process dies if the fault says so.
func (fs *FS) after(f *Fault) error {
	if f.Crash && f.Err != nil {
		fs.crashed = true
	}
	return f.Err
}

// release gives back the space of name beyond size.
func (fs *FS) release(name string, size int64) {
	if fs.free < 0 {
		return
	}
	if st, err := os.Stat(name); err == nil && st.Size() > size {
		fs.free += st.Size() - size
	}
}

type file struct {
	fs   *FS
	name string
	f    *os.File
}

func (fs *FS) Create(name string) (persist.File, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if err := fs.fail(OpCreate); err != nil {
		return nil, err
	}
	fs.release(name, 0)
	f, err := os.OpenFile(name, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	fs.synced[name] = 0
	return &file{fs: fs, name: name, f: f}, nil
}

func (fs *FS) OpenAppend(name string) (persist.File, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.crashed {
		return nil, ErrCrashed
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	if _, ok := fs.synced[name]; !ok {
		st, _ := f.Stat()
		fs.synced[name] = st.Size() // what was there before is durable
	}
	return &file{fs: fs, name: name, f: f}, nil
}

func (fs *FS) Rename(from, to string) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if err := fs.fail(OpRename); err != nil {
		return err
	}
	fs.release(to, 0)
	if n, ok := fs.synced[from]; ok {
		fs.synced[to] = n
		delete(fs.synced, from)
	}
	return os.Rename(from, to)
}

func (fs *FS) Remove(name string) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if err := fs.fail(OpRemove); err != nil {
		return err
	}
	fs.release(name, 0)
	delete(fs.synced, name)
	return os.Remove(name)
}

func (fs *FS) Truncate(name string, size int64) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if err := fs.fail(OpTruncate); err != nil {
		return err
	}
	fs.release(name, size)
	if n, ok := fs.synced[name]; ok && n > size {
		fs.synced[name] = size
	}
	return os.Truncate(name, size)
}

func (fs *FS) SyncDir(dir string) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if err := fs.fail(OpSyncDir); err != nil {
		return err
	}
	_, err := os.Stat(dir)
	return err
}

func (fs *FS) ReadFile(name string) ([]byte, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.crashed {
		return nil, ErrCrashed
	}
	return fs.OS.ReadFile(name)
}

func (fs *FS) ReadDir(dir string) ([]string, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.crashed {
		return nil, ErrCrashed
	}
	return fs.OS.ReadDir(dir)
}

var ErrInjected = errors.New("injected fault")

// Write holds the lock while it writes, so that a Crash is never half-way
// through a write.
func (f *file) Write(b []byte) (int, error) {
	fs := f.fs
	fs.mu.Lock()
	defer fs.mu.Unlock()
	flt, err := fs.enter(OpWrite)
	if err != nil {
		return 0, err
	}
	fs.writes++
	if flt != nil && flt.Err != nil {
		n, _ := f.f.Write(b[:min(flt.Keep, len(b))])
		fs.use(n)
		return n, fs.after(flt)
	}
	if fs.failWrite > 0 {
		fs.failWrite--
		return 0, syscall.ENOSPC
	}
	if fs.free >= 0 && int64(len(b)) > fs.free {
		n, _ := f.f.Write(b[:fs.free])
		fs.use(n)
		return n, syscall.ENOSPC
	}
	n, err := f.f.Write(b)
	fs.use(n)
	return n, err
}

func (fs *FS) use(n int) {
	if fs.free >= 0 {
		fs.free -= int64(n)
	}
}

func (f *file) Sync() error {
	fs := f.fs
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if err := fs.fail(OpSync); err != nil {
		return err
	}
	if fs.failSync > 0 {
		fs.failSync--
		return syscall.EIO
	}
	st, err := f.f.Stat()
	if err != nil {
		return err
	}
	fs.synced[f.name] = st.Size()
	return nil // durability is modelled (PowerCut), the disk is not asked
}

func (f *file) Close() error { return f.f.Close() }

// PowerCut makes every file lose what it did not fsync, keeping keep bytes
// of that unsynced tail (a torn write at that offset).
func (fs *FS) PowerCut(keep int64) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for name, n := range fs.synced {
		st, err := os.Stat(name)
		if err != nil {
			continue
		}
		if st.Size() > n+keep {
			os.Truncate(name, n+keep)
		}
	}
}

// Unsynced is the number of bytes name holds beyond its last fsync.
func (fs *FS) Unsynced(name string) int64 {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	st, err := os.Stat(name)
	if err != nil {
		return 0
	}
	return st.Size() - fs.synced[name]
}

// ZeroTail appends n zero bytes to name (a preallocated, never written tail).
func ZeroTail(name string, n int) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.Write(make([]byte, n))
	return err
}

// FlipBit flips one bit at offset off of name.
func FlipBit(name string, off int64) error {
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		return err
	}
	b[0] ^= 0x10
	_, err = f.WriteAt(b, off)
	return err
}
