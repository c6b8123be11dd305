package broker

import (
	"bytes"
	"testing"
)

func TestOutbufWriteConsume(t *testing.T) {
	pool := blockPool{max: 8}
	var o outbuf
	var want []byte
	for i := 0; i < 3*blockSize; i += 1000 {
		chunk := bytes.Repeat([]byte{byte(i)}, 1000)
		o.write(&pool, chunk)
		want = append(want, chunk...)
	}
	var got []byte
	vec := make([][]byte, 0, 2) // fewer iovecs than blocks: several rounds
	for o.Len() > 0 {
		n := 0
		for _, v := range o.iovecs(vec) {
			k := min(len(v), 1500) // a short write
			got = append(got, v[:k]...)
			n += k
			if k < len(v) {
				break
			}
		}
		o.consume(&pool, n)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("bytes differ")
	}
	if len(o.blocks) != 0 || len(pool.free) == 0 {
		t.Fatalf("blocks not returned: %d held, %d free", len(o.blocks), len(pool.free))
	}
	if n := testing.AllocsPerRun(100, func() {
		o.write(&pool, want[:100])
		o.consume(&pool, 100)
	}); n != 0 {
		t.Fatalf("%v allocs per write/consume", n)
	}
}
