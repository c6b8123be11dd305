package auth

import (
	"strings"
	"testing"
	"time"
)

// The parsers of files an administrator copies onto a device, and of the
// tokens and SCRAM messages any client sends, never panic; what they accept
// is usable.

func FuzzPasswords(f *testing.F) {
	for _, s := range []string{
		"u:$6$QUJDREVGR0hJSktM$" + strings.Repeat("A", 86) + "==\n",
		"u:$7$101$QUJDREVGR0hJSktM$" + strings.Repeat("A", 86) + "==\n",
		"u:$argon2id$v=19$m=8192,t=3,p=1$c2FsdHNhbHQ$" + strings.Repeat("A", 43) + "\n",
		"u:$scram-sha-256$4096$c2FsdA==$AAAA$AAAA\n",
		"# comment\nno colon\n:$6$$\n",
		"u:$argon2id$v=19$m=4294967295,t=1,p=1$c2FsdA$AAAAAA\n",
		"u:$7$2147483647$c2FsdA==$AAAA\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePasswords("fuzz", data)
		if err != nil {
			return
		}
		for user, h := range p.users {
			if h.kind == "argon2id" && (h.memory > MaxArgon2Memory || h.time > MaxArgon2Time) ||
				h.iterations > MaxIterations {
				t.Fatalf("%q accepted with unbounded cost: %+v", user, h)
			}
			if h.kind == "6" {
				p.Check(user, []byte("x"))
			}
		}
	})
}

func FuzzACL(f *testing.F) {
	for _, s := range []string{
		"topic read public/#\nuser alice\ntopic readwrite alice/#\ntopic deny alice/x\npattern write devices/%c/%u/#\n",
		"user \ntopic\n#c\n  topic # \r\npattern %u\n",
		"topic readwrite +/+/#/x\n",
	} {
		f.Add([]byte(s), "alice", "dev1", "devices/dev1/alice/t")
	}
	f.Fuzz(func(t *testing.T, data []byte, user, id, topic string) {
		a, err := ParseACL("fuzz", data)
		if err != nil {
			return
		}
		for _, anon := range []bool{true, false} {
			a.Allowed(id, user, anon, []byte(topic), Read)
			a.Allowed(id, user, anon, []byte(topic), Write)
			a.AllowedFilter(id, user, anon, []byte(topic))
		}
	})
}

func FuzzJWT(f *testing.F) {
	secret := []byte("a shared secret of at least thirty-two bytes")
	f.Add(secret, "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln")
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA","kid":"k"},{"kty":"RSA","n":"AQAB","e":"AQAB"},{"kty":"OKP","crv":"Ed25519","x":"AA"},{"kty":"oct","k":"AA"}]}`),
		"eyJhbGciOiJFUzI1NiIsImtpZCI6ImsifQ.e30.AA")
	f.Add([]byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"), "a.b.c")
	f.Fuzz(func(t *testing.T, key []byte, token string) {
		j, err := ParseJWT("fuzz", key)
		if err != nil {
			return
		}
		j.now = func() time.Time { return time.Unix(1_700_000_000, 0) }
		if c, err := j.Verify(token); err == nil && c == nil {
			t.Fatal("a verified token without claims")
		}
	})
}

func FuzzSCRAMServer(f *testing.F) {
	f.Add([]byte("n,,n=alice,r=abc"), []byte("c=biws,r=abcdef,p=AAAA"))
	f.Add([]byte("n,,n=,r="), []byte("c=,r=,p="))
	f.Fuzz(func(t *testing.T, first, final []byte) {
		h, _ := SCRAMHash("SCRAM-SHA-256")
		s := &SCRAMServer{Hash: h, Lookup: func(user string) (SCRAMCredentials, bool) {
			return SCRAMCredentials{Salt: []byte("salt"), Iterations: 1, StoredKey: make([]byte, 32), ServerKey: make([]byte, 32)}, user == "alice"
		}}
		if _, done, err := s.Step(first); err != nil || done {
			return
		}
		if _, done, err := s.Step(final); err == nil && done && s.User != "alice" {
			t.Fatalf("authenticated %q", s.User)
		}
	})
}
