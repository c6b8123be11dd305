//go:build !nocli && !nopersist

package main

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"midge/broker/packet"
)

// TestSoak runs the real broker under a mixed load for MIDGE_SOAK (a
// duration; `make soak` asks for 30 minutes) and fails when its resources
// trend upward after the warm-up: resident memory, Go heap, open file
// descriptors, goroutines. The load: QoS 1 fan-in, QoS 0 fan-out to 20
// subscribers, a subscriber that never reads, durable sessions that come
// and go while QoS 1 messages queue for them, retained churn with
// subscribers reading the whole retained set, a reconnect storm, SIGHUP
// every minute and a compaction every two. It reports one line every 10 s.
// Without MIDGE_SOAK it is skipped: it is not part of `make test`.
func TestSoak(t *testing.T) {
	spec := os.Getenv("MIDGE_SOAK")
	if spec == "" {
		t.Skip("MIDGE_SOAK=<duration> runs the soak (make soak)")
	}
	total, err := time.ParseDuration(spec)
	if err != nil || total < 2*time.Minute {
		t.Fatalf("MIDGE_SOAK=%q: want a duration of at least 2m", spec)
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "midge.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf(`listener 0 127.0.0.1
allow_anonymous true
persistence true
persistence_location %s/
sys_interval 10
max_queued_messages 1000
`, dir)), 0o644)
	cmd, addr := launchMidge(t, "-c", conf)
	pid := cmd.Process.Pid

	deadline := time.Now().Add(total)
	var wg sync.WaitGroup
	var stats soakStats
	run := func(name string, fn func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				if err := fn(); err != nil {
					stats.errors.Add(1)
					stats.note(name + ": " + err.Error())
					time.Sleep(200 * time.Millisecond)
				}
			}
		}()
	}

	// QoS 1 fan-in: 4 publishers, one subscriber reading everything.
	go soakReader(addr, "fanin-sub", "soak/in/#", 0, deadline, &stats.received)
	for i := 0; i < 4; i++ {
		i := i
		run("fan-in", func() error {
			return soakPublisher(addr, fmt.Sprintf("in-%d", i), "soak/in/"+strconv.Itoa(i), 1, 2*time.Millisecond, deadline, &stats.sent)
		})
	}
	// QoS 0 fan-out to 20 readers, and one QoS 1 subscriber that never reads.
	for i := 0; i < 20; i++ {
		go soakReader(addr, fmt.Sprintf("out-%d", i), "soak/out", 0, deadline, &stats.received)
	}
	if stalled, _, err := rawDial(addr, "stalled", true); err == nil {
		stalled.c.Write(packet.AppendSubscribe(nil, packet.SUBSCRIBE, 1, nil, []packet.Subscription{{Filter: []byte("soak/out"), QoS: 1}}, packet.Version311))
		go keepAlive(stalled, deadline) // it pings but never reads: the broker stops reading it once its output is full
		defer stalled.c.Close()
	}
	run("fan-out", func() error {
		return soakPublisher(addr, "out-pub", "soak/out", 0, 10*time.Millisecond, deadline, &stats.sent)
	})
	// Durable sessions that come and go while QoS 1 messages queue for them.
	for i := 0; i < 10; i++ {
		id := fmt.Sprintf("durable-%d", i)
		run("durable", func() error { return soakDurable(addr, id, &stats.received) })
	}
	run("durable-pub", func() error {
		return soakPublisher(addr, "dur-pub", "soak/dur", 1, 20*time.Millisecond, deadline, &stats.sent)
	})
	// Retained churn, and subscribers that read the retained set.
	run("retained", func() error { return soakRetained(addr, deadline) })
	run("retained-sub", func() error {
		soakReader(addr, "ret-sub", "soak/ret/#", 0, time.Now().Add(time.Second), &stats.received)
		time.Sleep(30 * time.Second)
		return nil
	})
	// A reconnect storm every minute, SIGHUP every minute, compaction every two.
	run("storm", func() error {
		time.Sleep(time.Minute)
		soakStorm(addr, 300)
		return nil
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for n := 1; time.Now().Before(deadline); n++ {
			time.Sleep(time.Minute)
			cmd.Process.Signal(syscall.SIGHUP)
			if n%2 == 0 {
				cmd.Process.Signal(syscall.SIGUSR1)
			}
		}
	}()

	// Sampling: resident memory, threads and fds from /proc, heap and
	// goroutines from $SYS, the round trip of a PINGREQ.
	sys := newSysWatch(addr)
	var samples []soakSample
	t.Logf("%6s %9s %9s %5s %5s %7s %9s %9s %7s", "t", "rss_kb", "heap_kb", "fds", "thr", "goroutn", "sent", "received", "ping_ms")
	for start := time.Now(); time.Now().Before(deadline); {
		time.Sleep(10 * time.Second)
		s := soakSample{at: time.Since(start), rss: procStatus(pid, "VmRSS"), threads: procStatus(pid, "Threads"),
			fds: countFDs(pid), heap: sys.get("$SYS/broker/heap/current") / 1024, goroutines: sys.get("$SYS/broker/midge/goroutines"),
			ping: pingRTT(addr)}
		samples = append(samples, s)
		t.Logf("%6.0f %9d %9d %5d %5d %7d %9d %9d %7.2f", s.at.Seconds(), s.rss, s.heap, s.fds, s.threads, s.goroutines,
			stats.sent.Load(), stats.received.Load(), float64(s.ping.Microseconds())/1000)
		if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
			t.Fatalf("broker died: %v", err)
		}
	}
	wg.Wait()
	t.Logf("load errors: %d (last: %s)", stats.errors.Load(), stats.last())

	// After the warm-up (a fifth of the run), the median of the last third
	// of the samples must not exceed the first third's by more than the
	// noise of a shared machine.
	warm := samples[len(samples)/5:]
	third := len(warm) / 3
	if third < 2 {
		t.Fatal("too few samples after the warm-up")
	}
	first, last := warm[:third], warm[len(warm)-third:]
	check := func(what string, get func(soakSample) int64, ratio float64, slack int64) {
		a, b := median(first, get), median(last, get)
		t.Logf("%s: %d -> %d", what, a, b)
		if float64(b) > float64(a)*ratio && b-a > slack {
			t.Errorf("%s trends upward: median %d in the first third after warm-up, %d in the last", what, a, b)
		}
	}
	check("rss_kb", func(s soakSample) int64 { return s.rss }, 1.25, 4096)
	check("heap_kb", func(s soakSample) int64 { return s.heap }, 1.25, 4096)
	check("fds", func(s soakSample) int64 { return s.fds }, 1, 20)
	check("goroutines", func(s soakSample) int64 { return s.goroutines }, 1, 20)
	var worst time.Duration
	for _, s := range samples {
		worst = max(worst, s.ping)
	}
	t.Logf("longest ping round trip: %s", worst)
}

type soakSample struct {
	at                                  time.Duration
	rss, heap, fds, threads, goroutines int64
	ping                                time.Duration
}

type soakStats struct {
	sent, received, errors atomic.Int64
	mu                     sync.Mutex
	lastErr                string
}

func (s *soakStats) note(e string) { s.mu.Lock(); s.lastErr = e; s.mu.Unlock() }
func (s *soakStats) last() string  { s.mu.Lock(); defer s.mu.Unlock(); return s.lastErr }

func median(ss []soakSample, get func(soakSample) int64) int64 {
	v := make([]int64, len(ss))
	for i, s := range ss {
		v[i] = get(s)
	}
	sort.Slice(v, func(i, j int) bool { return v[i] < v[j] })
	return v[len(v)/2]
}

// soakPublisher publishes one message every every until until or an error;
// QoS 1 waits for each PUBACK.
func soakPublisher(addr, id, topic string, qos byte, every time.Duration, until time.Time, sent *atomic.Int64) error {
	rc, _, err := rawDial(addr, id, true)
	if err != nil {
		return err
	}
	defer rc.c.Close()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for pid := uint16(1); time.Now().Before(until); pid = pid%60000 + 1 {
		<-tick.C
		p := packet.Publish{Topic: []byte(topic), QoS: qos, PacketID: pid, Payload: []byte("soak " + strconv.Itoa(int(pid)))}
		if qos == 0 {
			p.PacketID = 0
		}
		if _, err := rc.c.Write(packet.AppendPublish(nil, &p, packet.Version311)); err != nil {
			return err
		}
		if qos == 1 {
			if err := rc.expectAck(packet.PUBACK, pid); err != nil {
				return err
			}
		}
		sent.Add(1)
	}
	return nil
}

// soakReader subscribes and reads (acknowledging QoS 1) until until.
func soakReader(addr, id, filter string, qos byte, until time.Time, received *atomic.Int64) {
	rc, _, err := rawDial(addr, id, true)
	if err != nil {
		return
	}
	defer rc.c.Close()
	rc.c.Write(packet.AppendSubscribe(nil, packet.SUBSCRIBE, 1, nil, []packet.Subscription{{Filter: []byte(filter), QoS: qos}}, packet.Version311))
	go keepAlive(rc, until)
	for time.Now().Before(until) {
		h, body, err := rc.read(time.Until(until) + time.Second)
		if err != nil {
			return
		}
		if h.Type == packet.PUBLISH {
			received.Add(1)
			if qos := (h.Flags >> 1) & 3; qos == 1 && len(body) >= 2 {
				n := int(body[0])<<8 | int(body[1])
				if len(body) >= 4+n {
					rc.ack(packet.PUBACK, uint16(body[2+n])<<8|uint16(body[3+n]))
				}
			}
		}
	}
}

// keepAlive sends PINGREQ every 20 s (the keep alive is 60 s) until until
// or the connection breaks; the responses are read, or not, by the owner.
func keepAlive(rc *rawConn, until time.Time) {
	for time.Now().Before(until) {
		time.Sleep(20 * time.Second)
		if _, err := rc.c.Write(packet.AppendPingreq(nil)); err != nil {
			return
		}
	}
}

// soakDurable connects a persistent session, reads what queued for it for
// two seconds, disconnects, and stays away three.
func soakDurable(addr, id string, received *atomic.Int64) error {
	rc, present, err := rawDial(addr, id, false)
	if err != nil {
		return err
	}
	if !present {
		rc.c.Write(packet.AppendSubscribe(nil, packet.SUBSCRIBE, 1, nil, []packet.Subscription{{Filter: []byte("soak/dur"), QoS: 1}}, packet.Version311))
	}
	go soakDrain(rc, received)
	time.Sleep(2 * time.Second)
	rc.c.Write(packet.AppendDisconnect(nil, packet.DISCONNECT, &packet.Disconnect{}, packet.Version311))
	rc.c.Close()
	time.Sleep(3 * time.Second)
	return nil
}

func soakDrain(rc *rawConn, received *atomic.Int64) {
	for {
		h, body, err := rc.read(5 * time.Second)
		if err != nil {
			return
		}
		if h.Type == packet.PUBLISH && len(body) >= 2 {
			received.Add(1)
			n := int(body[0])<<8 | int(body[1])
			if (h.Flags>>1)&3 == 1 && len(body) >= 4+n {
				rc.ack(packet.PUBACK, uint16(body[2+n])<<8|uint16(body[3+n]))
			}
		}
	}
}

// soakRetained sets and clears retained messages on 1,000 topics.
func soakRetained(addr string, until time.Time) error {
	rc, _, err := rawDial(addr, "retainer", true)
	if err != nil {
		return err
	}
	defer rc.c.Close()
	for time.Now().Before(until) {
		time.Sleep(5 * time.Millisecond)
		payload := []byte("retained " + time.Now().String())
		if rand.Intn(10) == 0 {
			payload = nil
		}
		p := packet.Publish{Topic: []byte("soak/ret/" + strconv.Itoa(rand.Intn(1000))), Retain: true, Payload: payload}
		if _, err := rc.c.Write(packet.AppendPublish(nil, &p, packet.Version311)); err != nil {
			return err
		}
	}
	return nil
}

// soakStorm connects n clients at once and drops them.
func soakStorm(addr string, n int) {
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if rc, _, err := rawDial(addr, "storm-"+strconv.Itoa(i), i%2 == 0); err == nil {
				rc.c.Close()
			}
		}(i)
	}
	wg.Wait()
}

// sysWatch keeps the latest value of each $SYS topic.
type sysWatch struct {
	mu   sync.Mutex
	vals map[string]int64
}

func newSysWatch(addr string) *sysWatch {
	w := &sysWatch{vals: map[string]int64{}}
	go func() {
		rc, _, err := rawDial(addr, "sys-watch", true)
		if err != nil {
			return
		}
		rc.c.Write(packet.AppendSubscribe(nil, packet.SUBSCRIBE, 1, nil, []packet.Subscription{{Filter: []byte("$SYS/#")}}, packet.Version311))
		go keepAlive(rc, time.Now().Add(24*time.Hour))
		for {
			h, body, err := rc.read(time.Hour)
			if err != nil {
				return
			}
			var p packet.Publish
			if h.Type != packet.PUBLISH || packet.DecodePublish(&p, h.Flags, body, packet.Version311) != nil {
				continue
			}
			if v, err := strconv.ParseInt(string(p.Payload), 10, 64); err == nil {
				w.mu.Lock()
				w.vals[string(p.Topic)] = v
				w.mu.Unlock()
			}
		}
	}()
	return w
}

func (w *sysWatch) get(topic string) int64 { w.mu.Lock(); defer w.mu.Unlock(); return w.vals[topic] }

// procStatus reads a numeric field of /proc/<pid>/status (kB for memory).
func procStatus(pid int, field string) int64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == field+":" {
			v, _ := strconv.ParseInt(f[1], 10, 64)
			return v
		}
	}
	return -1
}

func countFDs(pid int) int64 {
	ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return int64(len(ents))
}

// pingRTT is the round trip of a PINGREQ on a fresh connection: how long
// the loop takes to serve a bystander under the load.
func pingRTT(addr string) time.Duration {
	rc, _, err := rawDial(addr, "pinger", true)
	if err != nil {
		return -1
	}
	defer rc.c.Close()
	start := time.Now()
	rc.c.Write(packet.AppendPingreq(nil))
	for {
		h, _, err := rc.read(5 * time.Second)
		if err != nil {
			return -1
		}
		if h.Type == packet.PINGRESP {
			return time.Since(start)
		}
	}
}
