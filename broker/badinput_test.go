package broker_test

import (
	"testing"
	"time"

	"midge/broker/config"
	"midge/broker/packet"
	"midge/internal/testutil"
)

// Bad input over a raw socket: each case gets the spec's answer, and the
// broker keeps serving a well-behaved client afterwards.
func TestBadInput(t *testing.T) {
	b, addr := testutil.StartBroker(t, func(c *config.Config) {
		c.ConnectTimeout = config.Duration(500 * time.Millisecond)
	})
	v5 := func(r *testutil.Raw) {
		r.Connect(&packet.Connect{Version: packet.Version5, ClientID: []byte("bad5"), CleanStart: true})
	}
	v3 := func(r *testutil.Raw) {
		r.Connect(&packet.Connect{Version: packet.Version311, ClientID: []byte("bad3"), CleanStart: true})
	}
	cases := []struct {
		name  string
		setup func(*testutil.Raw)
		send  []byte
		want  int // reason code of the last CONNACK/DISCONNECT; -1 = silent close
	}{
		{"first packet not CONNECT [MQTT-3.1.0-1]", nil, []byte{0x30, 0x05, 0, 1, 'a', 'h', 'i'}, -1},
		{"garbage first", nil, []byte{0x00, 0x00}, -1},
		{"huge claimed length before CONNECT", nil, []byte{0x10, 0xff, 0xff, 0xff, 0x7f}, -1},
		{"5-byte remaining length v5 [MQTT-1.5.5-1]", v5, []byte{0x30, 0xff, 0xff, 0xff, 0xff, 0x01}, 0x81},
		{"5-byte remaining length v3", v3, []byte{0x30, 0xff, 0xff, 0xff, 0xff, 0x01}, -1},
		{"second CONNECT v5 [MQTT-3.1.0-2]", v5, packet.AppendConnect(nil, &packet.Connect{Version: 5, ClientID: []byte("x")}), 0x82},
		{"second CONNECT v3", v3, packet.AppendConnect(nil, &packet.Connect{Version: 4, ClientID: []byte("x"), CleanStart: true}), -1},
		{"wildcard in PUBLISH topic v5 [MQTT-3.3.2-2]", v5, []byte{0x30, 0x06, 0, 3, 'a', '/', '+', 0}, 0x90},
		{"wildcard in PUBLISH topic v3", v3, []byte{0x30, 0x05, 0, 3, 'a', '/', '#'}, -1},
		{"reserved flags v5 [MQTT-2.1.3-1]", v5, []byte{0xc1, 0x00}, 0x81},
		{"QoS 3 v5 [MQTT-3.3.1-4]", v5, []byte{0x36, 0x05, 0, 1, 'a', 0, 1}, 0x81},
		{"server-only packet (CONNACK) v5", v5, []byte{0x20, 0x03, 0, 0, 0}, 0x82},
		{"packet id 0 v5 [MQTT-2.2.1-3]", v5, []byte{0x32, 0x06, 0, 1, 'a', 0, 0, 0}, 0x82},
		{"topic alias 0 v5 [MQTT-3.3.2-8]", v5, []byte{0x30, 0x07, 0, 1, 'a', 3, 0x23, 0, 0}, 0x94},
		{"invalid UTF-8 topic v5 [MQTT-1.5.4-1]", v5, []byte{0x30, 0x06, 0, 3, 0xed, 0xa0, 0x80, 0}, 0x81},
		{"malformed CONNECT v5", nil, []byte{0x10, 0x0d, 0, 4, 'M', 'Q', 'T', 'T', 5, 3, 0, 10, 0, 0, 1, 'a', 'b'}, 0x81},
		{"CONNECT never completes (connect timeout)", nil, []byte{0x10, 0x20, 0, 4}, -1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := testutil.Dial(t, addr)
			if tc.setup != nil {
				tc.setup(r)
			}
			r.Send(tc.send)
			r.ExpectReason(3*time.Second, tc.want)
			// The broker still serves others.
			ok := testutil.Dial(t, addr)
			ok.Connect(&packet.Connect{Version: packet.Version311, ClientID: []byte("good"), CleanStart: true})
			ok.Send(packet.AppendPingreq(nil))
			if h, _ := ok.Read(2 * time.Second); h.Type != packet.PINGRESP {
				t.Fatalf("no PINGRESP, got %s", h.Type)
			}
		})
	}
	// Nothing is left behind.
	testutil.Eventually(t, 3*time.Second, "all connections closed", func() bool {
		n := -1
		b.Call(func() { n = b.Counters().Connected })
		return n == 0
	})
}

// A claimed length is never used to size a buffer: a packet that says it is
// 1 MB but sends 10 bytes costs only what arrived.
func TestClaimedLengthDoesNotAllocate(t *testing.T) {
	b, addr := testutil.StartBroker(t, nil)
	r := testutil.Dial(t, addr)
	r.Connect(&packet.Connect{Version: packet.Version311, ClientID: []byte("c"), CleanStart: true})
	r.Send([]byte{0x30, 0x80, 0x80, 0x40, 0, 3, 'a', '/', 'b', 'x', 'y', 'z'}) // claims 1 MiB
	var pending int
	testutil.Eventually(t, 2*time.Second, "partial packet buffered", func() bool {
		b.Call(func() { pending = b.PendingInputBytes() })
		return pending > 0
	})
	if pending > 4096 {
		t.Fatalf("%d bytes reserved for a partial packet of 12 bytes", pending)
	}
}
