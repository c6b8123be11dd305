// Package fault is a fault-injecting file system for the persistence tests:
// it tracks what each file has made durable with fsync, and can lose the
// rest as a power cut would, tear it at any byte, fill a tail with zeros,
// flip a bit, fail an fsync (EIO) or a write (ENOSPC).
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
}

// FailSync makes the next n fsyncs fail with EIO.
func (fs *FS) FailSync(n int) { fs.mu.Lock(); fs.failSync = n; fs.mu.Unlock() }

// FailWrite makes the next n writes fail with ENOSPC.
func (fs *FS) FailWrite(n int) { fs.mu.Lock(); fs.failWrite = n; fs.mu.Unlock() }

// Writes is the number of writes seen.
func (fs *FS) Writes() int { fs.mu.Lock(); defer fs.mu.Unlock(); return fs.writes }

// New returns a fault FS.
func New() *FS { return &FS{synced: map[string]int64{}} }

type file struct {
	fs   *FS
	name string
	f    *os.File
}

func (fs *FS) Create(name string) (persist.File, error) {
	f, err := os.OpenFile(name, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	fs.mu.Lock()
	fs.synced[name] = 0
	fs.mu.Unlock()
	return &file{fs: fs, name: name, f: f}, nil
}

func (fs *FS) OpenAppend(name string) (persist.File, error) {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	fs.mu.Lock()
	if _, ok := fs.synced[name]; !ok {
		st, _ := f.Stat()
		fs.synced[name] = st.Size() // what was there before is durable
	}
	fs.mu.Unlock()
	return &file{fs: fs, name: name, f: f}, nil
}

func (fs *FS) Rename(from, to string) error {
	fs.mu.Lock()
	if n, ok := fs.synced[from]; ok {
		fs.synced[to] = n
		delete(fs.synced, from)
	}
	fs.mu.Unlock()
	return os.Rename(from, to)
}

func (fs *FS) Truncate(name string, size int64) error {
	fs.mu.Lock()
	if n, ok := fs.synced[name]; ok && n > size {
		fs.synced[name] = size
	}
	fs.mu.Unlock()
	return os.Truncate(name, size)
}

var ErrInjected = errors.New("injected fault")

func (f *file) Write(b []byte) (int, error) {
	f.fs.mu.Lock()
	f.fs.writes++
	if f.fs.failWrite > 0 {
		f.fs.failWrite--
		f.fs.mu.Unlock()
		return 0, syscall.ENOSPC
	}
	f.fs.mu.Unlock()
	return f.f.Write(b)
}

func (f *file) Sync() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.fs.failSync > 0 {
		f.fs.failSync--
		return syscall.EIO
	}
	st, err := f.f.Stat()
	if err != nil {
		return err
	}
	f.fs.synced[f.name] = st.Size()
	return f.f.Sync()
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
