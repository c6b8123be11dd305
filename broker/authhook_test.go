package broker_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"midge/broker"
	"midge/broker/config"
	"midge/internal/testutil"
)

// deviceHook is an AuthHook as a program embedding midge would write: one
// user with a fixed token, one banned client id, topics under readonly/ not
// publishable, hidden/ never delivered, forbidden/ not subscribable. It
// records whom it was asked about (on the loop).
type deviceHook struct{ seen []broker.Client }

func (h *deviceHook) Authenticate(c broker.Client, password []byte) broker.Decision {
	h.seen = append(h.seen, c)
	if c.ID == "banned" {
		return broker.Deny
	}
	if c.Username != "device" {
		return broker.Defer
	}
	if string(password) == "token-ok" {
		return broker.Allow
	}
	return broker.Deny
}

func (h *deviceHook) Authorize(c broker.Client, a broker.Access, topic []byte) broker.Decision {
	t := string(topic)
	switch {
	case a == broker.AccessPublish && strings.HasPrefix(t, "readonly/"),
		a == broker.AccessReceive && strings.HasPrefix(t, "hidden/"),
		a == broker.AccessSubscribe && strings.HasPrefix(t, "forbidden/"):
		return broker.Deny
	}
	return broker.Defer
}

// A hook added by the embedding program decides logins and topic access
// ahead of the configuration; what it defers falls to allow_anonymous.
func TestAuthHookChain(t *testing.T) {
	b, addr := testutil.StartBroker(t, func(c *config.Config) { c.AllowAnonymous = false })
	h := &deviceHook{}
	b.Call(func() { b.AddAuthHook(h) })

	refused := func(cp *paho.Connect, want byte) {
		t.Helper()
		conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		c := paho.NewClient(paho.ClientConfig{Conn: conn, OnClientError: func(error) {}})
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		ca, err := c.Connect(ctx, cp)
		if err == nil || ca == nil || ca.ReasonCode != want {
			t.Fatalf("%s: CONNACK %+v, %v; want 0x%02x", cp.ClientID, ca, err, want)
		}
	}
	refused(&paho.Connect{ClientID: "bad", UsernameFlag: true, Username: "device", PasswordFlag: true, Password: []byte("nope")}, 0x86)
	refused(&paho.Connect{ClientID: "banned"}, 0x87)                                       // denied without credentials: not authorised
	refused(&paho.Connect{ClientID: "anon"}, 0x87)                                         // deferred, anonymous not allowed
	refused(&paho.Connect{ClientID: "other", UsernameFlag: true, Username: "other"}, 0x86) // deferred: nothing vouches for the user
	dev := dial5(t, addr, &paho.Connect{ClientID: "dev", CleanStart: true, UsernameFlag: true, Username: "device",
		PasswordFlag: true, Password: []byte("token-ok")})

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	sa, _ := dev.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "forbidden/#", QoS: 1}, {Topic: "#", QoS: 1}}})
	if sa == nil || sa.Reasons[0] != 0x87 || sa.Reasons[1] != 1 {
		t.Fatalf("SUBACK %+v", sa)
	}
	if r, _ := dev.Publish(ctx, &paho.Publish{Topic: "readonly/x", QoS: 1, Payload: []byte("no")}); r == nil || r.ReasonCode != 0x87 {
		t.Fatalf("PUBACK for a denied topic: %+v", r)
	}
	dev.pub(t, &paho.Publish{Topic: "hidden/x", QoS: 1, Payload: []byte("unseen")})
	dev.pub(t, &paho.Publish{Topic: "open/x", QoS: 1, Payload: []byte("seen")})
	dev.expect(t, "open/x", "seen") // hidden/x was published but not delivered

	var seen []broker.Client
	b.Call(func() { seen = append(seen, h.seen...) })
	last := seen[len(seen)-1]
	if len(seen) != 5 || last.ID != "dev" || last.Username != "device" || last.Anonymous || last.Listener != 0 || !last.Remote.IsValid() {
		t.Fatalf("hook saw %+v", seen)
	}
}
