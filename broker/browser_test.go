//go:build !nows

package broker_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"midge/broker/config"
	"midge/internal/testutil"
)

// A page in headless Chromium uses MQTT.js over WebSocket: it receives what
// a TCP client publishes and its message reaches the TCP client. Needs
// node, Debian's chromium and `npm install` in tools/browser (.ci/run does
// all three).
func TestBrowserOverWebSocket(t *testing.T) {
	node := testutil.Need(t, "node")
	testutil.Need(t, "chromium")
	dir, _ := filepath.Abs("../tools/browser")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tools/browser has no node_modules: run npm install there")
		}
		t.Skip("tools/browser: npm install not run")
	}
	b, _ := testutil.StartBroker(t, func(c *config.Config) {
		c.Listeners = append(c.Listeners, config.Listener{Port: 0, BindAddress: "127.0.0.1", Protocol: "websockets"})
	})
	tcp := dial3(t, b.Addrs()[0].String(), "tcp", true, nil)
	tcp.sub(t, "from/browser", 1)
	go func() { // answer the browser once it has spoken
		select {
		case m := <-tcp.msgs:
			if string(m.Payload()) == "hello from chromium" {
				tcp.Publish("to/browser", 1, false, "hello from tcp").WaitTimeout(3 * time.Second)
			}
		case <-time.After(30 * time.Second):
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(dir, "run.js"), "ws://"+b.Addrs()[1].String()+"/mqtt")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("browser: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), `{"topic":"to/browser","payload":"hello from tcp"}`) {
		t.Fatalf("browser got %s", out)
	}
	_ = mqtt.ErrNotConnected
}
