package broker

import (
	"net/netip"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"midge/broker/config"
	"midge/broker/packet"
)

// harness drives the loop's handlers synchronously over socketpairs, so
// allocation and memory figures count the broker alone.
type harness struct {
	t    testing.TB
	b    *Broker
	peer map[*conn]int // the client end of each connection's socketpair
	buf  []byte
}

func newHarness(t testing.TB) *harness { return newHarnessWith(t, nil) }

func newHarnessWith(t testing.TB, mutate func(*config.Config)) *harness {
	cfg := config.Default()
	cfg.Listeners[0].Port = 0
	cfg.MaxConnections = 100000
	if mutate != nil {
		mutate(cfg)
	}
	b, err := New(cfg, NewLogger(nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.shutdown() })
	return &harness{t: t, b: b, peer: map[*conn]int{}, buf: make([]byte, 1<<16)}
}

// socketpair returns a non-blocking connected pair.
func (h *harness) socketpair() [2]int {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		h.t.Fatal(err)
	}
	unix.SetNonblock(fds[0], true)
	unix.SetNonblock(fds[1], true)
	return [2]int{fds[0], fds[1]}
}

// conn makes a connected client with id and protocol version v.
func (h *harness) conn(id string, v byte) *conn {
	fds := h.socketpair()
	b := h.b
	c := newConn(b, b.listeners[0], fds[0], netip.AddrPort{})
	b.track(c)
	b.poller.Add(fds[0], true, false)
	h.peer[c] = fds[1]
	h.feed(c, packet.AppendConnect(nil, &packet.Connect{Version: v, ClientID: []byte(id), CleanStart: true}))
	if c.state != stateConnected {
		h.t.Fatalf("%s not connected", id)
	}
	h.drain(c)
	return c
}

func (h *harness) feed(c *conn, data []byte) {
	if _, err := c.handleFrames(data); err != nil {
		h.t.Fatal(err)
	}
	h.b.endTurn()
}

// drain reads everything the broker wrote to c's client end.
func (h *harness) drain(c *conn) int {
	total := 0
	for {
		n, err := unix.Read(h.peer[c], h.buf)
		if n <= 0 || err != nil {
			return total
		}
		total += n
	}
}

func (h *harness) subscribe(c *conn, filter string, qos byte) {
	h.feed(c, packet.AppendSubscribe(nil, packet.SUBSCRIBE, 1, nil, []packet.Subscription{{Filter: []byte(filter), QoS: qos}}, c.version))
	h.drain(c)
}

// TestQoS0PathAllocatesNothing: parse, match, enqueue and encode of a QoS 0
// publication to online subscribers allocate nothing in steady state.
func TestQoS0PathAllocatesNothing(t *testing.T) { qos0Allocs(t, nil) }

func qos0Allocs(t *testing.T, mutate func(*config.Config)) {
	for _, v := range []byte{packet.Version311, packet.Version5} {
		h := newHarnessWith(t, mutate)
		pub := h.conn("pub", v)
		subs := []*conn{h.conn("s1", v), h.conn("s2", packet.Version5), h.conn("s3", packet.Version311)}
		for i, s := range subs {
			h.subscribe(s, "sensors/+/temp", 0)
			h.subscribe(s, []string{"sensors/#", "#", "sensors/kitchen/temp"}[i], 1)
		}
		msg := packet.AppendPublish(nil, &packet.Publish{Topic: []byte("sensors/kitchen/temp"), Payload: []byte("21.5")}, v)
		got := 0
		step := func() {
			h.feed(pub, msg)
			for _, s := range subs {
				got += h.drain(s)
			}
		}
		for i := 0; i < 10; i++ {
			step() // warm up the pools and scratch buffers
		}
		if got == 0 {
			t.Fatal("nothing delivered")
		}
		if n := testing.AllocsPerRun(1000, step); n != 0 {
			t.Fatalf("v%d: %v allocations per QoS 0 message, want 0", v, n)
		}
	}
}

func BenchmarkQoS0FanOut(b *testing.B) { benchFanOut(b, nil) }

func benchFanOut(b *testing.B, mutate func(*config.Config)) {
	for _, n := range []int{1, 10, 100} {
		b.Run("subscribers="+itoa(n), func(b *testing.B) {
			h := newHarnessWith(b, mutate)
			pub := h.conn("pub", packet.Version311)
			subs := make([]*conn, n)
			for i := range subs {
				subs[i] = h.conn("s"+itoa(i), packet.Version311)
				h.subscribe(subs[i], "bench/+", 0)
			}
			msg := packet.AppendPublish(nil, &packet.Publish{Topic: []byte("bench/x"), Payload: make([]byte, 64)}, packet.Version311)
			b.ReportAllocs()
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				h.feed(pub, msg)
				for _, s := range subs {
					h.drain(s)
				}
			}
		})
	}
}

func BenchmarkQoS1RoundTrip(b *testing.B) {
	h := newHarness(b)
	pub := h.conn("pub", packet.Version5)
	sub := h.conn("sub", packet.Version5)
	h.subscribe(sub, "q1", 1)
	msg := packet.AppendPublish(nil, &packet.Publish{Topic: []byte("q1"), QoS: 1, PacketID: 1, Payload: make([]byte, 64)}, packet.Version5)
	b.ReportAllocs()
	for b.Loop() {
		h.feed(pub, msg)
		h.drain(pub)
		h.drain(sub)
		id := sub.sess.nextID
		h.feed(sub, packet.AppendAck(h.buf[:0], &packet.Ack{Type: packet.PUBACK, PacketID: id}, packet.Version5))
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

// TestIdleConnectionMemory measures the heap a connected, subscribed, idle
// client costs the broker (kernel socket buffers not included).
func TestIdleConnectionMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("measurement")
	}
	const n = 2000
	h := newHarness(t)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := 0; i < n; i++ {
		h.conn("client-"+itoa(100000+i), packet.Version311)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / n
	// The harness's own map entry (peer fd) is counted too: ~50 bytes.
	t.Logf("heap per idle connection: %.0f bytes (3.1.1, 16-byte client id, no subscriptions)", per)
	if per > 2048 {
		t.Fatalf("%.0f bytes per idle connection, budget 2048", per)
	}
}
