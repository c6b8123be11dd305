package broker_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"midge/broker/config"
	"midge/internal/testutil"
)

// v5client is a Paho MQTT 5.0 client with its received messages.
type v5client struct {
	*paho.Client
	msgs         chan *paho.Publish
	disconnected chan *paho.Disconnect
	connack      *paho.Connack
}

func dial5(t *testing.T, addr string, cp *paho.Connect) *v5client {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	vc := &v5client{msgs: make(chan *paho.Publish, 1000), disconnected: make(chan *paho.Disconnect, 1)}
	vc.Client = paho.NewClient(paho.ClientConfig{
		Conn: conn,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			vc.msgs <- pr.Packet
			return true, nil
		}},
		OnServerDisconnect: func(d *paho.Disconnect) { vc.disconnected <- d },
		OnClientError:      func(error) {},
	})
	if cp.KeepAlive == 0 {
		cp.KeepAlive = 30
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	ca, err := vc.Connect(ctx, cp)
	if err != nil {
		t.Fatalf("connect %q: %v", cp.ClientID, err)
	}
	vc.connack = ca
	t.Cleanup(func() { conn.Close() })
	return vc
}

func (c *v5client) sub(t *testing.T, opts ...paho.SubscribeOptions) *paho.Suback {
	t.Helper()
	return c.subProps(t, nil, opts...)
}

func (c *v5client) subProps(t *testing.T, props *paho.SubscribeProperties, opts ...paho.SubscribeOptions) *paho.Suback {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	sa, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: opts, Properties: props})
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	return sa
}

func (c *v5client) pub(t *testing.T, p *paho.Publish) *paho.PublishResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	r, err := c.Publish(ctx, p)
	if err != nil {
		t.Fatalf("publish %s: %v", p.Topic, err)
	}
	return r
}

func (c *v5client) expect(t *testing.T, topic, payload string) *paho.Publish {
	t.Helper()
	select {
	case m := <-c.msgs:
		if m.Topic != topic || string(m.Payload) != payload {
			t.Fatalf("got %s %q, want %s %q", m.Topic, m.Payload, topic, payload)
		}
		return m
	case <-time.After(3 * time.Second):
		t.Fatalf("no message on %s", topic)
	}
	return nil
}

func (c *v5client) expectNone(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case m := <-c.msgs:
		t.Fatalf("unexpected message %s %q", m.Topic, m.Payload)
	case <-time.After(d):
	}
}

func u32(v uint32) *uint32 { return &v }
func u16(v uint16) *uint16 { return &v }

func TestV5PubSubAllQoS(t *testing.T) {
	_, addr := testutil.StartBroker(t, nil)
	sub := dial5(t, addr, &paho.Connect{ClientID: "sub", CleanStart: true})
	pub := dial5(t, addr, &paho.Connect{ClientID: "pub", CleanStart: true})
	sub.sub(t, paho.SubscribeOptions{Topic: "q/#", QoS: 2})
	for q := byte(0); q <= 2; q++ {
		pub.pub(t, &paho.Publish{Topic: "q/x", QoS: q, Payload: []byte{'0' + q}})
		m := sub.expect(t, "q/x", string([]byte{'0' + q}))
		if m.QoS != q {
			t.Fatalf("delivered at QoS %d, want %d", m.QoS, q)
		}
	}
	// Downgrade to the subscription's QoS.
	sub.sub(t, paho.SubscribeOptions{Topic: "low", QoS: 0})
	pub.pub(t, &paho.Publish{Topic: "low", QoS: 2, Payload: []byte("x")})
	if m := sub.expect(t, "low", "x"); m.QoS != 0 {
		t.Fatalf("QoS %d, want 0", m.QoS)
	}
}

func TestV5PropertiesForwarded(t *testing.T) {
	_, addr := testutil.StartBroker(t, nil)
	sub := dial5(t, addr, &paho.Connect{ClientID: "sub", CleanStart: true})
	pub := dial5(t, addr, &paho.Connect{ClientID: "pub", CleanStart: true})
	sub.subProps(t, &paho.SubscribeProperties{SubscriptionIdentifier: intp(7)}, paho.SubscribeOptions{Topic: "p", QoS: 1})
	pf := byte(1)
	pub.pub(t, &paho.Publish{Topic: "p", QoS: 1, Payload: []byte("ok"), Properties: &paho.PublishProperties{
		ContentType: "text/plain", ResponseTopic: "reply/here", CorrelationData: []byte{1, 2},
		PayloadFormat: &pf, MessageExpiry: u32(60),
		User: paho.UserProperties{{Key: "a", Value: "1"}, {Key: "b", Value: "2"}, {Key: "a", Value: "3"}},
	}})
	m := sub.expect(t, "p", "ok")
	pp := m.Properties
	if pp == nil || pp.ContentType != "text/plain" || pp.ResponseTopic != "reply/here" || string(pp.CorrelationData) != "\x01\x02" ||
		pp.PayloadFormat == nil || *pp.PayloadFormat != 1 || pp.MessageExpiry == nil {
		t.Fatalf("properties %+v", pp)
	}
	if len(pp.User) != 3 || pp.User[0].Key != "a" || pp.User[1].Key != "b" || pp.User[2].Value != "3" {
		t.Fatalf("user properties out of order: %+v", pp.User)
	}
	if pp.SubscriptionIdentifier == nil || *pp.SubscriptionIdentifier != 7 {
		t.Fatalf("subscription identifier %v", pp.SubscriptionIdentifier)
	}
	if pp.TopicAlias != nil {
		t.Fatal("topic alias forwarded")
	}
}

func intp(v int) *int { return &v }

func TestV5TopicAliasInbound(t *testing.T) {
	_, addr := testutil.StartBroker(t, nil)
	sub := dial5(t, addr, &paho.Connect{ClientID: "sub", CleanStart: true})
	sub.sub(t, paho.SubscribeOptions{Topic: "long/topic/name", QoS: 1})
	pub := dial5(t, addr, &paho.Connect{ClientID: "pub", CleanStart: true})
	if ta := pub.connack.Properties.TopicAliasMaximum; ta == nil || *ta == 0 {
		t.Fatal("no Topic Alias Maximum in CONNACK")
	}
	pub.pub(t, &paho.Publish{Topic: "long/topic/name", QoS: 1, Payload: []byte("1"), Properties: &paho.PublishProperties{TopicAlias: u16(1)}})
	pub.pub(t, &paho.Publish{Topic: "", QoS: 1, Payload: []byte("2"), Properties: &paho.PublishProperties{TopicAlias: u16(1)}})
	sub.expect(t, "long/topic/name", "1")
	sub.expect(t, "long/topic/name", "2")
}

func TestV5Retained(t *testing.T) {
	_, addr := testutil.StartBroker(t, nil)
	pub := dial5(t, addr, &paho.Connect{ClientID: "pub", CleanStart: true})
	pub.pub(t, &paho.Publish{Topic: "r/1", QoS: 1, Retain: true, Payload: []byte("first")})
	pub.pub(t, &paho.Publish{Topic: "r/1", QoS: 1, Retain: true, Payload: []byte("second")}) // replaces
	pub.pub(t, &paho.Publish{Topic: "r/2", QoS: 0, Retain: true, Payload: []byte("two")})
	pub.pub(t, &paho.Publish{Topic: "r/2", QoS: 0, Retain: true, Payload: nil}) // clears
	sub := dial5(t, addr, &paho.Connect{ClientID: "sub", CleanStart: true})
	sub.sub(t, paho.SubscribeOptions{Topic: "r/#", QoS: 1})
	m := sub.expect(t, "r/1", "second")
	if !m.Retain {
		t.Fatal("retained message delivered without the retain flag")
	}
	sub.expectNone(t, 200*time.Millisecond)
	// A live publication is delivered with retain 0 unless Retain As Published.
	pub.pub(t, &paho.Publish{Topic: "r/1", QoS: 1, Retain: true, Payload: []byte("live")})
	if m := sub.expect(t, "r/1", "live"); m.Retain {
		t.Fatal("live message kept the retain flag")
	}
	rap := dial5(t, addr, &paho.Connect{ClientID: "rap", CleanStart: true})
	rap.sub(t, paho.SubscribeOptions{Topic: "r/1", QoS: 1, RetainAsPublished: true, RetainHandling: 2})
	rap.expectNone(t, 200*time.Millisecond) // Retain Handling 2: no retained on subscribe
	pub.pub(t, &paho.Publish{Topic: "r/1", QoS: 1, Retain: true, Payload: []byte("rap")})
	if m := rap.expect(t, "r/1", "rap"); !m.Retain {
		t.Fatal("Retain As Published did not keep the flag")
	}
	// Retain Handling 1: only for a new subscription.
	rh1 := dial5(t, addr, &paho.Connect{ClientID: "rh1", CleanStart: true})
	rh1.sub(t, paho.SubscribeOptions{Topic: "r/1", QoS: 1, RetainHandling: 1})
	rh1.expect(t, "r/1", "rap")
	rh1.sub(t, paho.SubscribeOptions{Topic: "r/1", QoS: 1, RetainHandling: 1})
	rh1.expectNone(t, 200*time.Millisecond)
}

func TestV5NoLocalAndOverlap(t *testing.T) {
	_, addr := testutil.StartBroker(t, nil)
	c := dial5(t, addr, &paho.Connect{ClientID: "self", CleanStart: true})
	c.sub(t, paho.SubscribeOptions{Topic: "nl", QoS: 1, NoLocal: true})
	c.pub(t, &paho.Publish{Topic: "nl", QoS: 1, Payload: []byte("x")})
	c.expectNone(t, 200*time.Millisecond)
	// Overlapping subscriptions: one delivery at the highest QoS.
	c.sub(t, paho.SubscribeOptions{Topic: "o/#", QoS: 0}, paho.SubscribeOptions{Topic: "o/+", QoS: 2})
	c.pub(t, &paho.Publish{Topic: "o/1", QoS: 2, Payload: []byte("y")})
	if m := c.expect(t, "o/1", "y"); m.QoS != 2 {
		t.Fatalf("QoS %d", m.QoS)
	}
	c.expectNone(t, 200*time.Millisecond)
}

func TestV5SessionExpiry(t *testing.T) {
	_, addr := testutil.StartBroker(t, nil)
	c := dial5(t, addr, &paho.Connect{ClientID: "dur", CleanStart: true, Properties: &paho.ConnectProperties{SessionExpiryInterval: u32(60)}})
	c.sub(t, paho.SubscribeOptions{Topic: "d", QoS: 1})
	c.Disconnect(&paho.Disconnect{})
	pub := dial5(t, addr, &paho.Connect{ClientID: "pub", CleanStart: true})
	for _, p := range []string{"1", "2", "3"} {
		pub.pub(t, &paho.Publish{Topic: "d", QoS: 1, Payload: []byte(p)})
	}
	c2 := dial5(t, addr, &paho.Connect{ClientID: "dur", CleanStart: false, Properties: &paho.ConnectProperties{SessionExpiryInterval: u32(1)}})
	if !c2.connack.SessionPresent {
		t.Fatal("session not present")
	}
	for _, p := range []string{"1", "2", "3"} {
		c2.expect(t, "d", p)
	}
	c2.Disconnect(&paho.Disconnect{})
	time.Sleep(1500 * time.Millisecond) // the session expires after 1 s
	c3 := dial5(t, addr, &paho.Connect{ClientID: "dur", CleanStart: false})
	if c3.connack.SessionPresent {
		t.Fatal("expired session still present")
	}
	// Expiry 0 (the default): the session ends with the connection.
	c3.sub(t, paho.SubscribeOptions{Topic: "d", QoS: 1})
	c3.Disconnect(&paho.Disconnect{})
	time.Sleep(50 * time.Millisecond)
	c4 := dial5(t, addr, &paho.Connect{ClientID: "dur", CleanStart: false})
	if c4.connack.SessionPresent {
		t.Fatal("session with expiry 0 survived")
	}
}

func TestV5AssignedClientID(t *testing.T) {
	_, addr := testutil.StartBroker(t, nil)
	c := dial5(t, addr, &paho.Connect{ClientID: "", CleanStart: true})
	p := c.connack.Properties
	if p == nil || len(p.AssignedClientID) < 6 || p.AssignedClientID[:5] != "auto-" {
		t.Fatalf("assigned id %+v", p)
	}
}

func TestV5Takeover(t *testing.T) {
	_, addr := testutil.StartBroker(t, nil)
	old := dial5(t, addr, &paho.Connect{ClientID: "same", CleanStart: true})
	dial5(t, addr, &paho.Connect{ClientID: "same", CleanStart: true})
	select {
	case d := <-old.disconnected:
		if d.ReasonCode != 0x8E {
			t.Fatalf("reason 0x%02x, want 0x8E session taken over", d.ReasonCode)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("old connection not disconnected")
	}
}

func TestV5DisconnectWithWill(t *testing.T) {
	_, addr := testutil.StartBroker(t, nil)
	w := dial5(t, addr, &paho.Connect{ClientID: "watch", CleanStart: true})
	w.sub(t, paho.SubscribeOptions{Topic: "will/#", QoS: 1})
	a := dial5(t, addr, &paho.Connect{ClientID: "a", CleanStart: true, WillMessage: &paho.WillMessage{Topic: "will/a", Payload: []byte("gone"), QoS: 1}})
	a.Disconnect(&paho.Disconnect{ReasonCode: 0}) // normal: no will
	w.expectNone(t, 300*time.Millisecond)
	b := dial5(t, addr, &paho.Connect{ClientID: "b", CleanStart: true, WillMessage: &paho.WillMessage{Topic: "will/b", Payload: []byte("gone"), QoS: 1}})
	b.Disconnect(&paho.Disconnect{ReasonCode: 0x04}) // with will
	w.expect(t, "will/b", "gone")
}

func TestV5SharedSubscriptionRoundRobin(t *testing.T) {
	_, addr := testutil.StartBroker(t, nil)
	a := dial5(t, addr, &paho.Connect{ClientID: "a", CleanStart: true})
	b := dial5(t, addr, &paho.Connect{ClientID: "b", CleanStart: true})
	a.sub(t, paho.SubscribeOptions{Topic: "$share/g/jobs/#", QoS: 1})
	b.sub(t, paho.SubscribeOptions{Topic: "$share/g/jobs/#", QoS: 1})
	pub := dial5(t, addr, &paho.Connect{ClientID: "pub", CleanStart: true})
	for i := 0; i < 10; i++ {
		pub.pub(t, &paho.Publish{Topic: "jobs/1", QoS: 1, Payload: []byte("j")})
	}
	var mu sync.Mutex
	counts := map[string]int{}
	testutil.Eventually(t, 3*time.Second, "10 shared deliveries", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for len(a.msgs) > 0 {
			<-a.msgs
			counts["a"]++
		}
		for len(b.msgs) > 0 {
			<-b.msgs
			counts["b"]++
		}
		return counts["a"]+counts["b"] == 10
	})
	if counts["a"] != 5 || counts["b"] != 5 {
		t.Fatalf("round robin uneven: %v", counts)
	}
	// No Local on a shared subscription is a protocol error.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	a.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "$share/g/x", NoLocal: true}}})
	select {
	case d := <-a.disconnected:
		if d.ReasonCode != 0x82 {
			t.Fatalf("reason 0x%02x", d.ReasonCode)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("no DISCONNECT for No Local on a shared subscription")
	}
}

func TestV5UnsubscribeAndSubackCodes(t *testing.T) {
	_, addr := testutil.StartBroker(t, nil)
	c := dial5(t, addr, &paho.Connect{ClientID: "c", CleanStart: true})
	ctx0, cancel0 := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel0()
	// Paho reports the refused filter as an error and still returns the SUBACK.
	sa, _ := c.Subscribe(ctx0, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "u/1", QoS: 2}, {Topic: "bad/#/x", QoS: 1}}})
	if sa == nil || len(sa.Reasons) != 2 || sa.Reasons[0] != 2 || sa.Reasons[1] != 0x8F {
		t.Fatalf("SUBACK %v", sa.Reasons)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	ua, err := c.Unsubscribe(ctx, &paho.Unsubscribe{Topics: []string{"u/1", "never"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(ua.Reasons) != 2 || ua.Reasons[0] != 0 || ua.Reasons[1] != 0x11 {
		t.Fatalf("UNSUBACK %v", ua.Reasons)
	}
	c.pub(t, &paho.Publish{Topic: "u/1", QoS: 1, Payload: []byte("x")})
	c.expectNone(t, 200*time.Millisecond)
}

func TestV5DollarTopicsNotMatchedByWildcards(t *testing.T) {
	_, addr := testutil.StartBroker(t, func(c *config.Config) {})
	c := dial5(t, addr, &paho.Connect{ClientID: "c", CleanStart: true})
	c.sub(t, paho.SubscribeOptions{Topic: "#", QoS: 1}, paho.SubscribeOptions{Topic: "+/x", QoS: 1})
	d := dial5(t, addr, &paho.Connect{ClientID: "d", CleanStart: true})
	d.sub(t, paho.SubscribeOptions{Topic: "$app/#", QoS: 1})
	c.pub(t, &paho.Publish{Topic: "$app/x", QoS: 1, Payload: []byte("d")})
	d.expect(t, "$app/x", "d")
	c.expectNone(t, 200*time.Millisecond) // [MQTT-4.7.2-1]
}
