// Package wheel is a hashed timing wheel: the broker's timers (connect
// timeout, keep alive, will delay, session expiry) on one clock ticked by
// the event loop. It knows nothing of the broker.
package wheel

import "time"

// Wheel runs on the monotonic clock readings of time.Time and is ticked by
// its owner (Advance). It is not safe for concurrent use.
//
// Timers are intrusive: the owner embeds a Timer and sets its Owner once;
// scheduling and stopping are O(1) and allocate nothing.
type Wheel struct {
	tick  time.Duration
	start time.Time
	slots []*Timer // doubly linked lists
	cur   int64    // last tick processed
	count int
	// pending holds the timers of the slot being fired, so a fire function
	// may stop or re-arm any timer, including ones not yet visited.
	pending *Timer
}

// Owner is what a timer calls when it fires. Owners are pointers
// (connections, sessions, listeners), so arming a timer allocates nothing.
type Owner interface{ OnTimer(t *Timer) }

// Func adapts a function to Owner, for rare timers and tests.
type Func func()

// OnTimer calls f.
func (f Func) OnTimer(*Timer) { f() }

// Timer is one deadline; its zero value is idle. Set Owner before
// scheduling it.
type Timer struct {
	_          [0]func() // not comparable: no equality function in the binary
	Owner      Owner
	expire     int64 // absolute tick
	prev, next *Timer
	slot       int32 // inPending while in wheel.pending
	active     bool
}

const (
	wheelSlots = 512
	inPending  = -1
)

// New returns a wheel whose ticks are tick long, counted from start.
func New(start time.Time, tick time.Duration) *Wheel {
	return &Wheel{tick: tick, start: start, slots: make([]*Timer, wheelSlots)}
}

func (w *Wheel) ticksAt(t time.Time) int64 { return int64(t.Sub(w.start) / w.tick) }

// Schedule (re)arms t to fire d after now (rounded up to a tick).
func (w *Wheel) Schedule(t *Timer, now time.Time, d time.Duration) {
	w.Stop(t)
	ticks := int64((d + w.tick - 1) / w.tick)
	if ticks < 1 {
		ticks = 1
	}
	t.expire = w.ticksAt(now) + ticks
	if t.expire <= w.cur {
		t.expire = w.cur + 1
	}
	w.link(t)
}

func (w *Wheel) link(t *Timer) {
	s := int(t.expire % wheelSlots)
	t.slot = int32(s)
	t.prev = nil
	t.next = w.slots[s]
	if t.next != nil {
		t.next.prev = t
	}
	w.slots[s] = t
	t.active = true
	w.count++
}

// Stop disarms t; stopping an idle timer is a no-op.
//
// Not inlined: its copies at every call site cost the minimal build a
// 64 KiB step on MIPS.
//
//go:noinline
func (w *Wheel) Stop(t *Timer) {
	if !t.active {
		return
	}
	switch {
	case t.prev != nil:
		t.prev.next = t.next
	case t.slot == inPending:
		w.pending = t.next
	default:
		w.slots[t.slot] = t.next
	}
	if t.next != nil {
		t.next.prev = t.prev
	}
	t.prev, t.next, t.active = nil, nil, false
	w.count--
}

// Advance fires every timer due by now.
func (w *Wheel) Advance(now time.Time) {
	target := w.ticksAt(now)
	if target-w.cur > wheelSlots {
		// After a long stall one revolution ending at target visits every
		// slot at a tick no earlier than any due timer in it.
		w.cur = target - wheelSlots
	}
	for w.cur < target {
		w.cur++
		w.fireSlot(int(w.cur % wheelSlots))
	}
}

func (w *Wheel) fireSlot(s int) {
	w.pending = w.slots[s]
	w.slots[s] = nil
	for t := w.pending; t != nil; t = t.next {
		t.slot = inPending
	}
	for w.pending != nil {
		t := w.pending
		w.Stop(t)
		if t.expire <= w.cur {
			t.Owner.OnTimer(t)
		} else {
			w.link(t) // due in a later revolution
		}
	}
}

// NextTimeout is how long the loop may sleep: until the next tick while any
// timer is armed, forever (-1) otherwise.
func (w *Wheel) NextTimeout(now time.Time) int {
	if w.count == 0 {
		return -1
	}
	next := w.start.Add(time.Duration(w.cur+1) * w.tick)
	d := next.Sub(now)
	if d < 0 {
		return 0
	}
	return int(d/time.Millisecond) + 1
}
