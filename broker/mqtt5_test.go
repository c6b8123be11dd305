package broker_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"midge/broker"
	"midge/broker/config"
	"midge/broker/packet"
	"midge/internal/testutil"
)

func withExpiry(secs uint32) func(*packet.Connect) {
	return func(p *packet.Connect) {
		p.Props.Set(packet.PropSessionExpiry)
		p.Props.SessionExpiry = secs
	}
}

func publish5(r *testutil.Raw, topic string, qos byte, id uint16, payload string, props packet.Properties) {
	p := packet.Publish{Topic: []byte(topic), QoS: qos, PacketID: id, Payload: []byte(payload), Props: props}
	r.Send(packet.AppendPublish(nil, &p, packet.Version5))
}

func readAck(t *testing.T, r *testutil.Raw, want packet.Type) packet.Ack {
	t.Helper()
	for {
		h, body := r.Read(2 * time.Second)
		if h.Type != want {
			continue
		}
		var a packet.Ack
		if err := packet.DecodeAck(&a, h.Type, body, r.Version); err != nil {
			t.Fatal(err)
		}
		a.Props.ReasonString = append([]byte(nil), a.Props.ReasonString...)
		return a
	}
}

func TestMessageExpiry(t *testing.T) {
	_, addr := testutil.StartBroker(t, nil)
	pub := connect(t, addr, "p", packet.Version5, true, nil)
	var short, long packet.Properties
	short.Set(packet.PropMessageExpiry)
	short.MessageExpiry = 1
	long.Set(packet.PropMessageExpiry)
	long.MessageExpiry = 60
	// Retained and queued messages with 1 s to live, and one with 60 s.
	sub := connect(t, addr, "s", packet.Version5, true, withExpiry(60))
	subscribe(t, sub, "e/#", 1)
	sub.Conn.Close()
	time.Sleep(50 * time.Millisecond)
	publish5(pub, "e/ret", 1, 1, "gone", packet.Properties{Present: short.Present, MessageExpiry: 1})
	pub.Send(packet.AppendPublish(nil, &packet.Publish{Topic: []byte("e/ret2"), QoS: 1, PacketID: 2, Retain: true, Payload: []byte("gone"), Props: short}, packet.Version5))
	publish5(pub, "e/long", 1, 3, "kept", long)
	readAck(t, pub, packet.PUBACK)
	readAck(t, pub, packet.PUBACK)
	readAck(t, pub, packet.PUBACK)
	time.Sleep(1200 * time.Millisecond)
	back := testutil.Dial(t, addr)
	p := packet.Connect{Version: packet.Version5, ClientID: []byte("s"), KeepAlive: 60}
	withExpiry(60)(&p)
	back.Connect(&p)
	m := back.ReadPublish(2 * time.Second)
	if string(m.Payload) != "kept" {
		t.Fatalf("got %q: an expired message was delivered [MQTT-3.3.2-5]", m.Payload)
	}
	if !m.Props.Has(packet.PropMessageExpiry) || m.Props.MessageExpiry > 59 || m.Props.MessageExpiry < 55 {
		t.Fatalf("remaining expiry %d, want about 59 [MQTT-3.3.2-6]", m.Props.MessageExpiry)
	}
	if _, _, err := back.TryRead(300 * time.Millisecond); err == nil {
		t.Fatal("an expired message was delivered")
	}
	fresh := connect(t, addr, "f", packet.Version5, true, nil)
	subscribe(t, fresh, "e/ret2", 1)
	if _, _, err := fresh.TryRead(300 * time.Millisecond); err == nil {
		t.Fatal("an expired retained message was delivered")
	}
}

func TestOutboundTopicAliases(t *testing.T) {
	_, addr := testutil.StartBroker(t, nil)
	sub := connect(t, addr, "s", packet.Version5, true, func(p *packet.Connect) {
		p.Props.Set(packet.PropTopicAliasMaximum)
		p.Props.TopicAliasMaximum = 2
	})
	subscribe(t, sub, "al/#", 0)
	pub := connect(t, addr, "p", packet.Version5, true, nil)
	known := map[uint16]string{}
	for _, tp := range []string{"al/one", "al/one", "al/two", "al/one", "al/three", "al/three", "al/one"} {
		publish5(pub, tp, 0, 0, tp, packet.Properties{})
		m := sub.ReadPublish(2 * time.Second)
		if !m.Props.Has(packet.PropTopicAlias) || m.Props.TopicAlias == 0 || m.Props.TopicAlias > 2 {
			t.Fatalf("%s: alias %v", tp, m.Props.TopicAlias)
		}
		name := string(m.Topic)
		if name == "" {
			name = known[m.Props.TopicAlias] // the client resolves the alias
		} else {
			known[m.Props.TopicAlias] = name
		}
		if name != tp || string(m.Payload) != tp {
			t.Fatalf("alias %d resolved to %q, want %q", m.Props.TopicAlias, name, tp)
		}
	}
	// A client without Topic Alias Maximum never gets aliases.
	plain := connect(t, addr, "plain", packet.Version5, true, nil)
	subscribe(t, plain, "al/#", 0)
	publish5(pub, "al/one", 0, 0, "x", packet.Properties{})
	if m := plain.ReadPublish(2 * time.Second); m.Props.Has(packet.PropTopicAlias) || string(m.Topic) != "al/one" {
		t.Fatalf("unexpected alias: %+v", m)
	}
}

func TestReceiveMaximumInbound(t *testing.T) {
	_, addr := testutil.StartBroker(t, func(c *config.Config) { c.MaxInflightMessages = 3 })
	pub := connect(t, addr, "p", packet.Version5, true, nil)
	// The same id again and again holds one slot [MQTT-4.3.3-10].
	for i := 0; i < 50; i++ {
		publish5(pub, "rm", 2, 7, "x", packet.Properties{})
	}
	for i := 0; i < 50; i++ {
		readAck(t, pub, packet.PUBREC)
	}
	publish5(pub, "rm", 2, 8, "x", packet.Properties{})
	publish5(pub, "rm", 2, 9, "x", packet.Properties{})
	publish5(pub, "rm", 2, 10, "x", packet.Properties{}) // a fourth unreleased QoS 2: over 3
	pub.ExpectReason(2*time.Second, int(packet.ReceiveMaximumExceeded))
}

func TestMaximumPacketSizeOutbound(t *testing.T) {
	b, addr := testutil.StartBroker(t, nil)
	sub := connect(t, addr, "s", packet.Version5, true, func(p *packet.Connect) {
		p.Props.Set(packet.PropMaximumPacketSize)
		p.Props.MaximumPacketSize = 64
	})
	subscribe(t, sub, "mp", 1)
	pub := connect(t, addr, "p", packet.Version5, true, nil)
	publish5(pub, "mp", 1, 1, string(bytes.Repeat([]byte("x"), 100)), packet.Properties{})
	publish5(pub, "mp", 1, 2, "small", packet.Properties{})
	if m := sub.ReadPublish(2 * time.Second); string(m.Payload) != "small" {
		t.Fatalf("got %d bytes", len(m.Payload))
	}
	if k := b.Snapshot(); k.Drops[2] != 1 || k.DropNames[2] != "packet_too_large" {
		t.Fatalf("drops %v", k.Drops)
	}
}

func TestResponseInformationAndServerReference(t *testing.T) {
	_, addr := testutil.StartBroker(t, func(c *config.Config) { c.ResponseInformation = "reply/" })
	r := testutil.Dial(t, addr)
	ack := r.Connect(&packet.Connect{Version: packet.Version5, ClientID: []byte("rr"), CleanStart: true,
		Props: packet.Properties{Present: 1 << packet.PropRequestResponseInfo, RequestResponseInfo: 1}})
	if string(ack.Props.ResponseInfo) != "reply/rr" {
		t.Fatalf("response information %q", ack.Props.ResponseInfo)
	}
	_, moved := testutil.StartBroker(t, func(c *config.Config) {
		c.Listeners[0].ServerReference = "other.example:1883"
		c.Listeners[0].ServerMoved = true
	})
	r = testutil.Dial(t, moved)
	r.Send(packet.AppendConnect(nil, &packet.Connect{Version: packet.Version5, ClientID: []byte("x"), CleanStart: true}))
	h, body := r.Read(2 * time.Second)
	var ca packet.Connack
	if h.Type != packet.CONNACK || packet.DecodeConnack(&ca, body, packet.Version5) != nil ||
		ca.Reason != byte(packet.ServerMoved) || string(ca.Props.ServerReference) != "other.example:1883" {
		t.Fatalf("CONNACK %+v", ca)
	}
}

// challenge is a toy enhanced-authentication method: the client sends
// "hello", the broker answers "challenge", the client must answer "secret".
type challenge struct{}

func (challenge) Method() string { return "TEST-CHALLENGE" }
func (challenge) Begin(broker.Client) broker.AuthExchange {
	return &challengeX{}
}

type challengeX struct{ step int }

func (x *challengeX) Step(data []byte) ([]byte, bool, error) {
	x.step++
	switch {
	case x.step == 1 && string(data) == "hello":
		return []byte("challenge"), false, nil
	case x.step == 2 && string(data) == "secret":
		return []byte("welcome"), true, nil
	}
	return nil, false, errors.New("wrong answer")
}

func authProps(data string) packet.Properties {
	var p packet.Properties
	p.Set(packet.PropAuthMethod)
	p.AuthMethod = []byte("TEST-CHALLENGE")
	p.Set(packet.PropAuthData)
	p.AuthData = []byte(data)
	return p
}

func TestEnhancedAuthentication(t *testing.T) {
	b, addr := testutil.StartBroker(t, func(c *config.Config) { c.AllowAnonymous = false })
	b.Call(func() { b.RegisterAuth(challenge{}) })
	readAuth := func(r *testutil.Raw) packet.Disconnect {
		t.Helper()
		h, body := r.Read(2 * time.Second)
		var d packet.Disconnect
		if h.Type != packet.AUTH || packet.DecodeDisconnect(&d, packet.AUTH, body, packet.Version5) != nil {
			t.Fatalf("expected AUTH, got %s", h.Type)
		}
		d.Props.AuthData = append([]byte(nil), d.Props.AuthData...)
		return d
	}
	r := testutil.Dial(t, addr)
	r.Version = packet.Version5
	r.Send(packet.AppendConnect(nil, &packet.Connect{Version: packet.Version5, ClientID: []byte("a"), CleanStart: true, Props: authProps("hello")}))
	if d := readAuth(r); d.Reason != packet.ContinueAuthentication || string(d.Props.AuthData) != "challenge" {
		t.Fatalf("AUTH %+v", d)
	}
	r.Send(packet.AppendDisconnect(nil, packet.AUTH, &packet.Disconnect{Reason: packet.ContinueAuthentication, Props: authProps("secret")}, packet.Version5))
	h, body := r.Read(2 * time.Second)
	var ca packet.Connack
	if h.Type != packet.CONNACK || packet.DecodeConnack(&ca, body, packet.Version5) != nil || ca.Reason != 0 ||
		string(ca.Props.AuthMethod) != "TEST-CHALLENGE" || string(ca.Props.AuthData) != "welcome" {
		t.Fatalf("CONNACK %+v", ca)
	}
	// Re-authentication of the connected client.
	r.Send(packet.AppendDisconnect(nil, packet.AUTH, &packet.Disconnect{Reason: packet.ReAuthenticate, Props: authProps("hello")}, packet.Version5))
	readAuth(r)
	r.Send(packet.AppendDisconnect(nil, packet.AUTH, &packet.Disconnect{Reason: packet.ContinueAuthentication, Props: authProps("secret")}, packet.Version5))
	if d := readAuth(r); d.Reason != packet.Success {
		t.Fatalf("re-auth %+v", d)
	}
	// A wrong answer is refused with Not authorized; an unknown method with 0x8C.
	w := testutil.Dial(t, addr)
	w.Send(packet.AppendConnect(nil, &packet.Connect{Version: packet.Version5, ClientID: []byte("w"), CleanStart: true, Props: authProps("hello")}))
	readAuth(w)
	w.Send(packet.AppendDisconnect(nil, packet.AUTH, &packet.Disconnect{Reason: packet.ContinueAuthentication, Props: authProps("guess")}, packet.Version5))
	w.ExpectReason(2*time.Second, int(packet.NotAuthorized))
	u := testutil.Dial(t, addr)
	props := authProps("")
	props.AuthMethod = []byte("NOPE")
	u.Send(packet.AppendConnect(nil, &packet.Connect{Version: packet.Version5, ClientID: []byte("u"), CleanStart: true, Props: props}))
	u.ExpectReason(2*time.Second, int(packet.BadAuthenticationMethod))
}

func TestReasonStringsFollowRequestProblemInformation(t *testing.T) {
	_, addr := testutil.StartBroker(t, func(c *config.Config) { c.MessageSizeLimit = 10 })
	for _, allow := range []bool{true, false} {
		pub := connect(t, addr, "p", packet.Version5, true, func(p *packet.Connect) {
			if !allow {
				p.Props.Set(packet.PropRequestProblemInfo)
				p.Props.RequestProblemInfo = 0
			}
		})
		publish5(pub, "big", 1, 1, "more than ten bytes", packet.Properties{})
		a := readAck(t, pub, packet.PUBACK)
		if a.Reason != packet.QuotaExceeded {
			t.Fatalf("PUBACK 0x%02x, want 0x97 for a payload above message_size_limit", byte(a.Reason))
		}
		if got := a.Props.Has(packet.PropReasonString); got != allow {
			t.Fatalf("request problem info %v: reason string present %v [MQTT-3.1.2-29]", allow, got)
		}
	}
}

func TestMaxQoSAndUpgrade(t *testing.T) {
	_, addr := testutil.StartBroker(t, func(c *config.Config) { c.MaxQoS = 1 })
	c := dial5(t, addr, &paho.Connect{ClientID: "c", CleanStart: true})
	if mq := c.connack.Properties.MaximumQoS; mq == nil || *mq != 1 {
		t.Fatalf("Maximum QoS %v", mq)
	}
	sa := c.sub(t, paho.SubscribeOptions{Topic: "mq", QoS: 2})
	if sa.Reasons[0] != 1 {
		t.Fatalf("granted %d, want 1", sa.Reasons[0])
	}
	r := connect(t, addr, "r", packet.Version5, true, nil)
	publish5(r, "mq", 2, 1, "x", packet.Properties{})
	r.ExpectReason(2*time.Second, int(packet.QoSNotSupported))

	_, up := testutil.StartBroker(t, func(c *config.Config) { c.UpgradeOutgoingQoS = true })
	s := dial5(t, up, &paho.Connect{ClientID: "s", CleanStart: true})
	s.sub(t, paho.SubscribeOptions{Topic: "up", QoS: 2})
	p := dial5(t, up, &paho.Connect{ClientID: "p", CleanStart: true})
	p.pub(t, &paho.Publish{Topic: "up", QoS: 0, Payload: []byte("x")})
	if m := s.expect(t, "up", "x"); m.QoS != 2 {
		t.Fatalf("QoS %d, want 2 with upgrade_outgoing_qos", m.QoS)
	}
}

func TestQueueQoS0ForOfflineSessions(t *testing.T) {
	_, addr := testutil.StartBroker(t, func(c *config.Config) { c.QueueQoS0Messages = true })
	s := connect(t, addr, "s", packet.Version311, false, nil)
	subscribe(t, s, "q0", 0)
	s.Conn.Close()
	time.Sleep(50 * time.Millisecond)
	p := connect(t, addr, "p", packet.Version311, true, nil)
	publish(p, "q0", 0, 0, false, "kept")
	time.Sleep(50 * time.Millisecond)
	back := connect(t, addr, "s", packet.Version311, false, nil)
	if m := back.ReadPublish(2 * time.Second); string(m.Payload) != "kept" {
		t.Fatalf("got %q", m.Payload)
	}
}

// Outbound topic aliases against Paho's router, which resolves them.
func TestOutboundTopicAliasesPaho(t *testing.T) {
	_, addr := testutil.StartBroker(t, nil)
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	got := make(chan *paho.Publish, 100)
	router := paho.NewStandardRouter()
	router.DefaultHandler(func(p *paho.Publish) { got <- p })
	c := paho.NewClient(paho.ClientConfig{Conn: conn, Router: router, OnClientError: func(error) {}})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := c.Connect(ctx, &paho.Connect{ClientID: "ta", CleanStart: true, KeepAlive: 30,
		Properties: &paho.ConnectProperties{TopicAliasMaximum: u16(2)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "pa/#", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	pub := dial5(t, addr, &paho.Connect{ClientID: "p", CleanStart: true})
	topics := []string{"pa/a", "pa/a", "pa/b", "pa/c", "pa/a", "pa/c", "pa/c"}
	for _, tp := range topics {
		pub.pub(t, &paho.Publish{Topic: tp, QoS: 1, Payload: []byte(tp)})
	}
	// Paho's router resolves an alias for its routing but hands the handler
	// the packet as sent, so the test keeps its own alias table.
	aliased := 0
	known := map[uint16]string{}
	for _, tp := range topics {
		select {
		case m := <-got:
			name := m.Topic
			if m.Properties != nil && m.Properties.TopicAlias != nil {
				aliased++
				if name != "" {
					known[*m.Properties.TopicAlias] = name
				} else {
					name = known[*m.Properties.TopicAlias]
				}
			}
			if name != tp || string(m.Payload) != tp {
				t.Fatalf("got %q/%q, want %q", name, m.Payload, tp)
			}
		case <-time.After(3 * time.Second):
			t.Fatalf("no message for %s", tp)
		}
	}
	if aliased != len(topics) {
		t.Fatalf("%d of %d deliveries used an alias", aliased, len(topics))
	}
}

// Session expiry: 0xFFFFFFFF is capped by max_session_expiry and the client
// is told; a DISCONNECT may shorten it; a will delay longer than the
// session's life fires when the session ends [MQTT-3.1.3-9].
func TestSessionExpiryEdges(t *testing.T) {
	_, addr := testutil.StartBroker(t, func(c *config.Config) { c.MaxSessionExpiry = config.Duration(time.Hour) })
	forever := dial5(t, addr, &paho.Connect{ClientID: "f", CleanStart: true, Properties: &paho.ConnectProperties{SessionExpiryInterval: u32(0xFFFFFFFF)}})
	if se := forever.connack.Properties.SessionExpiryInterval; se == nil || *se != 3600 {
		t.Fatalf("CONNACK session expiry %v, want 3600", se)
	}
	// A session of 60 s ended by DISCONNECT with expiry 0 is gone at once.
	d := dial5(t, addr, &paho.Connect{ClientID: "d", CleanStart: true, Properties: &paho.ConnectProperties{SessionExpiryInterval: u32(60)}})
	d.sub(t, paho.SubscribeOptions{Topic: "x", QoS: 1})
	d.Disconnect(&paho.Disconnect{Properties: &paho.DisconnectProperties{SessionExpiryInterval: u32(0)}})
	time.Sleep(50 * time.Millisecond)
	if again := dial5(t, addr, &paho.Connect{ClientID: "d", CleanStart: false}); again.connack.SessionPresent {
		t.Fatal("session survived DISCONNECT with expiry 0")
	}
	// Will delay 10 s, session expiry 1 s: the will comes with the session's end.
	w := connect(t, addr, "watch", packet.Version5, true, nil)
	subscribe(t, w, "wx", 0)
	v := connect(t, addr, "v", packet.Version5, true, func(p *packet.Connect) {
		withExpiry(1)(p)
		p.WillFlag, p.WillTopic, p.WillPayload = true, []byte("wx"), []byte("end")
		p.WillProps.Set(packet.PropWillDelay)
		p.WillProps.WillDelay = 10
	})
	v.Conn.Close()
	start := time.Now()
	m := w.ReadPublish(4 * time.Second)
	if string(m.Payload) != "end" || time.Since(start) > 3*time.Second || time.Since(start) < 800*time.Millisecond {
		t.Fatalf("will %q after %v", m.Payload, time.Since(start))
	}
}

func TestListenerAndGlobalConnectionLimits(t *testing.T) {
	b, addr := testutil.StartBroker(t, func(c *config.Config) { c.Listeners[0].MaxConnections = 2 })
	connect(t, addr, "a", packet.Version311, true, nil)
	connect(t, addr, "b", packet.Version311, true, nil)
	r := testutil.Dial(t, addr)
	r.Send(packet.AppendConnect(nil, &packet.Connect{Version: packet.Version311, ClientID: []byte("c"), CleanStart: true}))
	r.ExpectReason(2*time.Second, -1)
	if k := b.Snapshot(); k.ListenerConnections[0] != 2 {
		t.Fatalf("listener connections %v", k.ListenerConnections)
	}
}
