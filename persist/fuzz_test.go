package persist

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzRecover: any bytes as the newest segment recover without a panic,
// keep every valid record before the first bad one, and leave a log that
// accepts appends.
func FuzzRecover(f *testing.F) {
	var seed []byte
	for i := uint64(1); i <= 3; i++ {
		seed = appendRecord(seed, RecSessionPut, i, []byte{1, 'a', 1, 'b'})
	}
	f.Add(seed)
	f.Add(append(seed[:len(seed)-3:len(seed)-3], 0, 0, 0))
	f.Add([]byte{1, 5, 0, 0, 255, 255, 255, 255})
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, segName(1)), data, 0o600)
		n := 0
		l, _, err := Open(Options{Dir: dir}, func(Record) { n++ })
		if err != nil {
			t.Fatal(err)
		}
		l.Append(RecSessionDel, []byte{1, 'a'}, 0)
		l.Close()
		m := 0
		l2, _, err := Open(Options{Dir: dir}, func(Record) { m++ })
		if err != nil || m != n+1 {
			t.Fatalf("reopen: %v, %d records, want %d", err, m, n+1)
		}
		l2.Close()
	})
}
