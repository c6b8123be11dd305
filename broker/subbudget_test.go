package broker_test

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"midge/broker"
	"midge/broker/config"
	"midge/broker/packet"
	"midge/internal/testutil"
)

// subscribeAll sends one SUBSCRIBE (or UNSUBSCRIBE) of filters and returns
// the acknowledgement's reason codes.
func subscribeAll(t *testing.T, r *testutil.Raw, typ packet.Type, id uint16, v byte, filters []string) []byte {
	t.Helper()
	subs := make([]packet.Subscription, len(filters))
	for i, f := range filters {
		subs[i] = packet.Subscription{Filter: []byte(f)}
	}
	r.Send(packet.AppendSubscribe(nil, typ, id, nil, subs, v))
	h, body := r.Read(5 * time.Second)
	want := packet.SUBACK
	if typ == packet.UNSUBSCRIBE {
		want = packet.UNSUBACK
	}
	var sa packet.Suback
	if h.Type != want || packet.DecodeSuback(&sa, h.Type, body, v) != nil {
		t.Fatalf("no ack of type %d", want)
	}
	return append([]byte(nil), sa.Reasons...)
}

func subMemoryDrops(k broker.Counters) uint64 {
	for i, n := range k.DropNames {
		if n == "subscription_memory" {
			return k.Drops[i]
		}
	}
	return 0
}

// One client's subscriptions are charged to the memory budget: past it they
// are refused with 0x97, counted, and the broker's counted memory stays
// within memory_limit. Unsubscribing gives the bytes back, so a second
// client can then subscribe.
func TestSubscriptionMemoryBudget(t *testing.T) {
	const limit = 256 * 1024
	b, addr := testutil.StartBroker(t, func(c *config.Config) { c.MemoryLimit = limit })
	hog := connect(t, addr, "hog", packet.Version5, true, nil)
	filters := make([]string, 200)
	for i := range filters {
		filters[i] = "big/" + strings.Repeat("x", 900) + "/" + itoa(i)
	}
	reasons := subscribeAll(t, hog, packet.SUBSCRIBE, 1, packet.Version5, filters)
	ok, quota := 0, 0
	var granted []string
	for i, rc := range reasons {
		switch rc {
		case 0:
			ok++
			granted = append(granted, filters[i])
		case byte(packet.QuotaExceeded):
			quota++
		default:
			t.Fatalf("filter %d: reason %#x", i, rc)
		}
	}
	if ok == 0 || quota == 0 {
		t.Fatalf("granted %d, refused %d: want both", ok, quota)
	}
	k := b.Snapshot()
	if k.Memory > limit || k.Memory < ok*900 {
		t.Fatalf("counted memory %d for %d subscriptions of 900+ bytes, limit %d", k.Memory, ok, limit)
	}
	if got := subMemoryDrops(k); got != uint64(quota) {
		t.Fatalf("subscription_memory counted %d, refused %d", got, quota)
	}

	other := connect(t, addr, "other", packet.Version311, true, nil)
	if rc := subscribeAll(t, other, packet.SUBSCRIBE, 1, packet.Version311, filters[:1]); rc[0] != 0x80 {
		t.Fatalf("second client over the budget: %#x, want 0x80", rc[0])
	}
	subscribeAll(t, hog, packet.UNSUBSCRIBE, 2, packet.Version5, granted)
	if m := b.Snapshot().Memory; m != 0 {
		t.Fatalf("memory %d after unsubscribing everything, want 0", m)
	}
	if rc := subscribeAll(t, other, packet.SUBSCRIBE, 2, packet.Version311, filters[:1]); rc[0] != 0 {
		t.Fatalf("second client after unsubscribe: %#x, want 0", rc[0])
	}
	other.Send([]byte{0xe0, 0}) // DISCONNECT: the clean session ends, its subscriptions with it
	testutil.Eventually(t, 5*time.Second, "memory back to 0", func() bool { return b.Snapshot().Memory == 0 })
}

// A filter longer than max_filter_length is refused: 0x8F for 5.0, 0x80
// for 3.1.1; the one next to it is granted.
func TestFilterLengthCap(t *testing.T) {
	_, addr := testutil.StartBroker(t, func(c *config.Config) { c.MaxFilterLength = 100 })
	long := "a/" + strings.Repeat("b", 99)
	for _, v := range []byte{packet.Version5, packet.Version311} {
		r := connect(t, addr, "long"+itoa(int(v)), v, true, nil)
		rc := subscribeAll(t, r, packet.SUBSCRIBE, 1, v, []string{long, long[:100]})
		want := byte(packet.TopicFilterInvalid)
		if v != packet.Version5 {
			want = 0x80
		}
		if rc[0] != want || rc[1] != 0 {
			t.Fatalf("version %d: reasons %#x, want [%#x 0]", v, rc, want)
		}
	}
}

// What subscriptions really cost the heap, set against what the memory
// budget charges for them: the charge must not be below the heap.
func TestSubscriptionHeap(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    int
		f    func(i int) string
	}{
		{"short", 2000, func(i int) string { return "home/room" + itoa(i%50) + "/sensor/" + itoa(i) }},
		{"long", 200, func(i int) string { return "big/" + itoa(i) + "/" + strings.Repeat("x", 8000) }},
	} {
		b, addr := testutil.StartBroker(t, func(c *config.Config) { c.MaxSubscriptionsPerClient = 1 << 20; c.MaxFilterLength = 65535 })
		r := connect(t, addr, "heap-"+tc.name, packet.Version311, true, nil)
		filters := make([]string, tc.n)
		filterBytes := 0
		for i := range filters {
			filters[i] = tc.f(i)
			filterBytes += len(filters[i])
		}
		before := heapInUse()
		for i := 0; i < tc.n; i += 100 {
			for _, rc := range subscribeAll(t, r, packet.SUBSCRIBE, uint16(i+1), packet.Version311, filters[i:i+100]) {
				if rc != 0 {
					t.Fatalf("%s: refused %#x", tc.name, rc)
				}
			}
		}
		heap := heapInUse() - before
		charged := b.Snapshot().Memory
		t.Logf("%s: %d subscriptions, %d filter bytes: heap %d (%.0f per subscription, %.2f per filter byte), charged %d",
			tc.name, tc.n, filterBytes, heap, float64(heap)/float64(tc.n), float64(heap)/float64(filterBytes), charged)
		if charged < heap*9/10 {
			t.Errorf("%s: charged %d bytes, heap grew %d", tc.name, charged, heap)
		}
		runtime.KeepAlive(filters)
	}
}

func heapInUse() int {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return int(m.HeapAlloc)
}

// Subscriptions restored from the store at start are charged too, and
// given back when the restored session is taken over by a clean start.
func TestSubscriptionChargeRestored(t *testing.T) {
	dir := t.TempDir()
	b, addr := startStore(t, dir, nil, nil)
	sub := connect(t, addr, "keep", packet.Version311, false, nil)
	subscribe(t, sub, "p/#", 1)
	subscribe(t, sub, "q/"+strings.Repeat("x", 500), 1)
	want := b.Snapshot().Memory
	if want < 500 {
		t.Fatalf("memory %d after two subscriptions", want)
	}
	sub.Conn.Close()
	b.Close()
	b, addr = startStore(t, dir, nil, nil)
	if got := b.Snapshot().Memory; got != want {
		t.Fatalf("memory %d after restore, %d before", got, want)
	}
	connect(t, addr, "keep", packet.Version311, true, nil) // clean session: the old one ends
	testutil.Eventually(t, 5*time.Second, "restored subscriptions uncharged", func() bool { return b.Snapshot().Memory == 0 })
}
