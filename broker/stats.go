package broker

// Counters: the loop's statistics, drops by reason, and the snapshot that
// $SYS and tests read.

// loopStats are the broker's counters. Only the loop touches them; other
// goroutines read a copy through Snapshot.
type loopStats struct {
	Connected, Total, MaxConnected int
	MsgsReceived, MsgsSent         uint64
	BytesReceived, BytesSent       uint64
	PacketsReceived, PacketsSent   uint64
	Dropped                        uint64
	Drops                          [numDropReasons]uint64
	Malformed                      uint64
	MemoryReleases                 uint64 // freed memory returned to the kernel after a spike
}

// dropReason says why a message was not delivered to someone; each has its
// own counter ($SYS/broker/midge/drops/<name>).
type dropReason int

const (
	dropQueueFull    dropReason = iota // max_queued_messages or max_queued_bytes
	dropMemory                         // the broker-wide memory_limit
	dropTooLarge                       // above the subscriber's Maximum Packet Size
	dropSizeLimit                      // above message_size_limit
	dropExpired                        // message expiry interval passed
	dropRetained                       // max_retained_messages or max_retained_bytes
	dropSlowConsumer                   // QoS 0 for a client whose buffer and queue are full
	dropStoreFull                      // max_store_bytes reached, or the store is failing
	dropSubMemory                      // a subscription refused: memory_limit or the client's share
	numDropReasons
)

var dropNames = [numDropReasons]string{"queue_full", "memory_limit", "packet_too_large",
	"message_size_limit", "expired", "retained_limit", "slow_consumer", "store_full",
	"subscription_memory"}

func (b *Broker) drop(r dropReason) {
	b.stats.Dropped++
	b.stats.Drops[r]++
}

// Counters is a snapshot of the broker's accounting, for $SYS and tests.
type Counters struct {
	loopStats
	Memory, MemoryLimit int
	RetainedMessages    int
	RetainedBytes       int
	Subscriptions       int
	Sessions            int
	MaxQueuedBytes      int // largest single session's queued bytes
	MaxQueued           int // largest single session's queued messages
	MaxInflight         int // largest single session's in-flight messages
	MaxOutputBytes      int // largest connection's unsent output
	PendingInput        int
	ListenerConnections []int
	DropNames           [numDropReasons]string
}

// Counters takes a snapshot; call it on the loop (Call) or from tests.
func (b *Broker) Counters() Counters {
	k := Counters{loopStats: b.stats, Memory: b.mem, MemoryLimit: b.cfg.MemoryLimit,
		RetainedMessages: b.retained.Len(), RetainedBytes: b.retBytes,
		Subscriptions: b.tree.Len(), Sessions: len(b.sessions), DropNames: dropNames,
		PendingInput: b.PendingInputBytes()}
	for _, s := range b.sessions {
		k.MaxQueuedBytes = max(k.MaxQueuedBytes, s.qBytes)
		k.MaxQueued = max(k.MaxQueued, s.queue.len())
		k.MaxInflight = max(k.MaxInflight, len(s.inflight))
	}
	for _, c := range b.conns {
		if c == nil {
			continue
		}
		k.MaxOutputBytes = max(k.MaxOutputBytes, c.out.Len())
	}
	for _, l := range b.listeners {
		k.ListenerConnections = append(k.ListenerConnections, l.count)
	}
	return k
}

// Snapshot returns Counters from any goroutine.
func (b *Broker) Snapshot() Counters {
	var k Counters
	b.Call(func() { k = b.Counters() })
	return k
}
