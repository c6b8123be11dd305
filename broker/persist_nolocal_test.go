//go:build !nopersist

package broker_test

import (
	"testing"
	"time"

	"midge/broker/packet"
	"midge/internal/testutil"
)

// No Local is kept with a durable subscription: across a reconnect and
// across a restart with persistence, the client still does not receive
// its own publications on it, and still receives others'.
func TestNoLocalSurvivesPersistentSession(t *testing.T) {
	dir := t.TempDir()
	b, addr := startStore(t, dir, nil, nil)
	c := packet.Connect{Version: packet.Version5, ClientID: []byte("nl"), KeepAlive: 60}
	durable(packet.Version5)(&c)
	r := testutil.Dial(t, addr)
	r.Connect(&c)
	r.Send(packet.AppendSubscribe(nil, packet.SUBSCRIBE, 1, nil,
		[]packet.Subscription{{Filter: []byte("nl/#"), QoS: 1, NoLocal: true}}, packet.Version5))
	if h, _ := r.Read(2 * time.Second); h.Type != packet.SUBACK {
		t.Fatalf("expected SUBACK, got %s", h.Type)
	}
	check := func(when, addr string) {
		t.Helper()
		r := testutil.Dial(t, addr)
		if ack := r.Connect(&c); !ack.SessionPresent {
			t.Fatalf("%s: session not present", when)
		}
		publish(r, "nl/self", 0, 0, false, "own")
		other := connect(t, addr, "other-"+when, packet.Version5, true, nil)
		publish(other, "nl/other", 0, 0, false, "theirs")
		if m := r.ReadPublish(2 * time.Second); string(m.Payload) != "theirs" {
			t.Fatalf("%s: No Local lost, got %q on %s", when, m.Payload, m.Topic)
		}
		r.Conn.Close()
	}
	r.Conn.Close()
	testutil.Eventually(t, 2*time.Second, "offline", func() bool {
		n := -1
		b.Call(func() { n = b.Counters().Connected })
		return n == 0
	})
	check("reconnect", addr)
	b.Close()
	_, addr = startStore(t, dir, nil, nil)
	check("restart", addr)
}
