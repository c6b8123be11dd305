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

// An acknowledgement of the wrong kind for an id in flight closes the
// connection (DISCONNECT 0x82 in 5.0); one for an id not in flight does not.
func TestWrongAcknowledgementIsProtocolError(t *testing.T) {
	_, addr := testutil.StartBroker(t, nil)
	cases := []struct {
		name  string
		qos   byte
		first packet.Type // sent after the PUBLISH arrives (0: none)
		wrong packet.Type
	}{
		{"PUBREC for QoS 1", 1, 0, packet.PUBREC},
		{"PUBCOMP for QoS 1", 1, 0, packet.PUBCOMP},
		{"PUBACK for QoS 2", 2, 0, packet.PUBACK},
		{"PUBCOMP before PUBREC", 2, 0, packet.PUBCOMP},
		{"PUBACK after PUBREC", 2, packet.PUBREC, packet.PUBACK},
	}
	for _, v := range []byte{packet.Version311, packet.Version5} {
		for i, tc := range cases {
			t.Run(fmt.Sprintf("v%d %s", v, tc.name), func(t *testing.T) {
				id := fmt.Sprintf("w%d-%d", v, i)
				sub := connect(t, addr, id, v, true, nil)
				subscribe(t, sub, id, tc.qos)
				pub := connect(t, addr, id+"p", v, true, nil)
				publish(pub, id, tc.qos, 1, false, "x")
				m := sub.ReadPublish(2 * time.Second)
				if tc.first != 0 {
					ack(sub, tc.first, m.PacketID)
					if h, _ := sub.Read(2 * time.Second); h.Type != packet.PUBREL {
						t.Fatalf("expected PUBREL, got %s", h.Type)
					}
				}
				ack(sub, tc.wrong, m.PacketID)
				want := -1
				if v == packet.Version5 {
					want = 0x82
				}
				sub.ExpectReason(2*time.Second, want)
			})
		}
		t.Run(fmt.Sprintf("v%d ids not in flight", v), func(t *testing.T) {
			r := connect(t, addr, fmt.Sprintf("n%d", v), v, true, nil)
			ack(r, packet.PUBACK, 7)
			ack(r, packet.PUBCOMP, 7)
			ack(r, packet.PUBREC, 8)
			h, body := r.Read(2 * time.Second)
			if h.Type != packet.PUBREL || (v == packet.Version5 && (len(body) < 3 || body[2] != 0x92)) {
				t.Fatalf("PUBREC for an unknown id: %s % x", h.Type, body)
			}
			ack(r, packet.PUBREL, 9)
			h, body = r.Read(2 * time.Second)
			if h.Type != packet.PUBCOMP || (v == packet.Version5 && (len(body) < 3 || body[2] != 0x92)) {
				t.Fatalf("PUBREL for an unknown id: %s % x", h.Type, body)
			}
			r.Send(packet.AppendPingreq(nil))
			if h, _ := r.Read(2 * time.Second); h.Type != packet.PINGRESP {
				t.Fatalf("no PINGRESP, got %s", h.Type)
			}
		})
	}
}

// Publishing to a topic reserved to the broker is refused with 0x87 on 5.0
// (3.1.1 has no negative acknowledgement: acknowledged and dropped), and
// nobody receives it. A Reason String goes only with an error code, and
// only when the client allows problem information.
func TestReservedTopicsAndReasonStrings(t *testing.T) {
	_, addr := testutil.StartBroker(t, nil)
	watch := connect(t, addr, "watch", packet.Version5, true, nil)
	subscribe(t, watch, "#", 2)
	subscribe(t, watch, "$SYS/x/#", 2)
	subscribe(t, watch, "$CONTROL/#", 2)
	for _, v := range []byte{packet.Version311, packet.Version5} {
		for _, noInfo := range []bool{false, true} {
			r := connect(t, addr, fmt.Sprintf("p%d%v", v, noInfo), v, true, func(p *packet.Connect) {
				if noInfo && v == packet.Version5 {
					p.Props.Set(packet.PropRequestProblemInfo)
					p.Props.RequestProblemInfo = 0
				}
			})
			for i, topic := range []string{"$SYS/x/y", "$share/g/t", "$CONTROL/dynamic-security/v1"} {
				qos := byte(1 + i%2)
				publish(r, topic, qos, uint16(i+1), false, "x")
				a := readAck(t, r, []packet.Type{packet.PUBACK, packet.PUBREC}[qos-1])
				want := packet.ReasonCode(packet.NotAuthorized)
				if v != packet.Version5 {
					want = packet.Success
				}
				hasText := a.Props.Has(packet.PropReasonString)
				if a.Reason != want || hasText != (v == packet.Version5 && !noInfo) {
					t.Fatalf("v%d %s: %s 0x%02x reason string %v", v, topic, a.Type, byte(a.Reason), hasText)
				}
				if qos == 2 && v != packet.Version5 {
					ack(r, packet.PUBREL, uint16(i+1))
					readAck(t, r, packet.PUBCOMP)
				}
			}
			if v == packet.Version5 {
				// 0x10 No matching subscribers is a success: no Reason String.
				publish(r, "$nobody", 1, 9, false, "x")
				if a := readAck(t, r, packet.PUBACK); a.Reason != packet.NoMatchingSubscribers || a.Props.Has(packet.PropReasonString) {
					t.Fatalf("0x10: 0x%02x reason string %v", byte(a.Reason), a.Props.Has(packet.PropReasonString))
				}
			}
		}
	}
	if h, body, err := watch.TryRead(200 * time.Millisecond); err == nil {
		t.Fatalf("a reserved topic was delivered: %s % x", h.Type, body)
	}
}

// A 3.1 (MQIsdp) CONNECT with the reserved connect flag or fixed-header
// flags set is accepted, as Mosquitto accepts it; 3.1.1 and 5.0 are not.
func TestV31ConnectLeniency(t *testing.T) {
	_, addr := testutil.StartBroker(t, nil)
	for _, tc := range []struct {
		v           byte
		reserved    bool
		headerFlags byte
		ok          bool
	}{
		{packet.Version31, true, 0, true},
		{packet.Version31, false, 0x0f, true},
		{packet.Version31, true, 0x02, true},
		{packet.Version311, true, 0, false},
		{packet.Version311, false, 0x02, false},
		{packet.Version5, false, 0x02, false},
	} {
		b := packet.AppendConnect(nil, &packet.Connect{Version: tc.v, ClientID: []byte("l"), CleanStart: true, KeepAlive: 60})
		b[0] |= tc.headerFlags
		if tc.reserved {
			i := 2 + 2 + 6 + 1 // header, name length, "MQIsdp", level
			if tc.v != packet.Version31 {
				i -= 2
			}
			b[i] |= 0x01
		}
		r := testutil.Dial(t, addr)
		r.Send(b)
		if !tc.ok {
			want := -1
			if tc.v == packet.Version5 {
				want = 0x81
			}
			r.ExpectReason(2*time.Second, want)
			continue
		}
		h, body := r.Read(2 * time.Second)
		if h.Type != packet.CONNACK || len(body) != 2 || body[1] != 0 {
			t.Fatalf("%+v: %s % x", tc, h.Type, body)
		}
	}
}

// CONNACK properties come in Mosquitto's order: Topic Alias Maximum,
// Server Keep Alive, Assigned Client Identifier, Authentication Method and
// Data, Retain Available, Maximum Packet Size, Receive Maximum, Maximum QoS.
func TestConnackPropertyOrder(t *testing.T) {
	_, addr := testutil.StartBroker(t, func(c *config.Config) {
		c.MaxKeepalive = 30
		c.RetainAvailable = false
	})
	r := testutil.Dial(t, addr)
	r.Send(packet.AppendConnect(nil, &packet.Connect{Version: packet.Version5, CleanStart: true, KeepAlive: 60}))
	h, body := r.Read(2 * time.Second)
	if h.Type != packet.CONNACK || len(body) < 3 || body[1] != 0 {
		t.Fatalf("%s % x", h.Type, body)
	}
	// Walk the properties (all fixed-size or two-byte-length strings here).
	var ids []byte
	b := body[3:]
	for len(b) > 0 {
		id := b[0]
		ids = append(ids, id)
		switch id {
		case packet.PropRetainAvailable, packet.PropMaximumQoS, packet.PropWildcardSubAvailable,
			packet.PropSubIDAvailable, packet.PropSharedSubAvailable:
			b = b[2:]
		case packet.PropTopicAliasMaximum, packet.PropServerKeepAlive, packet.PropReceiveMaximum:
			b = b[3:]
		case packet.PropMaximumPacketSize, packet.PropSessionExpiry:
			b = b[5:]
		default:
			b = b[3+(int(b[1])<<8|int(b[2])):]
		}
	}
	rank := map[byte]int{}
	for i, id := range []byte{packet.PropTopicAliasMaximum, packet.PropServerKeepAlive, packet.PropAssignedClientID,
		packet.PropAuthMethod, packet.PropAuthData, packet.PropRetainAvailable, packet.PropMaximumPacketSize,
		packet.PropReceiveMaximum, packet.PropMaximumQoS} {
		rank[id] = i + 1
	}
	last, seen := 0, 0
	for _, id := range ids {
		r, ok := rank[id]
		if !ok {
			r = 100 // the others come after Mosquitto's
		} else {
			seen++
		}
		if r < last {
			t.Fatalf("CONNACK property order % x", ids)
		}
		last = r
	}
	if ids[0] != packet.PropTopicAliasMaximum || seen < 4 {
		t.Fatalf("CONNACK properties % x", ids)
	}
}

// A 3.1 CONNACK has no session present flag: 20 02 00 rc, even when the
// session was kept.
func TestV31ConnackHasNoSessionPresent(t *testing.T) {
	_, addr := testutil.StartBroker(t, nil)
	for i, want := range [][]byte{{0, 0}, {0, 0}} {
		r := testutil.Dial(t, addr)
		r.Send(packet.AppendConnect(nil, &packet.Connect{Version: packet.Version31, ClientID: []byte("old"), KeepAlive: 60}))
		h, body := r.Read(2 * time.Second)
		if h.Type != packet.CONNACK || string(body) != string(want) {
			t.Fatalf("connect %d: %s % x", i, h.Type, body)
		}
		if i == 0 {
			subscribe(t, r, "keep", 1)
		}
		r.Conn.Close()
		time.Sleep(50 * time.Millisecond)
	}
	// The same for 3.1.1 sets the flag on the second connect.
	for i, want := range [][]byte{{0, 0}, {1, 0}} {
		r := testutil.Dial(t, addr)
		r.Send(packet.AppendConnect(nil, &packet.Connect{Version: packet.Version311, ClientID: []byte("new"), KeepAlive: 60}))
		if _, body := r.Read(2 * time.Second); string(body) != string(want) {
			t.Fatalf("3.1.1 connect %d: % x", i, body)
		}
		r.Conn.Close()
		time.Sleep(50 * time.Millisecond)
	}
}
