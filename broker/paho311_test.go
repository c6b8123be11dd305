package broker_test

import (
	"net"
	"net/url"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"midge/internal/testutil"
)

// v3client is a Paho MQTT 3.1.1 client with its received messages.
type v3client struct {
	mqtt.Client
	msgs chan mqtt.Message
	lost chan error
}

func dial3(t *testing.T, addr, id string, clean bool, mutate func(*mqtt.ClientOptions)) *v3client {
	t.Helper()
	vc := &v3client{msgs: make(chan mqtt.Message, 1000), lost: make(chan error, 1)}
	o := mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).SetCleanSession(clean).
		SetProtocolVersion(4).SetAutoReconnect(false).SetConnectRetry(false).SetKeepAlive(30 * time.Second).
		SetConnectTimeout(3 * time.Second).SetOrderMatters(true).
		SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) { vc.msgs <- m }).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) { vc.lost <- err })
	if mutate != nil {
		mutate(o)
	}
	vc.Client = mqtt.NewClient(o)
	if tok := vc.Connect(); !tok.WaitTimeout(3*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %q: %v", id, tok.Error())
	}
	t.Cleanup(func() { vc.Disconnect(0) })
	return vc
}

func wait(t *testing.T, tok mqtt.Token, what string) {
	t.Helper()
	if !tok.WaitTimeout(3*time.Second) || tok.Error() != nil {
		t.Fatalf("%s: %v", what, tok.Error())
	}
}

func (c *v3client) sub(t *testing.T, filter string, qos byte) {
	t.Helper()
	wait(t, c.Subscribe(filter, qos, nil), "subscribe "+filter)
}

func (c *v3client) pub(t *testing.T, topic string, qos byte, retain bool, payload string) {
	t.Helper()
	wait(t, c.Publish(topic, qos, retain, payload), "publish "+topic)
}

func (c *v3client) expect(t *testing.T, topic, payload string) mqtt.Message {
	t.Helper()
	select {
	case m := <-c.msgs:
		if m.Topic() != topic || string(m.Payload()) != payload {
			t.Fatalf("got %s %q, want %s %q", m.Topic(), m.Payload(), topic, payload)
		}
		return m
	case <-time.After(3 * time.Second):
		t.Fatalf("no message on %s", topic)
	}
	return nil
}

func (c *v3client) expectNone(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case m := <-c.msgs:
		t.Fatalf("unexpected message %s %q", m.Topic(), m.Payload())
	case <-time.After(d):
	}
}

func TestV311PubSubAllQoS(t *testing.T) {
	_, addr := testutil.StartBroker(t, nil)
	sub := dial3(t, addr, "sub", true, nil)
	pub := dial3(t, addr, "pub", true, nil)
	sub.sub(t, "q/+", 2)
	for q := byte(0); q <= 2; q++ {
		pub.pub(t, "q/x", q, false, string([]byte{'0' + q}))
		if m := sub.expect(t, "q/x", string([]byte{'0' + q})); m.Qos() != q {
			t.Fatalf("QoS %d, want %d", m.Qos(), q)
		}
	}
}

func TestV311Retained(t *testing.T) {
	_, addr := testutil.StartBroker(t, nil)
	pub := dial3(t, addr, "pub", true, nil)
	pub.pub(t, "r/a", 1, true, "old")
	pub.pub(t, "r/a", 1, true, "new")
	pub.pub(t, "r/b", 2, true, "b")
	pub.pub(t, "r/b", 0, true, "") // clear
	sub := dial3(t, addr, "sub", true, nil)
	sub.sub(t, "r/#", 2)
	if m := sub.expect(t, "r/a", "new"); !m.Retained() || m.Qos() != 1 {
		t.Fatalf("retained %v qos %d", m.Retained(), m.Qos())
	}
	sub.expectNone(t, 200*time.Millisecond)
}

func TestV311PersistentSessionQueuesWhileOffline(t *testing.T) {
	_, addr := testutil.StartBroker(t, nil)
	c := dial3(t, addr, "durable", false, nil)
	c.sub(t, "d/#", 1)
	c.Disconnect(100)
	pub := dial3(t, addr, "pub", true, nil)
	pub.pub(t, "d/1", 1, false, "one")
	pub.pub(t, "d/2", 2, false, "two")
	pub.pub(t, "d/3", 0, false, "zero is not queued")
	msgs := make(chan mqtt.Message, 10)
	o := mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("durable").SetCleanSession(false).
		SetAutoReconnect(false).SetOrderMatters(true).
		SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) { msgs <- m })
	c2 := mqtt.NewClient(o)
	tok := c2.Connect()
	wait(t, tok, "reconnect")
	defer c2.Disconnect(0)
	if !tok.(*mqtt.ConnectToken).SessionPresent() {
		t.Fatal("session not present")
	}
	for _, want := range []string{"one", "two"} {
		select {
		case m := <-msgs:
			if string(m.Payload()) != want {
				t.Fatalf("got %q want %q", m.Payload(), want)
			}
		case <-time.After(3 * time.Second):
			t.Fatalf("queued message %q not delivered", want)
		}
	}
	select {
	case m := <-msgs:
		t.Fatalf("unexpected %q", m.Payload())
	case <-time.After(200 * time.Millisecond):
	}
}

func TestV311CleanSessionDiscardsState(t *testing.T) {
	_, addr := testutil.StartBroker(t, nil)
	c := dial3(t, addr, "x", false, nil)
	c.sub(t, "cs", 1)
	c.Disconnect(100)
	c2 := dial3(t, addr, "x", true, nil)
	pub := dial3(t, addr, "pub", true, nil)
	pub.pub(t, "cs", 1, false, "m")
	c2.expectNone(t, 200*time.Millisecond)
}

func TestV311Takeover(t *testing.T) {
	_, addr := testutil.StartBroker(t, nil)
	old := dial3(t, addr, "same", true, nil)
	dial3(t, addr, "same", true, nil)
	select {
	case <-old.lost:
	case <-time.After(3 * time.Second):
		t.Fatal("old connection not closed on takeover")
	}
}

func TestV311WillOnAbnormalClose(t *testing.T) {
	_, addr := testutil.StartBroker(t, nil)
	w := dial3(t, addr, "watch", true, nil)
	w.sub(t, "will/#", 1)
	// A clean DISCONNECT discards the will.
	polite := dial3(t, addr, "polite", true, func(o *mqtt.ClientOptions) { o.SetWill("will/polite", "bye", 1, false) })
	polite.Disconnect(100)
	w.expectNone(t, 300*time.Millisecond)
	// Dropping the connection publishes it: the test keeps Paho's socket and
	// closes it under the client.
	var sock net.Conn
	dial3(t, addr, "rude", true, func(o *mqtt.ClientOptions) {
		o.SetWill("will/rude", "lost", 1, true)
		o.SetCustomOpenConnectionFn(func(u *url.URL, _ mqtt.ClientOptions) (net.Conn, error) {
			c, err := net.Dial("tcp", u.Host)
			sock = c
			return c, err
		})
	})
	sock.Close()
	w.expect(t, "will/rude", "lost")
	// The will was retained.
	late := dial3(t, addr, "late", true, nil)
	late.sub(t, "will/rude", 0)
	late.expect(t, "will/rude", "lost")
}

func TestV311OverlapDeliversOnce(t *testing.T) {
	_, addr := testutil.StartBroker(t, nil)
	c := dial3(t, addr, "c", true, nil)
	c.sub(t, "a/#", 1)
	c.sub(t, "a/+", 0)
	c.sub(t, "#", 2)
	pub := dial3(t, addr, "pub", true, nil)
	pub.pub(t, "a/b", 2, false, "x")
	if m := c.expect(t, "a/b", "x"); m.Qos() != 2 {
		t.Fatalf("QoS %d", m.Qos())
	}
	c.expectNone(t, 200*time.Millisecond)
	wait(t, c.Unsubscribe("#", "a/#", "a/+"), "unsubscribe")
	pub.pub(t, "a/b", 1, false, "y")
	c.expectNone(t, 200*time.Millisecond)
}

func TestV311SharedSubscription(t *testing.T) {
	br, addr := testutil.StartBroker(t, nil)
	a := dial3(t, addr, "a", true, nil)
	b := dial3(t, addr, "b", true, nil)
	a.sub(t, "$share/grp/s/#", 1)
	b.sub(t, "$share/grp/s/#", 1)
	pub := dial3(t, addr, "pub", true, nil)
	for i := 0; i < 6; i++ {
		pub.pub(t, "s/x", 1, false, "m")
	}
	testutil.Eventually(t, 3*time.Second, "6 deliveries", func() bool { return len(a.msgs)+len(b.msgs) == 6 })
	if len(a.msgs) != 3 || len(b.msgs) != 3 {
		t.Fatalf("a=%d b=%d", len(a.msgs), len(b.msgs))
	}
	// When one member goes away the other gets everything.
	a.Disconnect(100)
	testutil.Eventually(t, 2*time.Second, "a gone", func() bool {
		n := 0
		br.Call(func() { n = br.Counters().Connected })
		return n == 2
	})
	for len(b.msgs) > 0 {
		<-b.msgs
	}
	for i := 0; i < 4; i++ {
		pub.pub(t, "s/x", 1, false, "m")
	}
	testutil.Eventually(t, 3*time.Second, "4 deliveries to b", func() bool { return len(b.msgs) == 4 })
}
