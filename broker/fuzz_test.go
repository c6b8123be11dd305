package broker

import (
	"encoding/hex"
	"encoding/json"
	"net/netip"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"midge/broker/packet"
)

// rawConn makes a connection that has not sent CONNECT yet.
func (h *harness) rawConn() *conn {
	fds := h.socketpair()
	b := h.b
	c := newConn(b, b.listeners[0], fds[0], netip.AddrPort{})
	b.track(c)
	b.poller.Add(fds[0], true, false)
	h.peer[c] = fds[1]
	return c
}

// goldenSeeds returns the packet golden table's inputs.
func goldenSeeds(f *testing.F) [][]byte {
	raw, err := os.ReadFile("packet/testdata/golden.json")
	if err != nil {
		f.Fatal(err)
	}
	var cases []struct{ Hex string }
	if err := json.Unmarshal(raw, &cases); err != nil {
		f.Fatal(err)
	}
	var out [][]byte
	for _, c := range cases {
		b, err := hex.DecodeString(strings.Join(strings.Fields(c.Hex), ""))
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// FuzzBroker drives the real read path and every handler from both client
// states (before CONNECT, and connected with each protocol version), with
// the input split into two reads at a fuzzer-chosen point. The broker must
// not panic, must keep its invariants, and must free the connection.
func FuzzBroker(f *testing.F) {
	for _, s := range goldenSeeds(f) {
		f.Add(s, uint16(len(s)/2), byte(0))
		f.Add(s, uint16(1), byte(5))
	}
	sub := packet.AppendSubscribe(nil, packet.SUBSCRIBE, 1, nil, []packet.Subscription{{Filter: []byte("#"), QoS: 2}}, packet.Version5)
	pub := packet.AppendPublish(nil, &packet.Publish{Topic: []byte("a"), QoS: 2, PacketID: 3, Retain: true, Payload: []byte("x")}, packet.Version5)
	f.Add(append(sub, pub...), uint16(3), byte(5))
	h := newHarness(f)
	watcher := h.conn("watcher", packet.Version5)
	h.subscribe(watcher, "#", 2)
	f.Fuzz(func(t *testing.T, data []byte, split uint16, mode byte) {
		b := h.b
		var c *conn
		switch mode % 4 {
		case 0:
			c = h.rawConn()
		default:
			c = h.conn("fuzz", []byte{packet.Version31, packet.Version311, packet.Version5}[mode%4-1])
		}
		cut := int(split) % (len(data) + 1)
		for _, chunk := range [][]byte{data[:cut], data[cut:]} {
			if len(chunk) == 0 || c.state == stateClosed {
				continue
			}
			unix.Write(h.peer[c], chunk)
			c.readable()
			b.endTurn()
			h.drain(c)
			h.drain(watcher)
			if cap(c.in) > b.cfg.MaxPacketSize+readBufSize {
				t.Fatalf("pending input %d beyond the packet cap", cap(c.in))
			}
			if s := c.sess; s != nil && len(s.inflight) > s.window() {
				t.Fatalf("%d in flight, window %d", len(s.inflight), s.window())
			}
		}
		c.destroy()
		unix.Close(h.peer[c])
		delete(h.peer, c)
		if b.connAt(c.fd) == c {
			t.Fatal("connection not forgotten")
		}
		h.drain(watcher)
	})
}
