//go:build !nocli && !nopersist

package main

import (
	"bufio"
	"fmt"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"midge/broker/packet"
)

// rawConn is a minimal blocking MQTT 3.1.1 connection for the crash test.
type rawConn struct {
	c net.Conn
	r *bufio.Reader
}

func rawDial(addr, id string, clean bool) (*rawConn, bool, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return nil, false, err
	}
	rc := &rawConn{c: c, r: bufio.NewReader(c)}
	rc.c.Write(packet.AppendConnect(nil, &packet.Connect{Version: packet.Version311, ClientID: []byte(id), CleanStart: clean, KeepAlive: 60}))
	h, body, err := rc.read(2 * time.Second)
	if err != nil || h.Type != packet.CONNACK || len(body) < 2 || body[1] != 0 {
		c.Close()
		return nil, false, fmt.Errorf("connect: %v", err)
	}
	return rc, body[0]&1 == 1, nil
}

func (rc *rawConn) read(timeout time.Duration) (packet.FixedHeader, []byte, error) {
	rc.c.SetReadDeadline(time.Now().Add(timeout))
	return packet.ReadPacket(rc.r, 0)
}

func (rc *rawConn) ack(t packet.Type, id uint16) error {
	_, err := rc.c.Write(packet.AppendAck(nil, &packet.Ack{Type: t, PacketID: id}, packet.Version311))
	return err
}

// expectAck waits for an acknowledgement of type t for id.
func (rc *rawConn) expectAck(t packet.Type, id uint16) error {
	for {
		h, body, err := rc.read(2 * time.Second)
		if err != nil {
			return err
		}
		if h.Type == t && len(body) >= 2 && uint16(body[0])<<8|uint16(body[1]) == id {
			return nil
		}
	}
}

// qos2Pub is a QoS 2 publisher with a persistent session that resumes an
// unfinished message after a reconnect, as the protocol requires.
type qos2Pub struct {
	next  int    // next sequence number to publish
	cur   int    // sequence number in flight (-1: none)
	pid   uint16 // its packet id
	recd  bool   // PUBREC received for it
	acked []int  // sequence numbers the broker acknowledged (PUBREC)
}

func (p *qos2Pub) publish(rc *rawConn, seq int, pid uint16, dup bool) error {
	pk := packet.Publish{Topic: []byte("k/" + strconv.Itoa(seq%4)), QoS: 2, PacketID: pid, Dup: dup, Payload: []byte(strconv.Itoa(seq))}
	_, err := rc.c.Write(packet.AppendPublish(nil, &pk, packet.Version311))
	return err
}

// run publishes until the connection breaks.
func (p *qos2Pub) run(rc *rawConn) {
	if p.cur >= 0 {
		if !p.recd {
			if p.publish(rc, p.cur, p.pid, true) != nil || rc.expectAck(packet.PUBREC, p.pid) != nil {
				return
			}
			p.recd = true
			p.acked = append(p.acked, p.cur)
		}
		if rc.ack(packet.PUBREL, p.pid) != nil || rc.expectAck(packet.PUBCOMP, p.pid) != nil {
			return
		}
		p.cur = -1
	}
	for {
		p.cur, p.pid, p.recd = p.next, uint16(p.next%60000+1), false
		p.next++
		if p.publish(rc, p.cur, p.pid, false) != nil || rc.expectAck(packet.PUBREC, p.pid) != nil {
			return
		}
		p.recd = true
		p.acked = append(p.acked, p.cur)
		if rc.ack(packet.PUBREL, p.pid) != nil || rc.expectAck(packet.PUBCOMP, p.pid) != nil {
			return
		}
		p.cur = -1
	}
}

// TestKillNineLosesNothingAcknowledged kills the real broker with SIGKILL at
// random moments while a QoS 2 publisher runs; after every restart the
// durable subscriber finally receives every acknowledged message, in order,
// exactly once.
func TestKillNineLosesNothingAcknowledged(t *testing.T) {
	rounds := 20
	if testing.Short() {
		rounds = 5
	}
	if s := os.Getenv("MIDGE_CRASH_ROUNDS"); s != "" {
		rounds, _ = strconv.Atoi(s)
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "midge.toml")
	os.WriteFile(conf, []byte(fmt.Sprintf(`
max_queued_messages = 1000000
max_queued_bytes = 1000000000
memory_limit = 2000000000
allow_anonymous = true
[[listener]]
port = 0
bind_address = "127.0.0.1"
[persistence]
enabled = true
dir = %q
sync = "interval"
`, filepath.Join(dir, "store"))), 0o644)
	var current *exec.Cmd // killed when the test ends, failed or not
	t.Cleanup(func() {
		if current != nil {
			current.Process.Kill()
			current.Wait()
		}
	})
	start := func() (*exec.Cmd, string) {
		cmd := exec.Command(midgeBin, "-c", conf)
		var logs syncBuffer
		cmd.Stderr = &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		current = cmd
		for i := 0; i < 250; i++ {
			if m := listenRe.FindStringSubmatch(logs.String()); m != nil {
				return cmd, m[1]
			}
			time.Sleep(10 * time.Millisecond)
		}
		cmd.Process.Kill()
		t.Fatalf("broker did not start:\n%s", logs.String())
		return nil, ""
	}
	cmd, addr := start()
	sub, _, err := rawDial(addr, "dsub", false)
	if err != nil {
		t.Fatal(err)
	}
	sub.c.Write(packet.AppendSubscribe(nil, packet.SUBSCRIBE, 1, nil, []packet.Subscription{{Filter: []byte("k/#"), QoS: 2}}, packet.Version311))
	if h, _, err := sub.read(2 * time.Second); err != nil || h.Type != packet.SUBACK {
		t.Fatalf("subscribe: %v", err)
	}
	sub.c.Close()
	pub := &qos2Pub{cur: -1}
	rng := rand.New(rand.NewSource(1))
	for round := 0; round < rounds; round++ {
		if round > 0 {
			cmd, addr = start()
		}
		kill := time.Duration(50+rng.Intn(200)) * time.Millisecond
		go func(c *exec.Cmd) { time.Sleep(kill); c.Process.Kill() }(cmd)
		if rc, _, err := rawDial(addr, "kpub", false); err == nil {
			pub.run(rc)
			rc.c.Close()
		}
		cmd.Wait()
	}
	cmd, addr = start()
	// Finish the publisher's last message, then drain the subscriber.
	if rc, _, err := rawDial(addr, "kpub", false); err == nil {
		pub.next = -1 // no new messages: only resume the unfinished one
		if pub.cur >= 0 {
			pub.runOnlyResume(rc)
		}
		rc.c.Close()
	}
	sub, present, err := rawDial(addr, "dsub", false)
	if err != nil || !present {
		t.Fatalf("durable subscriber: present=%v %v", present, err)
	}
	var got []int
	for {
		h, body, err := sub.read(1500 * time.Millisecond)
		if err != nil {
			break
		}
		switch h.Type {
		case packet.PUBLISH:
			var p packet.Publish
			if err := packet.DecodePublish(&p, h.Flags, body, packet.Version311); err != nil {
				t.Fatal(err)
			}
			n, _ := strconv.Atoi(string(p.Payload))
			got = append(got, n)
			sub.ack(packet.PUBREC, p.PacketID)
		case packet.PUBREL:
			sub.ack(packet.PUBCOMP, uint16(body[0])<<8|uint16(body[1]))
		}
	}
	seen := map[int]bool{}
	for i, n := range got {
		if seen[n] {
			t.Fatalf("message %d delivered twice (QoS 2)", n)
		}
		seen[n] = true
		if i > 0 && n < got[i-1] {
			t.Fatalf("out of order: %d after %d", n, got[i-1])
		}
	}
	for _, n := range pub.acked {
		if !seen[n] {
			t.Fatalf("acknowledged message %d lost (%d acknowledged, %d received)", n, len(pub.acked), len(got))
		}
	}
	t.Logf("%d rounds: %d messages acknowledged, %d delivered, none lost or duplicated", rounds, len(pub.acked), len(got))
}

// runOnlyResume completes the unfinished message and publishes nothing new.
func (p *qos2Pub) runOnlyResume(rc *rawConn) {
	if !p.recd {
		if p.publish(rc, p.cur, p.pid, true) != nil || rc.expectAck(packet.PUBREC, p.pid) != nil {
			return
		}
		p.acked = append(p.acked, p.cur)
	}
	if rc.ack(packet.PUBREL, p.pid) == nil {
		rc.expectAck(packet.PUBCOMP, p.pid)
	}
	p.cur = -1
}
