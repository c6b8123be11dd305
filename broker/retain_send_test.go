package broker_test

import (
	"strings"
	"testing"
	"time"

	"midge/broker/config"
	"midge/broker/packet"
	"midge/internal/testutil"
)

// retainedFlood stores n retained messages (QoS qos, pad bytes of payload
// more) through a publisher.
func retainedFlood(t *testing.T, addr string, n int, qos byte, pad int) {
	t.Helper()
	pub := connect(t, addr, "pub", packet.Version311, true, nil)
	padding := strings.Repeat("x", pad)
	for i := 0; i < n; i++ {
		p := packet.Publish{Topic: []byte("r/" + itoa(i)), QoS: qos, PacketID: uint16(i%60000 + 1), Retain: true, Payload: []byte("payload-" + itoa(i) + padding)}
		pub.Send(packet.AppendPublish(nil, &p, pub.Version))
	}
	if qos > 0 {
		for i := 0; i < n; i++ {
			if h, _ := pub.Read(5 * time.Second); h.Type != packet.PUBACK {
				t.Fatalf("expected PUBACK, got %s", h.Type)
			}
		}
	}
}

func smallBuffers(c *config.Config) {
	c.ClientBufferBytes = 8 * 1024
	c.MaxQueuedMessages = 20
	c.MaxRetainedMessages = 20000
}

// A new subscriber gets every retained message, paced to its output, not
// the few that fit its buffer and queue.
func TestRetainedDeliveryIsPaced(t *testing.T) {
	const n = 10000
	for _, qos := range []byte{0, 1} {
		b, addr := testutil.StartBroker(t, smallBuffers)
		retainedFlood(t, addr, n, qos, 0)
		testutil.Eventually(t, 5*time.Second, "retained stored", func() bool { return b.Snapshot().RetainedMessages == n })
		sub := connect(t, addr, "sub", packet.Version311, true, nil)
		subscribe(t, sub, "#", qos)
		seen := make(map[string]bool, n)
		for len(seen) < n {
			h, body, err := sub.TryRead(3 * time.Second)
			if err != nil {
				break
			}
			if h.Type != packet.PUBLISH {
				continue
			}
			var p packet.Publish
			if err := packet.DecodePublish(&p, h.Flags, body, sub.Version); err != nil {
				t.Fatal(err)
			}
			if !p.Retain {
				t.Fatalf("QoS %d: %s without the retain flag", qos, p.Topic)
			}
			seen[string(p.Topic)] = true
			if p.QoS > 0 {
				ack(sub, packet.PUBACK, p.PacketID)
			}
		}
		if len(seen) != n {
			t.Fatalf("QoS %d: got %d of %d retained messages; drops %v", qos, len(seen), n, b.Snapshot().Drops)
		}
	}
}

// A retained message replaced after the SUBSCRIBE, while the subscriber's
// backlog still holds the old one, reaches it only as the new value: the
// stale one is not sent after it.
func TestRetainedBacklogNotStale(t *testing.T) {
	const n = 5000
	b, addr := testutil.StartBroker(t, func(c *config.Config) {
		smallBuffers(c)
		c.MaxRetainedBytes = 32 << 20
	})
	// 10 MB of retained messages: more than the socket buffers hold, so
	// most of the backlog is still pending when the replacements arrive.
	retainedFlood(t, addr, n, 0, 2000)
	testutil.Eventually(t, 5*time.Second, "retained stored", func() bool { return b.Snapshot().RetainedMessages == n })
	pub := connect(t, addr, "pub2", packet.Version311, true, nil)
	sub := connect(t, addr, "sub", packet.Version311, true, nil)
	subscribe(t, sub, "#", 0) // the backlog is now pending: nothing read yet
	replaced := map[string]bool{}
	for k := 1; k <= 10; k++ {
		topic := "r/" + itoa(n-k*491)
		replaced[topic] = true
		p := packet.Publish{Topic: []byte(topic), Retain: true, Payload: []byte("new")}
		pub.Send(packet.AppendPublish(nil, &p, pub.Version))
	}
	ping := packet.AppendPingreq(nil)
	pub.Send(ping)
	if h, _ := pub.Read(2 * time.Second); h.Type != packet.PINGRESP {
		t.Fatalf("expected PINGRESP, got %s", h.Type)
	}
	got := map[string][]string{}
	seen := make(map[string]bool, n)
	for {
		h, body, err := sub.TryRead(time.Second)
		if err != nil {
			break
		}
		var q packet.Publish
		if h.Type != packet.PUBLISH || packet.DecodePublish(&q, h.Flags, body, sub.Version) != nil {
			t.Fatalf("unexpected %s", h.Type)
		}
		seen[string(q.Topic)] = true
		if replaced[string(q.Topic)] {
			got[string(q.Topic)] = append(got[string(q.Topic)], string(q.Payload))
		}
	}
	if len(seen) != n {
		t.Fatalf("got %d of %d topics", len(seen), n)
	}
	// The old value may come first if it was sent before the replacement;
	// it must never come after it.
	for topic := range replaced {
		if v := got[topic]; len(v) == 0 || v[len(v)-1] != "new" {
			t.Fatalf("%s: %d values, the last not the new one", topic, len(v))
		}
	}
}

// Two SUBSCRIBEs in a row, each with its subscription identifier, while
// the first one's retained messages are still pending: each subscription
// gets every retained message once, tagged with its own identifier.
func TestRetainedBacklogTwoSubscribes(t *testing.T) {
	const n = 2000
	b, addr := testutil.StartBroker(t, smallBuffers)
	retainedFlood(t, addr, n, 0, 100)
	testutil.Eventually(t, 5*time.Second, "retained stored", func() bool { return b.Snapshot().RetainedMessages == n })
	sub := connect(t, addr, "sub", packet.Version5, true, nil)
	for i, f := range []string{"r/#", "#"} {
		props := packet.Properties{SubIDs: packet.AppendSubscriptionID(nil, uint32(i+1))}
		sub.Send(packet.AppendSubscribe(nil, packet.SUBSCRIBE, uint16(i+1), &props, []packet.Subscription{{Filter: []byte(f), QoS: 1}}, packet.Version5))
	}
	per := map[uint32]map[string]bool{1: {}, 2: {}}
	subacks := 0
	for {
		h, body, err := sub.TryRead(time.Second)
		if err != nil {
			break
		}
		if h.Type == packet.SUBACK {
			subacks++
			continue
		}
		var p packet.Publish
		if h.Type != packet.PUBLISH || packet.DecodePublish(&p, h.Flags, body, packet.Version5) != nil {
			t.Fatalf("unexpected %s", h.Type)
		}
		id := p.Props.FirstSubscriptionID()
		if per[id] == nil || per[id][string(p.Topic)] {
			t.Fatalf("%s: subscription identifier %d, or a duplicate", p.Topic, id)
		}
		per[id][string(p.Topic)] = true
	}
	if subacks != 2 || len(per[1]) != n || len(per[2]) != n {
		t.Fatalf("%d SUBACKs, %d and %d of %d retained messages", subacks, len(per[1]), len(per[2]), n)
	}
}

// A subscriber that leaves with its backlog pending: the backlog and its
// memory charge go with the connection.
func TestRetainedBacklogDroppedOnDisconnect(t *testing.T) {
	const n = 5000
	b, addr := testutil.StartBroker(t, func(c *config.Config) {
		smallBuffers(c)
		c.MaxRetainedBytes = 32 << 20
	})
	retainedFlood(t, addr, n, 1, 2000)
	testutil.Eventually(t, 5*time.Second, "retained stored", func() bool { return b.Snapshot().RetainedMessages == n })
	sub := connect(t, addr, "sub", packet.Version311, true, nil)
	subscribe(t, sub, "#", 1) // and never reads
	sub.Conn.Close()
	testutil.Eventually(t, 5*time.Second, "memory back to the retained store", func() bool {
		k := b.Snapshot()
		return k.Sessions == 1 && k.Memory == k.RetainedBytes
	})
}
