package broker

import (
	"runtime/debug"
	"time"
)

// Returning memory to the kernel after a spike. Go's scavenger gives freed
// heap back slowly, so a router that survived a flood (subscriptions,
// queues) would keep hundreds of MB resident for a long time. When the
// budgeted bytes (queued, in-flight, retained) fall below half of their
// peak by at least releaseMin, the freed memory is returned at once, at
// most every releaseEvery, off the loop.
const (
	releaseMin   = 8 << 20
	releaseEvery = 30 * time.Second
)

// releaseMemory runs once per loop turn: two comparisons unless a release
// is due.
func (b *Broker) releaseMemory() {
	if b.mem > b.memPeak {
		b.memPeak = b.mem
		return
	}
	if b.memPeak-b.mem < releaseMin || b.mem > b.memPeak/2 || b.now.Sub(b.lastRelease) < releaseEvery {
		return
	}
	b.memPeak, b.lastRelease = b.mem, b.now
	b.stats.MemoryReleases++
	go debug.FreeOSMemory() // a GC and a scavenge: not on the loop
}
