package auth

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"strings"
	"testing"
)

// scramClient runs the client side of SCRAM against a server exchange.
func scramClient(t *testing.T, s *SCRAMServer, method, user, password string) (bool, error) {
	h, _ := SCRAMHash(method)
	cnonce := "rOprNGfwEbeRWgbNEkqO"
	first := "n,,n=" + user + ",r=" + cnonce
	sf, _, err := s.Step([]byte(first))
	if err != nil {
		return false, err
	}
	a := scramAttrs(string(sf))
	salt, _ := base64.StdEncoding.DecodeString(a["s"])
	iter := 0
	for _, c := range a["i"] {
		iter = iter*10 + int(c-'0')
	}
	size := h().Size()
	salted, _ := pbkdf2.Key(h, password, salt, iter, size)
	clientKey := hmacSum(h, salted, "Client Key")
	d := h()
	d.Write(clientKey)
	stored := d.Sum(nil)
	final := "c=biws,r=" + a["r"]
	authMsg := first[3:] + "," + string(sf) + "," + final
	sig := hmacSum(h, stored, authMsg)
	proof := make([]byte, len(sig))
	for i := range sig {
		proof[i] = clientKey[i] ^ sig[i]
	}
	sfinal, done, err := s.Step([]byte(final + ",p=" + base64.StdEncoding.EncodeToString(proof)))
	if err != nil {
		return false, err
	}
	serverSig := hmacSum(h, hmacSum(h, salted, "Server Key"), authMsg)
	if string(sfinal) != "v="+base64.StdEncoding.EncodeToString(serverSig) {
		t.Fatalf("server signature wrong: %s", sfinal)
	}
	return done, nil
}

func TestSCRAM(t *testing.T) {
	h7, _ := Encode(SHA512PBKDF2, []byte("pencil"))
	h256, _ := Encode(SCRAMSHA256, []byte("pencil"))
	p, err := ParsePasswords("pw", []byte("user:"+h7+"\nuser256:"+h256+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !p.Check("user256", []byte("pencil")) || p.Check("user256", []byte("pen")) {
		t.Fatal("$scram-sha-256$ entries must also verify plain passwords")
	}
	for _, c := range []struct{ method, user string }{{"SCRAM-SHA-512", "user"}, {"SCRAM-SHA-256", "user256"}} {
		h, _ := SCRAMHash(c.method)
		server := func() *SCRAMServer {
			return &SCRAMServer{Hash: h, Lookup: func(u string) (SCRAMCredentials, bool) { return p.SCRAMCredentialsFor(c.method, u) }}
		}
		if done, err := scramClient(t, server(), c.method, c.user, "pencil"); err != nil || !done {
			t.Fatalf("%s: %v", c.method, err)
		}
		if _, err := scramClient(t, server(), c.method, c.user, "wrong"); err == nil {
			t.Fatalf("%s: wrong password accepted", c.method)
		}
		if _, err := scramClient(t, server(), c.method, "nobody", "pencil"); err == nil {
			t.Fatalf("%s: unknown user accepted", c.method)
		}
	}
	// The gs2 header is required.
	s := &SCRAMServer{Hash: sha512.New, Lookup: func(string) (SCRAMCredentials, bool) { return SCRAMCredentials{}, false }}
	if _, _, err := s.Step([]byte("y,,n=user,r=x")); err == nil {
		t.Fatal("channel binding flag accepted")
	}
	_ = sha256.New
	_ = strings.Split
}
