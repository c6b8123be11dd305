package wheel

import (
	"testing"
	"time"
)

func TestWheelFiresInOrderAndStops(t *testing.T) {
	start := time.Now()
	w := New(start, 100*time.Millisecond)
	var fired []int
	var ts [5]Timer
	for i := range ts {
		i := i
		ts[i].Owner = Func(func() { fired = append(fired, i) })
	}
	w.Schedule(&ts[3], start, 300*time.Millisecond)
	w.Schedule(&ts[0], start, 300*time.Millisecond) // same slot, fires first
	w.Schedule(&ts[1], start, 100*time.Millisecond)
	w.Schedule(&ts[2], start, 200*time.Second) // several revolutions away
	// Stopping a timer from another's fire function is safe.
	ts[0].Owner = Func(func() { fired = append(fired, 0); w.Stop(&ts[3]) })
	w.Advance(start.Add(150 * time.Millisecond))
	if len(fired) != 1 || fired[0] != 1 {
		t.Fatalf("fired %v", fired)
	}
	w.Advance(start.Add(400 * time.Millisecond))
	if len(fired) != 2 || fired[1] != 0 {
		t.Fatalf("fired %v", fired)
	}
	w.Advance(start.Add(199 * time.Second))
	if len(fired) != 2 {
		t.Fatalf("fired early %v", fired)
	}
	w.Advance(start.Add(201 * time.Second))
	if len(fired) != 3 || fired[2] != 2 || w.count != 0 {
		t.Fatalf("fired %v count %d", fired, w.count)
	}
	if w.NextTimeout(start) != -1 {
		t.Fatal("idle wheel should sleep forever")
	}
}
