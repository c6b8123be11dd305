package broker_test

import (
	"bytes"
	"testing"
	"time"

	"midge/broker/packet"
	"midge/internal/testutil"
)

// A legal CONNECT larger than max_connect_packet_size (a 5.0 will payload
// of 65,535 bytes) is answered, not dropped: a 5.0 client gets CONNACK 0x95
// Packet too large, a 3.1.1 client (which has no such code) a close.
func TestOversizedConnectIsAnswered(t *testing.T) {
	_, addr := testutil.StartBroker(t, nil)
	for _, tc := range []struct {
		v    byte
		want int
	}{{packet.Version5, int(packet.PacketTooLarge)}, {packet.Version311, -1}} {
		r := testutil.Dial(t, addr)
		p := packet.Connect{Version: tc.v, ClientID: []byte("big-will"), CleanStart: true, KeepAlive: 60,
			WillFlag: true, WillTopic: []byte("w"), WillPayload: bytes.Repeat([]byte{'x'}, 65535)}
		r.Send(packet.AppendConnect(nil, &p))
		r.ExpectReason(3*time.Second, tc.want)
	}
}
