// Package ring is the connections' outbound buffer: a queue of fixed-size
// blocks from a shared pool, written with one writev(2). It knows nothing of
// the broker.
package ring

// BlockSize is the size of one outbound buffer block. A connection holds
// blocks only while it has unsent bytes; they come from and return to the
// loop's pool, so an idle connection holds no buffer at all.
const BlockSize = 4096

// Pool is a free list of fixed-size blocks, owned by the event loop.
// It keeps at most Max free blocks; beyond that they go to the GC.
type Pool struct {
	free  [][]byte
	lists [][][]byte // spare block lists, so an idle connection holds none
	Max   int
}

func (p *Pool) getList() [][]byte {
	if n := len(p.lists); n > 0 {
		l := p.lists[n-1]
		p.lists = p.lists[:n-1]
		return l
	}
	return make([][]byte, 0, 4)
}

func (p *Pool) get() []byte {
	if n := len(p.free); n > 0 {
		b := p.free[n-1]
		p.free = p.free[:n-1]
		return b[:0]
	}
	return make([]byte, 0, BlockSize)
}

func (p *Pool) put(b []byte) {
	if len(p.free) < p.Max {
		p.free = append(p.free, b[:0])
	}
}

// Buffer is a connection's outbound byte ring: a queue of fixed-size blocks
// written with one writev(2). head is the offset of the first unsent byte
// in blocks[0].
type Buffer struct {
	blocks [][]byte
	head   int32
	n      int32 // unsent bytes (bounded by client_buffer_bytes plus one packet)
}

// Len is the number of unsent bytes.
func (o *Buffer) Len() int { return int(o.n) }

// Write appends b, taking blocks from pool as needed.
func (o *Buffer) Write(pool *Pool, b []byte) {
	o.n += int32(len(b))
	if o.blocks == nil && len(b) > 0 {
		o.blocks = pool.getList()
	}
	for len(b) > 0 {
		last := len(o.blocks) - 1
		if last < 0 || len(o.blocks[last]) == cap(o.blocks[last]) {
			o.blocks = append(o.blocks, pool.get())
			last++
		}
		blk := o.blocks[last]
		k := copy(blk[len(blk):cap(blk)], b)
		o.blocks[last] = blk[:len(blk)+k]
		b = b[k:]
	}
}

// Iovecs fills vec with the unsent slices (up to len(vec) of them).
func (o *Buffer) Iovecs(vec [][]byte) [][]byte {
	vec = vec[:0]
	for i, blk := range o.blocks {
		if len(vec) == cap(vec) {
			break
		}
		if i == 0 {
			blk = blk[o.head:]
		}
		if len(blk) > 0 {
			vec = append(vec, blk)
		}
	}
	return vec
}

// Consume drops n sent bytes, returning emptied blocks to pool.
func (o *Buffer) Consume(pool *Pool, n int) {
	o.n -= int32(n)
	for n > 0 && len(o.blocks) > 0 {
		avail := len(o.blocks[0]) - int(o.head)
		if n < avail {
			o.head += int32(n)
			return
		}
		n -= avail
		pool.put(o.blocks[0])
		last := len(o.blocks) - 1
		copy(o.blocks, o.blocks[1:]) // keep the list's capacity for reuse
		o.blocks[last] = nil
		o.blocks = o.blocks[:last]
		o.head = 0
	}
	if len(o.blocks) == 0 {
		o.Reset(pool)
	}
}

// Reset empties o; its block list goes back to the pool (small ones only),
// so sending allocates nothing and an idle connection holds nothing.
//
// Not inlined: its copies at every call site cost the minimal build a
// 64 KiB step on MIPS.
//
//go:noinline
func (o *Buffer) Reset(pool *Pool) {
	if l := o.blocks; l != nil && cap(l) <= 16 && len(pool.lists) < pool.Max {
		l = l[:cap(l)]
		clear(l)
		pool.lists = append(pool.lists, l[:0])
	}
	*o = Buffer{}
}

// Release returns every block to pool and empties o.
//
// Not inlined: its copies at every call site cost the minimal build a
// 64 KiB step on MIPS.
//
//go:noinline
func (o *Buffer) Release(pool *Pool) {
	for i, b := range o.blocks {
		pool.put(b)
		o.blocks[i] = nil
	}
	o.Reset(pool)
}
