package broker_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"midge/broker/config"
	"midge/broker/packet"
	"midge/internal/testutil"
)

// A subscriber that stops reading: its output buffer and queue stay within
// their limits, drops are counted, and another subscriber is served at once.
func TestSlowConsumer(t *testing.T) {
	b, addr := testutil.StartBroker(t, func(c *config.Config) {
		c.ClientBufferBytes = 16 * 1024
		c.MaxQueuedMessages = 50
		c.MaxQueuedBytes = 64 * 1024
	})
	slow := connect(t, addr, "slow", packet.Version311, true, nil)
	subscribe(t, slow, "flood", 1) // and never reads again
	fast := connect(t, addr, "fast", packet.Version311, true, nil)
	subscribe(t, fast, "flood", 0)
	pub := connect(t, addr, "pub", packet.Version311, true, nil)
	payload := string(bytes.Repeat([]byte("x"), 1000))
	go func() {
		for i := 0; i < 3000; i++ {
			publish(pub, "flood", byte(i%2), uint16(i%60000+1), false, payload)
		}
	}()
	got := 0
	deadline := time.Now().Add(10 * time.Second)
	for got < 3000 && time.Now().Before(deadline) {
		if _, _, err := fast.TryRead(2 * time.Second); err != nil {
			break
		}
		got++
	}
	k := b.Snapshot()
	if k.MaxQueued > 50 || k.MaxQueuedBytes > 64*1024 {
		t.Fatalf("queue grew past its limits: %d messages, %d bytes", k.MaxQueued, k.MaxQueuedBytes)
	}
	if k.MaxOutputBytes > 16*1024+2048 {
		t.Fatalf("output buffer %d bytes, limit 16 KiB", k.MaxOutputBytes)
	}
	if k.Drops[0]+k.Drops[6] == 0 {
		t.Fatalf("no drops counted: %v", k.Drops)
	}
	if got < 2900 { // the reader was not held up (publishes and PUBACKs interleave)
		t.Fatalf("fast subscriber got %d of 3000", got)
	}
}

func TestSubscriptionFlood(t *testing.T) {
	b, addr := testutil.StartBroker(t, func(c *config.Config) { c.MaxSubscriptionsPerClient = 100 })
	r := connect(t, addr, "f", packet.Version5, true, nil)
	subs := make([]packet.Subscription, 300)
	for i := range subs {
		subs[i] = packet.Subscription{Filter: []byte("f/" + strings.Repeat("a", i%50) + "/" + string(rune('A'+i%26)) + "/" + itoa(i))}
	}
	r.Send(packet.AppendSubscribe(nil, packet.SUBSCRIBE, 1, nil, subs, packet.Version5))
	h, body := r.Read(2 * time.Second)
	var sa packet.Suback
	if h.Type != packet.SUBACK || packet.DecodeSuback(&sa, h.Type, body, packet.Version5) != nil {
		t.Fatal("no SUBACK")
	}
	ok, quota := 0, 0
	for _, rc := range sa.Reasons {
		switch rc {
		case 0:
			ok++
		case byte(packet.QuotaExceeded):
			quota++
		}
	}
	if ok != 100 || quota != 200 {
		t.Fatalf("granted %d, refused %d", ok, quota)
	}
	if k := b.Snapshot(); k.Subscriptions != 100 {
		t.Fatalf("tree holds %d subscriptions", k.Subscriptions)
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	s := ""
	for ; i > 0; i /= 10 {
		s = string(rune('0'+i%10)) + s
	}
	return s
}

func TestRetainedFlood(t *testing.T) {
	b, addr := testutil.StartBroker(t, func(c *config.Config) {
		c.MaxRetainedMessages = 100
		c.MaxRetainedBytes = 1 << 20
		c.OverflowPolicy = "reject"
	})
	r := connect(t, addr, "r", packet.Version5, true, nil)
	for i := 0; i < 150; i++ {
		r.Send(packet.AppendPublish(nil, &packet.Publish{Topic: []byte("ret/" + itoa(i)), QoS: 1, PacketID: uint16(i + 1), Retain: true, Payload: []byte("v")}, packet.Version5))
	}
	quota := 0
	for i := 0; i < 150; i++ {
		if a := readAck(t, r, packet.PUBACK); a.Reason == packet.QuotaExceeded {
			quota++
		}
	}
	k := b.Snapshot()
	if k.RetainedMessages != 100 || quota != 50 || k.Drops[5] != 50 {
		t.Fatalf("retained %d, refused %d, drops %v", k.RetainedMessages, quota, k.Drops)
	}
	// Replacing an existing retained message is still allowed.
	r.Send(packet.AppendPublish(nil, &packet.Publish{Topic: []byte("ret/3"), QoS: 1, PacketID: 999, Retain: true, Payload: []byte("new")}, packet.Version5))
	if a := readAck(t, r, packet.PUBACK); a.Reason >= 0x80 {
		t.Fatalf("replace refused: 0x%02x", byte(a.Reason))
	}
}

func TestDeepTopics(t *testing.T) {
	_, addr := testutil.StartBroker(t, func(c *config.Config) { c.MaxTopicLevels = 8 })
	r := connect(t, addr, "d", packet.Version5, true, nil)
	deep := strings.Repeat("a/", 20) + "b"
	r.Send(packet.AppendSubscribe(nil, packet.SUBSCRIBE, 1, nil, []packet.Subscription{{Filter: []byte(deep)}, {Filter: []byte("a/b")}}, packet.Version5))
	h, body := r.Read(2 * time.Second)
	var sa packet.Suback
	packet.DecodeSuback(&sa, h.Type, body, packet.Version5)
	if len(sa.Reasons) != 2 || sa.Reasons[0] != 0x8F || sa.Reasons[1] != 0 {
		t.Fatalf("SUBACK %v", sa.Reasons)
	}
	publish5(r, strings.Repeat("/", 65000), 0, 0, "x", packet.Properties{})
	r.ExpectReason(2*time.Second, int(packet.TopicNameInvalid))
}

func TestPropertyFlood(t *testing.T) {
	_, addr := testutil.StartBroker(t, nil)
	var props packet.Properties
	for i := 0; i < 50000; i++ {
		props.User = packet.AppendUserProperty(props.User, []byte("k"), []byte("v"))
	}
	r := testutil.Dial(t, addr)
	r.Send(packet.AppendConnect(nil, &packet.Connect{Version: packet.Version5, ClientID: []byte("p"), CleanStart: true, Props: props}))
	r.ExpectReason(2*time.Second, int(packet.PacketTooLarge)) // over max_connect_packet_size: refused from the header, answered 0x95
	ok := connect(t, addr, "ok", packet.Version5, true, nil)
	publish5(ok, "pf", 1, 1, "x", props) // 350 KB of properties after CONNECT is fine
	if a := readAck(t, ok, packet.PUBACK); a.Reason != packet.NoMatchingSubscribers {
		t.Fatalf("0x%02x", byte(a.Reason))
	}
}

// A QoS 1 subscriber that never acknowledges: at most the window is in
// flight, the queue holds at most its limit, the rest is dropped and counted.
func TestInflightExhaustion(t *testing.T) {
	b, addr := testutil.StartBroker(t, func(c *config.Config) {
		c.MaxInflightMessages = 10
		c.MaxQueuedMessages = 100
	})
	sub := connect(t, addr, "s", packet.Version5, true, nil)
	subscribe(t, sub, "ex", 1)
	pub := connect(t, addr, "p", packet.Version5, true, nil)
	for i := 0; i < 2000; i++ {
		publish5(pub, "ex", 1, uint16(i+1), "m", packet.Properties{})
	}
	for i := 0; i < 2000; i++ {
		readAck(t, pub, packet.PUBACK)
	}
	k := b.Snapshot()
	if k.MaxInflight != 10 || k.MaxQueued != 100 || k.Drops[0] != 1890 {
		t.Fatalf("in flight %d, queued %d, drops %v", k.MaxInflight, k.MaxQueued, k.Drops)
	}
	ids := map[uint16]bool{}
	for i := 0; i < 10; i++ {
		m := sub.ReadPublish(2 * time.Second)
		if ids[m.PacketID] {
			t.Fatalf("packet id %d reused while in flight", m.PacketID)
		}
		ids[m.PacketID] = true
	}
}

// Overflow policies on a full queue: drop-oldest keeps the newest messages,
// drop-newest the oldest, reject tells a 5.0 publisher 0x97.
func TestOverflowPolicies(t *testing.T) {
	for _, pol := range []string{"drop-oldest", "drop-newest", "reject"} {
		t.Run(pol, func(t *testing.T) {
			_, addr := testutil.StartBroker(t, func(c *config.Config) {
				c.MaxQueuedMessages = 3
				c.OverflowPolicy = pol
			})
			s := connect(t, addr, "s", packet.Version5, true, withExpiry(60))
			subscribe(t, s, "o", 1)
			s.Conn.Close()
			time.Sleep(50 * time.Millisecond)
			p := connect(t, addr, "p", packet.Version5, true, nil)
			var codes []packet.ReasonCode
			for i := 1; i <= 5; i++ {
				publish5(p, "o", 1, uint16(i), itoa(i), packet.Properties{})
				codes = append(codes, readAck(t, p, packet.PUBACK).Reason)
			}
			back := testutil.Dial(t, addr)
			c := packet.Connect{Version: packet.Version5, ClientID: []byte("s"), KeepAlive: 60}
			withExpiry(60)(&c)
			back.Connect(&c)
			got := ""
			for i := 0; i < 3; i++ {
				m := back.ReadPublish(2 * time.Second)
				got += string(m.Payload)
				ack(back, packet.PUBACK, m.PacketID)
			}
			want := map[string]string{"drop-oldest": "345", "drop-newest": "123", "reject": "123"}[pol]
			if got != want {
				t.Fatalf("delivered %q, want %q", got, want)
			}
			rejected := codes[3] == packet.QuotaExceeded && codes[4] == packet.QuotaExceeded
			if rejected != (pol == "reject") {
				t.Fatalf("acks %v", codes)
			}
		})
	}
}

// The memory budget is shared fairly: a client within its share takes room
// from the client holding the most, which cannot push the other out.
func TestMemoryBudgetFairShare(t *testing.T) {
	b, addr := testutil.StartBroker(t, func(c *config.Config) {
		c.MemoryLimit = 64 * 1024
		c.MaxQueuedBytes = 1 << 20
		c.MaxQueuedMessages = 100000
	})
	for _, id := range []string{"hog", "meek"} {
		s := connect(t, addr, id, packet.Version311, false, nil)
		subscribe(t, s, id, 1)
		s.Conn.Close()
	}
	time.Sleep(50 * time.Millisecond)
	p := connect(t, addr, "p", packet.Version311, true, nil)
	payload := string(bytes.Repeat([]byte("x"), 900)) // ~1 KB a message
	for i := 0; i < 200; i++ {
		publish(p, "hog", 1, uint16(i+1), false, payload)
		readAck(t, p, packet.PUBACK)
	}
	k := b.Snapshot()
	if k.Memory > 64*1024 {
		t.Fatalf("memory %d over the 64 KiB budget", k.Memory)
	}
	hogBefore := k.MaxQueuedBytes
	for i := 0; i < 20; i++ {
		publish(p, "meek", 1, uint16(i+1), false, payload)
		readAck(t, p, packet.PUBACK)
	}
	k = b.Snapshot()
	if k.Memory > 64*1024 || k.MaxQueuedBytes >= hogBefore || k.Drops[1] == 0 {
		t.Fatalf("memory %d, largest queue %d (was %d), drops %v", k.Memory, k.MaxQueuedBytes, hogBefore, k.Drops)
	}
	meek := connect(t, addr, "meek", packet.Version311, false, nil)
	for i := 0; i < 20; i++ { // all of the meek client's messages survived
		m := meek.ReadPublish(2 * time.Second)
		ack(meek, packet.PUBACK, m.PacketID)
	}
}
