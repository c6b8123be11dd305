//go:build !noauth

package broker

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"midge/broker/config"
	"midge/broker/packet"
)

// Logins waiting for the verifier hold at most verifyBudget bytes: the
// client that piles data behind its CONNECT past it is dropped, logins that
// find the budget spent are told Server busy, the rest get in, and every
// byte is given back.
func TestVerifierBudget(t *testing.T) {
	salt := []byte("0123456789abcdef")
	sum := argon2.IDKey([]byte("pw"), salt, 2, 16*1024, 1, 32)
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte(fmt.Sprintf("u:$argon2id$v=19$m=16384,t=2,p=1$%s$%s\n",
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(sum))), 0o600)
	cfg := config.Default()
	cfg.Listeners[0].Port = 0
	cfg.Log.Dest = []string{"none"}
	cfg.PasswordFile = pw
	b, err := New(cfg, NewLogger(nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	go b.Serve()
	defer b.Close()
	pub := packet.AppendPublish(nil, &packet.Publish{Topic: []byte("t"), Payload: make([]byte, 60<<10)}, packet.Version311)
	const n = 40 // 40 x 60 KiB is well past the 1 MiB budget
	conns := make([]net.Conn, n)
	for i := range conns {
		c, err := net.Dial("tcp", b.Addrs()[0].String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
	}
	for i, c := range conns {
		msg := packet.AppendConnect(nil, &packet.Connect{Version: packet.Version311, ClientID: []byte(fmt.Sprint("c", i)),
			CleanStart: true, UsernameFlag: true, Username: []byte("u"), PasswordFlag: true, Password: []byte("pw")})
		c.Write(append(msg, pub...)) // a CONNECT with 60 KiB right behind it
	}
	in, dropped, busy := 0, 0, 0
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(20 * time.Second))
		h, body, err := packet.ReadPacket(bufio.NewReader(c), 0)
		switch {
		case err != nil:
			dropped++
		case h.Type == packet.CONNACK && body[1] == 0:
			in++
		case h.Type == packet.CONNACK && body[1] == 3: // Server busy, in 3.1.1's words
			busy++
		default:
			t.Fatalf("got %s % x", h.Type, body)
		}
	}
	var held int
	deadline := time.Now().Add(20 * time.Second)
	for b.Call(func() { held = b.verifyBytes }) && held != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if held != 0 || in == 0 || dropped+busy == 0 {
		t.Fatalf("%d in, %d dropped, %d busy, %d bytes still held", in, dropped, busy, held)
	}
	t.Logf("%d logged in, %d dropped over the budget, %d told the server is busy", in, dropped, busy)
}
