package broker_test

import (
	"net"
	"testing"
	"time"

	"midge/broker/config"
	"midge/broker/packet"
	"midge/internal/testutil"
)

// These tests speak raw MQTT where the Paho clients cannot be made to
// misbehave: not acknowledging, resending with DUP, going silent.

func connect(t *testing.T, addr, id string, v byte, clean bool, mutate func(*packet.Connect)) *testutil.Raw {
	t.Helper()
	r := testutil.Dial(t, addr)
	p := packet.Connect{Version: v, ClientID: []byte(id), CleanStart: clean, KeepAlive: 60}
	if mutate != nil {
		mutate(&p)
	}
	r.Connect(&p)
	return r
}

func subscribe(t *testing.T, r *testutil.Raw, filter string, qos byte) {
	t.Helper()
	r.Send(packet.AppendSubscribe(nil, packet.SUBSCRIBE, 1, nil, []packet.Subscription{{Filter: []byte(filter), QoS: qos}}, r.Version))
	if h, _ := r.Read(2 * time.Second); h.Type != packet.SUBACK {
		t.Fatalf("expected SUBACK, got %s", h.Type)
	}
}

func publish(r *testutil.Raw, topic string, qos byte, id uint16, dup bool, payload string) {
	p := packet.Publish{Topic: []byte(topic), QoS: qos, PacketID: id, Dup: dup, Payload: []byte(payload)}
	r.Send(packet.AppendPublish(nil, &p, r.Version))
}

func ack(r *testutil.Raw, t packet.Type, id uint16) {
	r.Send(packet.AppendAck(nil, &packet.Ack{Type: t, PacketID: id}, r.Version))
}

func TestRedeliveryWithDUPAfterReconnect(t *testing.T) {
	for _, v := range []byte{packet.Version311, packet.Version5} {
		_, addr := testutil.StartBroker(t, nil)
		setExpiry := func(p *packet.Connect) {
			p.Props.Set(packet.PropSessionExpiry)
			p.Props.SessionExpiry = 60
		}
		sub := connect(t, addr, "s", v, false, setExpiry)
		subscribe(t, sub, "t", 2)
		pub := connect(t, addr, "p", v, true, nil)
		publish(pub, "t", 1, 1, false, "q1")
		publish(pub, "t", 2, 2, false, "q2")
		m1 := sub.ReadPublish(2 * time.Second)
		m2 := sub.ReadPublish(2 * time.Second)
		if m1.Dup || m2.Dup {
			t.Fatal("first delivery has DUP set")
		}
		// Acknowledge nothing; drop the connection; come back.
		sub.Conn.Close()
		time.Sleep(50 * time.Millisecond)
		sub2 := testutil.Dial(t, addr)
		p := packet.Connect{Version: v, ClientID: []byte("s"), KeepAlive: 60}
		setExpiry(&p)
		if ack := sub2.Connect(&p); !ack.SessionPresent {
			t.Fatal("session not present")
		}
		r1 := sub2.ReadPublish(2 * time.Second)
		r2 := sub2.ReadPublish(2 * time.Second)
		if !r1.Dup || !r2.Dup || r1.PacketID != m1.PacketID || r2.PacketID != m2.PacketID ||
			string(r1.Payload) != "q1" || string(r2.Payload) != "q2" { // [MQTT-4.4.0-1]
			t.Fatalf("v%d redelivery: %+v %+v", v, r1, r2)
		}
		// Complete QoS 2 up to PUBREL, reconnect: the PUBREL is resent.
		ack(sub2, packet.PUBACK, r1.PacketID)
		ack(sub2, packet.PUBREC, r2.PacketID)
		if h, _ := sub2.Read(2 * time.Second); h.Type != packet.PUBREL {
			t.Fatalf("expected PUBREL, got %s", h.Type)
		}
		sub2.Conn.Close()
		time.Sleep(50 * time.Millisecond)
		sub3 := testutil.Dial(t, addr)
		sub3.Connect(&p)
		if h, _ := sub3.Read(2 * time.Second); h.Type != packet.PUBREL {
			t.Fatalf("expected PUBREL after reconnect, got %s", h.Type)
		}
		ack(sub3, packet.PUBCOMP, r2.PacketID)
	}
}

func TestQoS2ExactlyOnce(t *testing.T) {
	_, addr := testutil.StartBroker(t, nil)
	sub := connect(t, addr, "s", packet.Version311, true, nil)
	subscribe(t, sub, "x", 2)
	pub := connect(t, addr, "p", packet.Version311, true, nil)
	publish(pub, "x", 2, 7, false, "once")
	publish(pub, "x", 2, 7, true, "once") // resent before PUBREL
	for i := 0; i < 2; i++ {
		if h, _ := pub.Read(2 * time.Second); h.Type != packet.PUBREC {
			t.Fatalf("expected PUBREC, got %s", h.Type)
		}
	}
	ack(pub, packet.PUBREL, 7)
	if h, _ := pub.Read(2 * time.Second); h.Type != packet.PUBCOMP {
		t.Fatalf("expected PUBCOMP, got %s", h.Type)
	}
	m := sub.ReadPublish(2 * time.Second)
	ack(sub, packet.PUBREC, m.PacketID)
	sub.Read(2 * time.Second) // PUBREL
	ack(sub, packet.PUBCOMP, m.PacketID)
	// After PUBREL the id is free: the same id is a new message.
	publish(pub, "x", 2, 7, false, "again")
	if m := sub.ReadPublish(2 * time.Second); string(m.Payload) != "again" {
		t.Fatalf("got %q: the duplicate was delivered twice", m.Payload)
	}
}

func TestInflightWindowHonoursReceiveMaximum(t *testing.T) {
	_, addr := testutil.StartBroker(t, nil)
	sub := connect(t, addr, "s", packet.Version5, true, func(p *packet.Connect) {
		p.Props.Set(packet.PropReceiveMaximum)
		p.Props.ReceiveMaximum = 2
	})
	subscribe(t, sub, "w", 1)
	pub := connect(t, addr, "p", packet.Version5, true, nil)
	for i := 0; i < 5; i++ {
		publish(pub, "w", 1, uint16(i+1), false, string(rune('a'+i)))
	}
	a := sub.ReadPublish(2 * time.Second)
	b := sub.ReadPublish(2 * time.Second)
	if _, _, err := sub.TryRead(300 * time.Millisecond); err == nil {
		t.Fatal("a third message arrived beyond Receive Maximum 2")
	}
	ack(sub, packet.PUBACK, a.PacketID)
	ack(sub, packet.PUBACK, b.PacketID)
	got := ""
	for i := 0; i < 3; i++ {
		m := sub.ReadPublish(2 * time.Second)
		got += string(m.Payload)
		ack(sub, packet.PUBACK, m.PacketID)
	}
	if string(a.Payload)+string(b.Payload)+got != "abcde" {
		t.Fatalf("order %q", string(a.Payload)+string(b.Payload)+got)
	}
}

func TestKeepAliveTimeoutPublishesWill(t *testing.T) {
	_, addr := testutil.StartBroker(t, nil)
	w := connect(t, addr, "w", packet.Version311, true, nil)
	subscribe(t, w, "ka/will", 0)
	for _, v := range []byte{packet.Version311, packet.Version5} {
		start := time.Now()
		silent := connect(t, addr, "silent", v, true, func(p *packet.Connect) {
			p.KeepAlive = 1
			p.WillFlag, p.WillTopic, p.WillPayload = true, []byte("ka/will"), []byte("timeout")
		})
		if v == packet.Version5 {
			silent.ExpectReason(4*time.Second, int(packet.KeepAliveTimeout))
		} else {
			silent.ExpectReason(4*time.Second, -1)
		}
		if d := time.Since(start); d < 1400*time.Millisecond || d > 3*time.Second {
			t.Fatalf("v%d: closed after %v, want about 1.5 s [MQTT-3.1.2-24]", v, d)
		}
		if m := w.ReadPublish(2 * time.Second); string(m.Payload) != "timeout" {
			t.Fatalf("will %q", m.Payload)
		}
	}
	// Keep alive 0 turns the mechanism off.
	idle := connect(t, addr, "idle", packet.Version311, true, func(p *packet.Connect) { p.KeepAlive = 0 })
	if _, _, err := idle.TryRead(2 * time.Second); err == nil || !isTimeout(err) {
		t.Fatalf("keep alive 0 connection: %v", err)
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

func TestWillDelay(t *testing.T) {
	_, addr := testutil.StartBroker(t, nil)
	w := connect(t, addr, "w", packet.Version5, true, nil)
	subscribe(t, w, "wd/#", 0)
	withWill := func(topic string) func(*packet.Connect) {
		return func(p *packet.Connect) {
			p.Props.Set(packet.PropSessionExpiry)
			p.Props.SessionExpiry = 30
			p.WillFlag, p.WillTopic, p.WillPayload = true, []byte(topic), []byte("late")
			p.WillProps.Set(packet.PropWillDelay)
			p.WillProps.WillDelay = 1
		}
	}
	// Gone for good: the will comes after the delay, not before.
	a := connect(t, addr, "a", packet.Version5, true, withWill("wd/a"))
	a.Conn.Close()
	start := time.Now()
	m := w.ReadPublish(3 * time.Second)
	if string(m.Topic) != "wd/a" || time.Since(start) < 800*time.Millisecond {
		t.Fatalf("will %s after %v", m.Topic, time.Since(start))
	}
	// Back within the delay: no will [MQTT-3.1.3-9].
	b := connect(t, addr, "b", packet.Version5, true, withWill("wd/b"))
	b.Conn.Close()
	time.Sleep(200 * time.Millisecond)
	connect(t, addr, "b", packet.Version5, false, nil)
	if _, _, err := w.TryRead(1500 * time.Millisecond); err == nil {
		t.Fatal("will sent although the client came back")
	}
}

func TestConnectRules(t *testing.T) {
	_, addr := testutil.StartBroker(t, nil)
	// 3.1.1: empty client id with clean session 0 is rejected with 0x02.
	r := testutil.Dial(t, addr)
	r.Send(packet.AppendConnect(nil, &packet.Connect{Version: packet.Version311, KeepAlive: 10}))
	r.ExpectReason(2*time.Second, 2)
	// 3.1.1 with clean session: an id is assigned.
	connect(t, addr, "", packet.Version311, true, nil)
	// 3.1 (MQIsdp) works.
	connect(t, addr, "old", packet.Version31, true, nil)
	// Unknown protocol level: CONNACK 0x01.
	r = testutil.Dial(t, addr)
	r.Send([]byte{0x10, 0x0c, 0, 4, 'M', 'Q', 'T', 'T', 9, 2, 0, 10, 0, 0})
	r.ExpectReason(2*time.Second, 1)
}

func TestMaxKeepaliveAndAnonymous(t *testing.T) {
	_, addr := testutil.StartBroker(t, func(c *config.Config) { c.MaxKeepalive = 30 })
	r := testutil.Dial(t, addr)
	r.Send(packet.AppendConnect(nil, &packet.Connect{Version: packet.Version311, ClientID: []byte("k"), CleanStart: true, KeepAlive: 60}))
	r.ExpectReason(2*time.Second, 2) // like Mosquitto: identifier rejected
	r5 := testutil.Dial(t, addr)
	ack := r5.Connect(&packet.Connect{Version: packet.Version5, ClientID: []byte("k5"), CleanStart: true, KeepAlive: 60})
	if !ack.Props.Has(packet.PropServerKeepAlive) || ack.Props.ServerKeepAlive != 30 {
		t.Fatalf("server keep alive %+v", ack.Props)
	}
	_, addr2 := testutil.StartBroker(t, func(c *config.Config) { c.AllowAnonymous = false })
	r = testutil.Dial(t, addr2)
	r.Send(packet.AppendConnect(nil, &packet.Connect{Version: packet.Version5, ClientID: []byte("a"), CleanStart: true}))
	r.ExpectReason(2*time.Second, int(packet.NotAuthorized))
	r = testutil.Dial(t, addr2)
	r.Send(packet.AppendConnect(nil, &packet.Connect{Version: packet.Version311, ClientID: []byte("a"), CleanStart: true}))
	r.ExpectReason(2*time.Second, 5)
}
