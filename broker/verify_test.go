//go:build !noauth

package broker_test

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"midge/broker"
	"midge/broker/config"
	"midge/broker/packet"
	"midge/internal/testutil"
)

// argon2Entry is a password file line with chosen argon2id costs.
func argon2Entry(user, password string, memKiB, passes uint32) string {
	salt := []byte("0123456789abcdef")
	sum := argon2.IDKey([]byte(password), salt, passes, memKiB, 1, 32)
	return fmt.Sprintf("%s:$argon2id$v=19$m=%d,t=%d,p=1$%s$%s\n", user, memKiB, passes,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(sum))
}

// Slow password hashes are checked off the event loop: while logins wait
// for their argon2id checks, a connected client is served at once, and a
// client that sent SUBSCRIBE and PUBLISH right behind its CONNECT has them
// handled after the CONNACK, in order.
func TestSlowLoginsDoNotStallTheLoop(t *testing.T) {
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte(argon2Entry("dev", "secret", 32*1024, 4)), 0o600)
	_, addr := testutil.StartBroker(t, func(c *config.Config) {
		c.AllowAnonymous = true
		c.PasswordFile = pw
	})
	watcher := connect(t, addr, "watcher", packet.Version311, true, nil)
	const n = 8
	others := make([]*testutil.Raw, n)
	for i := range others {
		others[i] = testutil.Dial(t, addr)
	}
	time.Sleep(50 * time.Millisecond) // accepted, waiting for CONNECT

	// Pipelined: CONNECT, SUBSCRIBE, PUBLISH in one write.
	r := testutil.Dial(t, addr)
	var out []byte
	out = packet.AppendConnect(out, &packet.Connect{Version: packet.Version5, ClientID: []byte("pipe"), CleanStart: true,
		UsernameFlag: true, Username: []byte("dev"), PasswordFlag: true, Password: []byte("secret")})
	out = packet.AppendSubscribe(out, packet.SUBSCRIBE, 1, nil, []packet.Subscription{{Filter: []byte("p/#"), QoS: 1}}, packet.Version5)
	out = packet.AppendPublish(out, &packet.Publish{Topic: []byte("p/x"), QoS: 1, PacketID: 2, Payload: []byte("hi")}, packet.Version5)
	r.Send(out)

	// Meanwhile, more logins queue behind it.
	for i := range others {
		others[i].Send(packet.AppendConnect(nil, &packet.Connect{Version: packet.Version311, ClientID: []byte(fmt.Sprint("d", i)),
			CleanStart: true, UsernameFlag: true, Username: []byte("dev"), PasswordFlag: true, Password: []byte("secret")}))
	}
	time.Sleep(20 * time.Millisecond) // let the loop read them
	sent := time.Now()
	watcher.Send(packet.AppendPingreq(nil))
	if h, _ := watcher.Read(2 * time.Second); h.Type != packet.PINGRESP {
		t.Fatalf("got %s", h.Type)
	}
	rtt := time.Since(sent)
	// Had the logins run on the loop, the ping would have waited for them
	// and the last CONNACK would already be here.
	if h, _, err := others[n-1].TryRead(5 * time.Millisecond); err == nil {
		t.Fatalf("the last login was answered (%s) before a ping: logins ran on the loop", h.Type)
	}

	want := []packet.Type{packet.CONNACK, packet.SUBACK}
	for _, w := range want {
		if h, _ := r.Read(10 * time.Second); h.Type != w {
			t.Fatalf("pipelined client got %s, want %s", h.Type, w)
		}
	}
	var gotPub, gotAck bool
	for !(gotPub && gotAck) {
		h, body := r.Read(5 * time.Second)
		switch h.Type {
		case packet.PUBACK:
			gotAck = true
		case packet.PUBLISH:
			var p packet.Publish
			packet.DecodePublish(&p, h.Flags, body, packet.Version5)
			if string(p.Payload) != "hi" {
				t.Fatalf("payload %q", p.Payload)
			}
			r.Send(packet.AppendAck(nil, &packet.Ack{Type: packet.PUBACK, PacketID: p.PacketID}, packet.Version5))
			gotPub = true
		default:
			t.Fatalf("unexpected %s", h.Type)
		}
	}
	for _, o := range others {
		if h, body := o.Read(20 * time.Second); h.Type != packet.CONNACK || body[1] != 0 {
			t.Fatalf("login refused: %s % x", h.Type, body)
		}
	}
	t.Logf("ping round trip %v while %d argon2id logins (m=32 MiB, t=4) took %v", rtt, n+1, time.Since(sent))
}

// idHook records the client ids it is asked about.
type idHook struct{ ids []string }

func (h *idHook) Authenticate(c broker.Client, _ []byte) broker.Decision {
	h.ids = append(h.ids, c.ID)
	return broker.Defer
}
func (h *idHook) Authorize(broker.Client, broker.Access, []byte) broker.Decision { return broker.Defer }

// A client without an id keeps the one assigned before its password was
// verified: hooks and the CONNACK name the same.
func TestVerifiedLoginKeepsAssignedID(t *testing.T) {
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte(argon2Entry("dev", "secret", 1024, 1)), 0o600)
	b, addr := testutil.StartBroker(t, func(c *config.Config) { c.PasswordFile = pw })
	h := &idHook{}
	b.Call(func() { b.AddAuthHook(h) })
	r := testutil.Dial(t, addr)
	ca := r.Connect(&packet.Connect{Version: packet.Version5, CleanStart: true, KeepAlive: 30,
		UsernameFlag: true, Username: []byte("dev"), PasswordFlag: true, Password: []byte("secret")})
	var ids []string
	b.Call(func() { ids = h.ids })
	if len(ids) != 1 || string(ca.Props.AssignedClientID) != ids[0] {
		t.Fatalf("hook saw %q, CONNACK assigned %q", ids, ca.Props.AssignedClientID)
	}
}
