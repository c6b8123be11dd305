package broker_test

import (
	"bytes"
	"testing"
	"time"

	"midge/broker/config"
	"midge/broker/packet"
	"midge/internal/testutil"
)

// After a spike of queued bytes is freed (a stalled session with 12 MiB
// queued ends), the broker returns the memory to the kernel at once
// instead of keeping it resident ($SYS .../memory/released counts it).
func TestFreedSpikeIsReturnedToTheKernel(t *testing.T) {
	b, addr := testutil.StartBroker(t, func(c *config.Config) {
		c.MaxQueuedBytes = 32 << 20
	})
	sub := connect(t, addr, "stalled", packet.Version5, false, withExpiry(300))
	subscribe(t, sub, "big", 1)
	sub.Conn.Close()
	pub := connect(t, addr, "pub", packet.Version5, true, nil)
	payload := string(bytes.Repeat([]byte{'x'}, 64<<10))
	for i := 1; i <= 200; i++ {
		publish(pub, "big", 1, uint16(i), false, payload)
		readAck(t, pub, packet.PUBACK)
	}
	if k := b.Snapshot(); k.Memory < 12<<20 || k.MemoryReleases != 0 {
		t.Fatalf("memory %d, releases %d before the session ends", k.Memory, k.MemoryReleases)
	}
	connect(t, addr, "stalled", packet.Version5, true, nil) // clean start: the queue goes
	testutil.Eventually(t, 3*time.Second, "memory returned", func() bool {
		return b.Snapshot().MemoryReleases == 1
	})
}
