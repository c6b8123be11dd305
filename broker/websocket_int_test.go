//go:build !nows

package broker_test

import (
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"midge/broker/config"
	"midge/internal/testutil"
)

// Paho over WebSocket and a TCP client exchange messages both ways.
func TestWebSocketListener(t *testing.T) {
	b, _ := testutil.StartBroker(t, func(c *config.Config) {
		c.Listeners = append(c.Listeners, config.Listener{Port: 0, BindAddress: "127.0.0.1", Protocol: "websockets"})
	})
	tcp := b.Addrs()[0].String()
	ws := b.Addrs()[1].String()
	wsc := dial3(t, "", "wsclient", true, func(o *mqtt.ClientOptions) {
		o.Servers = nil
		o.AddBroker("ws://" + ws + "/mqtt")
	})
	tc := dial3(t, tcp, "tcpclient", true, nil)
	wsc.sub(t, "to/ws", 1)
	tc.sub(t, "to/tcp", 1)
	tc.pub(t, "to/ws", 1, false, "hello browser")
	wsc.expect(t, "to/ws", "hello browser")
	big := string(make([]byte, 70000)) // a frame with a 64-bit length
	wsc.pub(t, "to/tcp", 1, false, big)
	if m := tc.expect(t, "to/tcp", big); len(m.Payload()) != 70000 {
		t.Fatal("large message over WebSocket truncated")
	}
	wsc.Disconnect(100)
	time.Sleep(50 * time.Millisecond)
}
