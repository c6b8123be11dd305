// Package testutil holds the small helpers the tests share: a broker on
// 127.0.0.1:0 stopped by t.Cleanup, Eventually, a raw MQTT socket client,
// and the CI rule that a missing prerequisite fails instead of skipping.
package testutil

import (
	"bufio"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"midge/broker"
	"midge/broker/config"
	"midge/broker/packet"
)

// StartBroker runs a broker with the default configuration on 127.0.0.1:0,
// changed by mutate, and returns it with its address. It is closed when the
// test ends.
func StartBroker(t testing.TB, mutate func(*config.Config)) (*broker.Broker, string) {
	t.Helper()
	cfg := config.Default()
	cfg.Listeners[0].Port = 0
	cfg.Log.Dest = []string{"none"}
	if mutate != nil {
		mutate(cfg)
	}
	log := broker.NewLogger(nil, nil)
	if os.Getenv("MIDGE_TEST_LOG") != "" {
		log = broker.NewLogger([]string{"stderr"}, []string{"all"})
	}
	b, err := broker.New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	go b.Serve()
	t.Cleanup(func() { b.Close() })
	return b, b.Addrs()[0].String()
}

// Eventually polls fn every 10 ms until it returns true or timeout passes.
func Eventually(t testing.TB, timeout time.Duration, what string, fn func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !fn() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Need returns the path of a command the test needs. Outside CI a missing
// command skips the test; in CI (CI=true) it fails it.
func Need(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required in CI but not installed", name)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

// Raw is a bare MQTT connection for tests that must send exact bytes.
type Raw struct {
	t       testing.TB
	Conn    net.Conn
	r       *bufio.Reader
	Version byte
	ps      packet.Packets
}

// Dial opens a raw connection; it is closed when the test ends. An addr
// starting with '/' is a unix socket.
func Dial(t testing.TB, addr string) *Raw {
	t.Helper()
	network := "tcp"
	if len(addr) > 0 && addr[0] == '/' {
		network = "unix"
	}
	c, err := net.DialTimeout(network, addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &Raw{t: t, Conn: c, r: bufio.NewReader(c), Version: packet.Version311}
}

// Send writes b.
func (r *Raw) Send(b []byte) {
	r.t.Helper()
	r.Conn.SetWriteDeadline(time.Now().Add(2 * time.Second))
	if _, err := r.Conn.Write(b); err != nil {
		r.t.Fatalf("write: %v", err)
	}
}

// Connect sends CONNECT and expects a successful CONNACK; it returns the
// CONNACK.
func (r *Raw) Connect(p *packet.Connect) packet.Connack {
	r.t.Helper()
	r.Version = p.Version
	r.Send(packet.AppendConnect(nil, p))
	h, body := r.Read(2 * time.Second)
	if h.Type != packet.CONNACK {
		r.t.Fatalf("expected CONNACK, got %s", h.Type)
	}
	var ack packet.Connack
	if err := packet.DecodeConnack(&ack, body, r.Version); err != nil {
		r.t.Fatal(err)
	}
	if ack.Reason != 0 {
		r.t.Fatalf("CONNACK refused: 0x%02x", ack.Reason)
	}
	return ack
}

// Read reads one packet, failing the test on error or timeout.
func (r *Raw) Read(timeout time.Duration) (packet.FixedHeader, []byte) {
	r.t.Helper()
	h, body, err := r.TryRead(timeout)
	if err != nil {
		r.t.Fatalf("read: %v", err)
	}
	return h, body
}

// TryRead reads one packet; io.EOF means the broker closed the connection.
func (r *Raw) TryRead(timeout time.Duration) (packet.FixedHeader, []byte, error) {
	r.Conn.SetReadDeadline(time.Now().Add(timeout))
	return packet.ReadPacket(r.r, 0)
}

// ReadPublish reads packets until a PUBLISH and decodes it (views copied).
func (r *Raw) ReadPublish(timeout time.Duration) packet.Publish {
	r.t.Helper()
	for {
		h, body := r.Read(timeout)
		if h.Type != packet.PUBLISH {
			continue
		}
		var p packet.Publish
		if err := packet.DecodePublish(&p, h.Flags, body, r.Version); err != nil {
			r.t.Fatal(err)
		}
		return p
	}
}

// ExpectClosed reads until the broker closes the connection, returning the
// packets it sent first (a CONNACK or DISCONNECT).
func (r *Raw) ExpectClosed(timeout time.Duration) []packet.FixedHeader {
	r.t.Helper()
	var got []packet.FixedHeader
	for {
		h, _, err := r.TryRead(timeout)
		if err == io.EOF || isReset(err) {
			return got
		}
		if err != nil {
			r.t.Fatalf("waiting for close: %v (got %v)", err, got)
		}
		got = append(got, h)
	}
}

// ExpectReason reads until close and checks the last packet's reason code
// (the CONNACK or DISCONNECT reason byte); want < 0 means "no packet".
func (r *Raw) ExpectReason(timeout time.Duration, want int) {
	r.t.Helper()
	var last []byte
	var lastType packet.Type
	for {
		h, body, err := r.TryRead(timeout)
		if err == io.EOF || isReset(err) {
			break
		}
		if err != nil {
			r.t.Fatalf("waiting for close: %v", err)
		}
		last, lastType = body, h.Type
	}
	if want < 0 {
		if last != nil {
			r.t.Fatalf("expected a silent close, got %s % x", lastType, last)
		}
		return
	}
	var code byte
	switch {
	case lastType == packet.CONNACK && len(last) >= 2:
		code = last[1]
	case lastType == packet.DISCONNECT && len(last) >= 1:
		code = last[0]
	default:
		r.t.Fatalf("expected CONNACK/DISCONNECT with 0x%02x, got %s % x", want, lastType, last)
	}
	if int(code) != want {
		r.t.Fatalf("%s reason 0x%02x, want 0x%02x", lastType, code, want)
	}
}

func isReset(err error) bool {
	if ne, ok := err.(*net.OpError); ok {
		return ne.Err != nil && (ne.Err.Error() == "read: connection reset by peer")
	}
	return false
}

// Port returns the port of a host:port address.
func Port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	if _, err := strconv.Atoi(p); err != nil {
		return ""
	}
	return p
}
