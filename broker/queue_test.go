package broker

import "testing"

func TestDQueueOrderAndCompaction(t *testing.T) {
	var q dqueue
	next, want := 0, 0
	for round := 0; round < 50; round++ {
		for i := 0; i < 100; i++ {
			q.push(&delivery{seq: uint32(next)})
			next++
		}
		for i := 0; i < 70; i++ {
			if d := q.pop(); d.seq != uint32(want) {
				t.Fatalf("popped %d, want %d", d.seq, want)
			}
			want++
		}
	}
	if q.len() != next-want || len(q.items) > 2*q.len()+64 {
		t.Fatalf("len %d, backing %d", q.len(), len(q.items))
	}
	q.filter(func(d *delivery) bool { return d.seq%2 == 0 }, func(*delivery) {})
	prev := -1
	q.each(func(d *delivery) {
		if d.seq%2 != 0 || int(d.seq) <= prev {
			t.Fatalf("filter broke order at %d", d.seq)
		}
		prev = int(d.seq)
	})
}
