//go:build !nopersist

package broker

import (
	"os"
	"strconv"
	"testing"
	"time"

	"midge/broker/config"
	"midge/broker/packet"
)

// TestRecoveryTime measures how long a broker takes from start to serving
// with a store of durable sessions and queued QoS 1 messages, and how long
// a compaction of that store pauses the loop (the snapshot is built on the
// loop). By default it runs a small store and checks that everything comes
// back; MIDGE_RECOVERY_SESSIONS and MIDGE_RECOVERY_QUEUED scale it (10000
// and 100 make the 1 million message store of the recovery benchmark).
func TestRecoveryTime(t *testing.T) {
	sessions, queued := envInt("MIDGE_RECOVERY_SESSIONS", 500), envInt("MIDGE_RECOVERY_QUEUED", 20)
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Listeners[0].Port = 0
	cfg.Log.Dest = []string{"none"}
	cfg.Persistence.Enabled, cfg.Persistence.Dir = true, dir
	cfg.MemoryLimit = 1<<31 - 1
	cfg.MaxQueuedMessages = queued + 1
	cfg.Persistence.MaxStoreBytes = 1<<31 - 1

	start := time.Now()
	b, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	go b.Serve()
	payload := make([]byte, 64)
	for i := 0; i < sessions; i++ {
		b.Call(func() {
			s := newSession(b, "s"+strconv.Itoa(i))
			s.expiry = 3600
			b.sessions[s.id] = s
			b.storeSession(s)
			filter := []byte("t/" + strconv.Itoa(i))
			o := subscription{filter: filter}
			o.opts.QoS = 1
			s.subs = map[string]subscription{string(filter): o}
			b.tree.Subscribe(nil, filter, s, o.opts)
			b.storeSub(s, string(filter), o.opts)
			for j := 0; j < queued; j++ {
				m := newMessage(filter, payload, 1, false, &packet.Properties{}, b.now)
				if kept, _ := s.enqueue(&delivery{msg: m, qos: 1, size: messageSize(m)}); !kept {
					t.Errorf("message %d for %s not kept", j, s.id)
				}
			}
		})
	}
	b.Close()
	built := time.Since(start)

	start = time.Now()
	b, err = New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ready := time.Since(start)
	go b.Serve()
	defer b.Close()
	var n, msgs int
	var pause time.Duration
	b.Call(func() {
		n = len(b.sessions)
		for _, s := range b.sessions {
			msgs += s.queue.len()
		}
		t0 := time.Now()
		b.Compact()
		pause = time.Since(t0)
	})
	if n != sessions || msgs != sessions*queued {
		t.Fatalf("restored %d sessions and %d messages, want %d and %d", n, msgs, sessions, sessions*queued)
	}
	size := dirSize(dir)
	t.Logf("%d sessions, %d queued messages, store %.1f MiB (built in %s): ready in %s; compaction snapshot paused the loop %s",
		sessions, msgs, float64(size)/(1<<20), built.Round(time.Millisecond), ready.Round(time.Millisecond), pause.Round(time.Millisecond))
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func dirSize(dir string) int64 {
	var n int64
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if fi, err := e.Info(); err == nil {
			n += fi.Size()
		}
	}
	return n
}
