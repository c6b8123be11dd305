package persist

import (
	"os"
	"path/filepath"
)

// FS is the file system the log uses; tests substitute a fault-injecting
// one (package fault).
type FS interface {
	ReadDir(dir string) ([]string, error)
	ReadFile(name string) ([]byte, error)
	Create(name string) (File, error)     // truncate or create, for writing
	OpenAppend(name string) (File, error) // existing file, writes at the end
	Rename(from, to string) error
	Remove(name string) error
	Truncate(name string, size int64) error
	SyncDir(dir string) error
	MkdirAll(dir string) error
}

// File is an open segment.
type File interface {
	Write(b []byte) (int, error)
	Sync() error
	Close() error
}

// OS is the real file system.
type OS struct{}

func (OS) ReadDir(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		if !e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

func (OS) ReadFile(name string) ([]byte, error) { return os.ReadFile(name) }

func (OS) Create(name string) (File, error) {
	return os.OpenFile(name, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
}

func (OS) OpenAppend(name string) (File, error) {
	return os.OpenFile(name, os.O_WRONLY|os.O_APPEND, 0o600)
}

func (OS) Rename(from, to string) error           { return os.Rename(from, to) }
func (OS) Remove(name string) error               { return os.Remove(name) }
func (OS) Truncate(name string, size int64) error { return os.Truncate(name, size) }
func (OS) MkdirAll(dir string) error              { return os.MkdirAll(dir, 0o700) }

func (OS) SyncDir(dir string) error {
	d, err := os.Open(filepath.Clean(dir))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
