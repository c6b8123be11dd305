package broker_test

import (
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"midge/broker/packet"
	"midge/internal/testutil"
)

// The embedded local only default listens on both loopbacks, 127.0.0.1 and
// [::1], as Mosquitto 2 does: a client that resolves localhost to ::1 gets
// in.
func TestLocalOnlyListensOnIPv6Loopback(t *testing.T) {
	if _, err := os.Stat("/proc/net/if_inet6"); err != nil {
		t.Skip("this kernel has no IPv6")
	}
	b, _ := testutil.StartBroker(t, nil)
	port := b.Addrs()[0].Port()
	c, err := net.DialTimeout("tcp", net.JoinHostPort("::1", strconv.Itoa(int(port))), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(packet.AppendConnect(nil, &packet.Connect{Version: packet.Version311, ClientID: []byte("v6"), CleanStart: true, KeepAlive: 30}))
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	var ack [4]byte
	if n, err := c.Read(ack[:]); err != nil || n < 4 || ack[0] != 0x20 || ack[3] != 0 {
		t.Fatalf("CONNACK over ::1: % x, %v", ack[:n], err)
	}
}
