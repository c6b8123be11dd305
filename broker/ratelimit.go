package broker

import (
	"net/netip"
	"time"
)

// loginLimiter slows down password guessing: after a few failed logins from
// one address, further attempts from it are refused without checking the
// password, for a delay that doubles with each failure (up to a minute).
// The table is bounded: when full, the entry that would be free soonest
// goes.
type loginLimiter struct {
	entries map[netip.Addr]*loginFailures
	max     int
}

type loginFailures struct {
	count int
	until time.Time
}

const (
	loginFree     = 3 // failures allowed before the delay starts
	loginMaxDelay = time.Minute
)

func (l *loginLimiter) blocked(a netip.Addr, now time.Time) bool {
	e := l.entries[a]
	return e != nil && now.Before(e.until)
}

func (l *loginLimiter) failed(a netip.Addr, now time.Time) {
	if l.entries == nil {
		l.entries = make(map[netip.Addr]*loginFailures)
	}
	e := l.entries[a]
	if e == nil {
		if len(l.entries) >= l.max {
			l.evict(now)
		}
		e = &loginFailures{}
		l.entries[a] = e
	}
	e.count++
	if e.count > loginFree {
		d := time.Second << min(e.count-loginFree-1, 6)
		e.until = now.Add(min(d, loginMaxDelay))
	}
}

func (l *loginLimiter) succeeded(a netip.Addr) { delete(l.entries, a) }

func (l *loginLimiter) evict(now time.Time) {
	var victim netip.Addr
	var soonest time.Time
	first := true
	for a, e := range l.entries {
		if !now.Before(e.until) && e.count <= loginFree {
			delete(l.entries, a) // harmless entries go first
			return
		}
		if first || e.until.Before(soonest) {
			victim, soonest, first = a, e.until, false
		}
	}
	delete(l.entries, victim)
}
