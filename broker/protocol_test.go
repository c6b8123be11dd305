package broker_test

import (
	"fmt"
	"testing"
	"time"

	"midge/broker/config"
	"midge/broker/packet"
	"midge/internal/testutil"
)

// Protocol rules from the issue tracker, each over a raw socket for 3.1.1
// and 5.0: the 5.0 reason code of the last CONNACK/DISCONNECT, or a close
// (-1) for 3.1.1.

// refused runs each case on a fresh connection: setup (a CONNECT or
// nothing), the bytes sent, the answer expected; then checks the broker
// still serves a well-behaved client.
type refusedCase struct {
	name string
	v    byte // protocol version of the setup CONNECT (0: no setup)
	send []byte
	want int
}

func runRefused(t *testing.T, addr string, cases []refusedCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := testutil.Dial(t, addr)
			if tc.v != 0 {
				r.Connect(&packet.Connect{Version: tc.v, ClientID: []byte("c"), CleanStart: true})
			}
			r.Send(tc.send)
			r.ExpectReason(3*time.Second, tc.want)
			ok := testutil.Dial(t, addr)
			ok.Connect(&packet.Connect{Version: packet.Version311, ClientID: []byte("good"), CleanStart: true})
		})
	}
}

func TestControlCharactersRefused(t *testing.T) {
	_, addr := testutil.StartBroker(t, func(c *config.Config) {
		c.ConnectTimeout = config.Duration(500 * time.Millisecond)
	})
	conn := func(v byte, mutate func(*packet.Connect)) []byte {
		p := packet.Connect{Version: v, ClientID: []byte("ok"), CleanStart: true}
		mutate(&p)
		return packet.AppendConnect(nil, &p)
	}
	var cases []refusedCase
	for _, ctl := range []string{"\n", "\x01", "\x1f", "\x7f", "\u0080", "\u0085", "\u009f"} {
		for _, v := range []byte{packet.Version311, packet.Version5} {
			v5 := v == packet.Version5
			pick := func(code int) int {
				if v5 {
					return code
				}
				return -1
			}
			name := fmt.Sprintf("v%d %q ", v, ctl)
			cases = append(cases,
				refusedCase{name + "client id", 0, conn(v, func(p *packet.Connect) { p.ClientID = []byte("a" + ctl + "b") }), pick(0x85)},
				refusedCase{name + "user name", 0, conn(v, func(p *packet.Connect) {
					p.UsernameFlag, p.Username = true, []byte("u"+ctl)
				}), pick(0x81)},
				refusedCase{name + "will topic", 0, conn(v, func(p *packet.Connect) {
					p.WillFlag, p.WillTopic, p.WillPayload = true, []byte("w/"+ctl), []byte("x")
				}), pick(0x81)},
				refusedCase{name + "topic name", v, packet.AppendPublish(nil, &packet.Publish{Topic: []byte("t" + ctl), Payload: []byte("x")}, v), pick(0x81)},
				refusedCase{name + "subscribe filter", v, packet.AppendSubscribe(nil, packet.SUBSCRIBE, 1, nil,
					[]packet.Subscription{{Filter: []byte("t/" + ctl)}}, v), pick(0x81)},
				refusedCase{name + "unsubscribe filter", v, packet.AppendSubscribe(nil, packet.UNSUBSCRIBE, 1, nil,
					[]packet.Subscription{{Filter: []byte(ctl + "/#")}}, v), pick(0x81)},
			)
		}
	}
	runRefused(t, addr, cases)

	// Printable text outside the control ranges is still accepted.
	for _, v := range []byte{packet.Version311, packet.Version5} {
		r := testutil.Dial(t, addr)
		r.Connect(&packet.Connect{Version: v, ClientID: []byte("é\u00a0~"), CleanStart: true,
			UsernameFlag: true, Username: []byte("ü")})
		subscribe(t, r, "a/\u00a0/#", 0)
		publish(r, "a/\u00a0/ü", 0, 0, false, "\n")
		if m := r.ReadPublish(2 * time.Second); string(m.Payload) != "\n" {
			t.Fatalf("v%d: %q", v, m.Payload)
		}
	}
}

// An empty topic filter closes the connection [MQTT-4.7.3-1]: DISCONNECT
// 0x82 in 5.0, not a SUBACK failure code for that filter.
func TestEmptyTopicFilterIsProtocolError(t *testing.T) {
	_, addr := testutil.StartBroker(t, nil)
	var cases []refusedCase
	for _, v := range []byte{packet.Version311, packet.Version5} {
		want := -1
		if v == packet.Version5 {
			want = 0x82
		}
		subs := []packet.Subscription{{Filter: []byte("a")}, {Filter: nil}}
		cases = append(cases,
			refusedCase{fmt.Sprintf("v%d SUBSCRIBE", v), v, packet.AppendSubscribe(nil, packet.SUBSCRIBE, 1, nil, subs, v), want},
			refusedCase{fmt.Sprintf("v%d UNSUBSCRIBE", v), v, packet.AppendSubscribe(nil, packet.UNSUBSCRIBE, 1, nil, subs, v), want},
		)
	}
	runRefused(t, addr, cases)
}
