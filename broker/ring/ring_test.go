package ring

import (
	"bytes"
	"testing"
)

func TestOutbufWriteConsume(t *testing.T) {
	pool := Pool{Max: 8}
	var o Buffer
	var want []byte
	for i := 0; i < 3*BlockSize; i += 1000 {
		chunk := bytes.Repeat([]byte{byte(i)}, 1000)
		o.Write(&pool, chunk)
		want = append(want, chunk...)
	}
	var got []byte
	vec := make([][]byte, 0, 2) // fewer iovecs than blocks: several rounds
	for o.Len() > 0 {
		n := 0
		for _, v := range o.Iovecs(vec) {
			k := min(len(v), 1500) // a short write
			got = append(got, v[:k]...)
			n += k
			if k < len(v) {
				break
			}
		}
		o.Consume(&pool, n)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("bytes differ")
	}
	if len(o.blocks) != 0 || len(pool.free) == 0 {
		t.Fatalf("blocks not returned: %d held, %d free", len(o.blocks), len(pool.free))
	}
	if n := testing.AllocsPerRun(100, func() {
		o.Write(&pool, want[:100])
		o.Consume(&pool, 100)
	}); n != 0 {
		t.Fatalf("%v allocs per write/consume", n)
	}
}
