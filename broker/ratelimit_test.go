package broker

import (
	"net/netip"
	"testing"
	"time"
)

func TestLoginLimiter(t *testing.T) {
	l := loginLimiter{max: 4}
	a := netip.MustParseAddr("192.0.2.1")
	now := time.Unix(1000, 0)
	for i := 0; i < loginFree; i++ {
		l.failed(a, now)
		if l.blocked(a, now) {
			t.Fatalf("blocked after %d failures", i+1)
		}
	}
	l.failed(a, now)
	if !l.blocked(a, now) || l.blocked(a, now.Add(2*time.Second)) {
		t.Fatal("first delay should be about a second")
	}
	for i := 0; i < 20; i++ {
		l.failed(a, now)
	}
	if !l.blocked(a, now.Add(59*time.Second)) || l.blocked(a, now.Add(61*time.Second)) {
		t.Fatal("delay not capped at a minute")
	}
	for i := 0; i < 100; i++ { // many sources: the table stays bounded
		l.failed(netip.AddrFrom4([4]byte{10, 0, byte(i), 1}), now)
	}
	if len(l.entries) > 4 {
		t.Fatalf("%d entries", len(l.entries))
	}
	l.succeeded(a)
	if l.blocked(a, now) {
		t.Fatal("a success did not clear the entry")
	}
}
