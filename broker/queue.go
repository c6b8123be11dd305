package broker

// dqueue is a session's FIFO of pending deliveries: push at the back, pop
// at the front, both amortised O(1) (the consumed front is reclaimed when it
// outweighs the rest).
type dqueue struct {
	items []*delivery
	head  int
}

func (q *dqueue) len() int { return len(q.items) - q.head }

func (q *dqueue) front() *delivery { return q.items[q.head] }

func (q *dqueue) push(d *delivery) { q.items = append(q.items, d) }

func (q *dqueue) pop() *delivery {
	d := q.items[q.head]
	q.items[q.head] = nil
	q.head++
	switch {
	case q.head == len(q.items):
		q.items, q.head = q.items[:0], 0
		if cap(q.items) > 1024 {
			q.items = nil // let a drained burst's array go
		}
	case q.head > 64 && q.head*2 > len(q.items):
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	return d
}

// filter keeps the deliveries keep returns true for, in order, and calls
// gone for the others.
func (q *dqueue) filter(keep func(*delivery) bool, gone func(*delivery)) {
	out := q.items[:0]
	for _, d := range q.items[q.head:] {
		if keep(d) {
			out = append(out, d)
		} else {
			gone(d)
		}
	}
	clear(q.items[len(out):])
	q.items, q.head = out, 0
}

// each calls fn for every delivery, front to back.
func (q *dqueue) each(fn func(*delivery)) {
	for _, d := range q.items[q.head:] {
		fn(d)
	}
}

func (q *dqueue) reset() { *q = dqueue{} }
