package broker

import "time"

// wheel is a hashed timing wheel for every broker timer (connect timeout,
// keep alive, will delay, session expiry). It runs on the monotonic clock
// readings of time.Time and is ticked by the event loop.
//
// Timers are intrusive: the owner embeds a timer and sets fire once; adding
// and stopping are O(1) and allocate nothing.
type wheel struct {
	tick  time.Duration
	start time.Time
	slots []*timer // doubly linked lists
	cur   int64    // last tick processed
	count int
	// pending holds the timers of the slot being fired, so a fire function
	// may stop or re-arm any timer, including ones not yet visited.
	pending *timer
}

// timerOwner is what a timer calls when it fires. Owners are pointers
// (connections, sessions, listeners), so arming a timer allocates nothing.
type timerOwner interface{ onTimer(t *timer) }

// timerFunc adapts a function to timerOwner, for rare timers and tests.
type timerFunc func()

func (f timerFunc) onTimer(*timer) { f() }

type timer struct {
	owner      timerOwner
	expire     int64 // absolute tick
	prev, next *timer
	slot       int32 // inPending while in wheel.pending
	active     bool
}

const (
	wheelSlots = 512
	inPending  = -1
)

func newWheel(start time.Time, tick time.Duration) *wheel {
	return &wheel{tick: tick, start: start, slots: make([]*timer, wheelSlots)}
}

func (w *wheel) ticksAt(t time.Time) int64 { return int64(t.Sub(w.start) / w.tick) }

// schedule (re)arms t to fire d after now (rounded up to a tick).
func (w *wheel) schedule(t *timer, now time.Time, d time.Duration) {
	w.stop(t)
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

func (w *wheel) link(t *timer) {
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

// stop disarms t; stopping an idle timer is a no-op.
func (w *wheel) stop(t *timer) {
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

// advance fires every timer due by now.
func (w *wheel) advance(now time.Time) {
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

func (w *wheel) fireSlot(s int) {
	w.pending = w.slots[s]
	w.slots[s] = nil
	for t := w.pending; t != nil; t = t.next {
		t.slot = inPending
	}
	for w.pending != nil {
		t := w.pending
		w.stop(t)
		if t.expire <= w.cur {
			t.owner.onTimer(t)
		} else {
			w.link(t) // due in a later revolution
		}
	}
}

// nextTimeout is how long the loop may sleep: until the next tick while any
// timer is armed, forever (-1) otherwise.
func (w *wheel) nextTimeout(now time.Time) int {
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
