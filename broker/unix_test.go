package broker_test

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"midge/broker"
	"midge/broker/config"
	"midge/broker/packet"
	"midge/internal/testutil"
)

// A unix socket listener (Mosquitto's `listener 0 /path`): local clients
// exchange messages with TCP ones; a stale socket file from a crash is
// replaced, any other file is not; the socket goes away with the broker.
func TestUnixSocketListener(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "midge.sock")
	// A socket file left by a killed broker.
	stale, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()
	os.WriteFile(sock+".tmp", nil, 0o600)
	b, tcp := testutil.StartBroker(t, func(c *config.Config) {
		c.Listeners = append(c.Listeners, config.Listener{Protocol: "mqtt", UnixSocket: sock})
	})
	local := testutil.Dial(t, sock)
	local.Connect(&packet.Connect{Version: packet.Version5, ClientID: []byte("local"), CleanStart: true, KeepAlive: 60})
	subscribe(t, local, "u/#", 1)
	remote := connect(t, tcp, "remote", packet.Version311, true, nil)
	publish(remote, "u/x", 0, 0, false, "over unix")
	if p := local.ReadPublish(2 * time.Second); string(p.Payload) != "over unix" {
		t.Fatalf("got %q", p.Payload)
	}
	b.Close()
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Fatalf("socket file left behind: %v", err)
	}

	// Not a socket: refused, and kept.
	cfg := config.Default()
	cfg.Listeners = []config.Listener{{Protocol: "mqtt", UnixSocket: sock + ".tmp"}}
	if _, err := broker.New(cfg, broker.NewLogger(nil, nil)); err == nil || !strings.Contains(err.Error(), "is not a socket") {
		t.Fatalf("a regular file was taken over: %v", err)
	}
	if _, err := os.Stat(sock + ".tmp"); err != nil {
		t.Fatal(err)
	}
}
