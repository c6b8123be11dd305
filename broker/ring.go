package broker

// blockSize is the size of one outbound buffer block. A connection holds
// blocks only while it has unsent bytes; they come from and return to the
// loop's pool, so an idle connection holds no buffer at all.
const blockSize = 4096

// blockPool is a free list of fixed-size blocks, owned by the event loop.
// It keeps at most max free blocks; beyond that they go to the GC.
type blockPool struct {
	free [][]byte
	max  int
}

func (p *blockPool) get() []byte {
	if n := len(p.free); n > 0 {
		b := p.free[n-1]
		p.free = p.free[:n-1]
		return b[:0]
	}
	return make([]byte, 0, blockSize)
}

func (p *blockPool) put(b []byte) {
	if len(p.free) < p.max {
		p.free = append(p.free, b[:0])
	}
}

// outbuf is a connection's outbound byte ring: a queue of fixed-size blocks
// written with one writev(2). head is the offset of the first unsent byte
// in blocks[0].
type outbuf struct {
	blocks [][]byte
	head   int
	n      int // unsent bytes
}

// Len is the number of unsent bytes.
func (o *outbuf) Len() int { return o.n }

// write appends b, taking blocks from pool as needed.
func (o *outbuf) write(pool *blockPool, b []byte) {
	o.n += len(b)
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

// iovecs fills vec with the unsent slices (up to len(vec) of them).
func (o *outbuf) iovecs(vec [][]byte) [][]byte {
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

// consume drops n sent bytes, returning emptied blocks to pool.
func (o *outbuf) consume(pool *blockPool, n int) {
	o.n -= n
	for n > 0 && len(o.blocks) > 0 {
		avail := len(o.blocks[0]) - o.head
		if n < avail {
			o.head += n
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
		o.reset()
	}
}

// reset empties o, keeping a small block list for reuse so that a
// connection that sends one packet at a time does not allocate.
func (o *outbuf) reset() {
	blocks := o.blocks[:0]
	if cap(o.blocks) > 4 {
		blocks = nil
	} else if cap(blocks) > 0 {
		blocks = blocks[:cap(blocks)]
		clear(blocks)
		blocks = blocks[:0]
	}
	*o = outbuf{blocks: blocks}
}

// release returns every block to pool and empties o.
func (o *outbuf) release(pool *blockPool) {
	for i, b := range o.blocks {
		pool.put(b)
		o.blocks[i] = nil
	}
	o.reset()
}
