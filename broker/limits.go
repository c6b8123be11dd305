package broker

import (
	"time"

	"midge/broker/packet"
)

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
	numDropReasons
)

var dropNames = [numDropReasons]string{"queue_full", "memory_limit", "packet_too_large",
	"message_size_limit", "expired", "retained_limit", "slow_consumer", "store_full"}

func (b *Broker) drop(r dropReason) {
	b.Stats.Dropped++
	b.Stats.Drops[r]++
}

// messageOverhead approximates the bookkeeping bytes of one stored message
// and delivery, so the memory budget is not fooled by tiny payloads.
const messageOverhead = 96

func messageSize(m *Message) int {
	return messageOverhead + len(m.Topic) + len(m.Payload) + len(m.Props.ContentType) +
		len(m.Props.ResponseTopic) + len(m.Props.CorrelationData) + len(m.Props.User)
}

// charge adds n bytes to the session's queued or in-flight use and to the
// broker's memory budget.
func (s *session) charge(n int, inflight bool) {
	b := s.b
	if s.qBytes+s.fBytes == 0 {
		b.memUsers++
	}
	if inflight {
		s.fBytes += n
	} else {
		s.qBytes += n
	}
	b.mem += n
}

func (s *session) uncharge(n int, inflight bool) {
	b := s.b
	if inflight {
		s.fBytes -= n
	} else {
		s.qBytes -= n
	}
	b.mem -= n
	if s.qBytes+s.fBytes == 0 {
		b.memUsers--
	}
}

// policy is the overflow policy for s: its listener's, or the broker's.
func (s *session) policy() string {
	if s.conn != nil && s.conn.ln.cfg.OverflowPolicy != "" {
		return s.conn.ln.cfg.OverflowPolicy
	}
	if int(s.lnIdx) < len(s.b.listeners) {
		if p := s.b.listeners[s.lnIdx].cfg.OverflowPolicy; p != "" {
			return p
		}
	}
	return s.b.cfg.OverflowPolicy
}

// dropOldest removes the oldest queued message, counting reason.
func (s *session) dropOldest(r dropReason) {
	d := s.queue.pop()
	s.uncharge(d.size, false)
	s.b.storeDeliveryDel(s, d)
	s.b.drop(r)
}

// enqueue queues d under the per-client limits and the broker's memory
// budget. When something must give, the overflow policy decides: drop-oldest
// makes room by dropping this client's oldest queued message; drop-newest
// drops d; reject drops d and reports rejected, so a 5.0 publisher is told
// 0x97. The budget is shared fairly: a client using less than its share
// (memory_limit / clients holding messages) takes room from the client
// holding the most, never the other way round.
func (s *session) enqueue(d *delivery) (kept, rejected bool) {
	b := s.b
	cfg := b.cfg
	pol := s.policy()
	for s.queue.len() >= cfg.MaxQueuedMessages || (s.queue.len() > 0 && s.qBytes+d.size > cfg.MaxQueuedBytes) {
		if pol != "drop-oldest" {
			reason := dropQueueFull
			if d.qos == 0 && s.conn != nil {
				reason = dropSlowConsumer
			}
			b.drop(reason)
			return false, pol == "reject"
		}
		s.dropOldest(dropQueueFull)
	}
	for b.mem+d.size > cfg.MemoryLimit {
		users := b.memUsers
		if s.qBytes+s.fBytes == 0 {
			users++
		}
		if s.qBytes+s.fBytes+d.size > cfg.MemoryLimit/users {
			if pol == "drop-oldest" && s.queue.len() > 0 {
				s.dropOldest(dropMemory)
				continue
			}
			b.drop(dropMemory)
			return false, pol == "reject"
		}
		v := b.biggestQueue()
		if v == nil {
			b.drop(dropMemory)
			return false, pol == "reject"
		}
		v.dropOldest(dropMemory)
	}
	if d.qos > 0 && s.stored && s.conn == nil && b.storeFull() {
		b.drop(dropStoreFull) // max_store_bytes, or the store is failing
		return false, pol == "reject"
	}
	s.queue.push(d)
	s.charge(d.size, false)
	b.storeDelivery(s, d)
	return true, false
}

// biggestQueue is the session with the most queued bytes (nil if none).
func (b *Broker) biggestQueue() *session {
	var big *session
	for _, s := range b.sessions {
		if s.queue.len() > 0 && (big == nil || s.qBytes > big.qBytes) {
			big = s
		}
	}
	return big
}

// remaining is how many seconds m has left to live, and whether it is
// still alive; messages without an expiry interval live forever.
func remaining(m *Message, now time.Time) (uint32, bool) {
	if m == nil || !m.Props.Has(packet.PropMessageExpiry) {
		return 0, true
	}
	age := now.Sub(m.Created)
	life := time.Duration(m.Props.MessageExpiry) * time.Second
	if age >= life {
		return 0, false
	}
	return uint32((life - age + time.Second - 1) / time.Second), true
}

type sendResult int

const (
	sendOK sendResult = iota
	sendNoRoom
	sendTooLarge
)

// sendPublish encodes p into c's output: the subscription identifiers and
// an outbound topic alias for 5.0, the client's Maximum Packet Size (a
// message too large for it is dropped for that client and counted
// [MQTT-3.1.2-25]), and the output buffer's room.
func (b *Broker) sendPublish(c *conn, p *packet.Publish, subIDs []uint32) sendResult {
	var alias uint16
	var fresh bool
	if c.version == packet.Version5 {
		p.Props.Present &= forwardable
		p.Props.SubIDs = nil
		if len(subIDs) > 0 {
			b.subIDs = b.subIDs[:0]
			for _, id := range subIDs {
				b.subIDs = packet.AppendSubscriptionID(b.subIDs, id)
			}
			p.Props.SubIDs = b.subIDs
		}
		if alias, fresh = c.outAlias(p.Topic); alias != 0 {
			p.Props.Set(packet.PropTopicAlias)
			p.Props.TopicAlias = alias
		}
	}
	topicName := p.Topic
	if alias != 0 && !fresh {
		p.Topic = nil // the client knows this alias [MQTT-3.3.2-12]
	}
	size := packet.PublishLen(p, c.version)
	if c.maxPacket > 0 && size > int(c.maxPacket) {
		b.drop(dropTooLarge)
		return sendTooLarge
	}
	if !c.room(size) {
		return sendNoRoom
	}
	if fresh {
		c.commitAlias(topicName, alias)
	}
	c.send(packet.AppendPublish(b.scratch[:0], p, c.version))
	b.Stats.MsgsSent++
	return sendOK
}

// outAlias returns the alias to use for topic on c: a known one (fresh =
// false), a new one to establish (fresh = true; commit it once sent), or 0.
// New topics take free aliases first, then the least recently used one.
func (c *conn) outAlias(topic []byte) (alias uint16, fresh bool) {
	if c.outAliasMax == 0 {
		return 0, false
	}
	x := c.ext()
	if x.out5 == nil {
		x.out5 = &outAliases{byTopic: make(map[string]uint16)}
	}
	o := x.out5
	o.clock++
	if a, ok := o.byTopic[string(topic)]; ok {
		o.used[a-1] = o.clock
		return a, false
	}
	if len(o.topics) < int(c.outAliasMax) {
		return uint16(len(o.topics) + 1), true
	}
	victim := 0
	for i, t := range o.used {
		if t < o.used[victim] {
			victim = i
		}
	}
	return uint16(victim + 1), true
}

// outAliases is a connection's outbound topic alias table.
type outAliases struct {
	byTopic map[string]uint16
	topics  []string // by alias-1
	used    []uint64 // last use, by alias-1
	clock   uint64
}

func (c *conn) commitAlias(topic []byte, a uint16) {
	o := c.x.out5
	t := string(topic)
	if int(a) > len(o.topics) {
		o.topics = append(o.topics, t)
		o.used = append(o.used, o.clock)
	} else {
		delete(o.byTopic, o.topics[a-1])
		o.topics[a-1] = t
		o.used[a-1] = o.clock
	}
	o.byTopic[t] = a
}

// Counters is a snapshot of the broker's accounting, for $SYS and tests.
type Counters struct {
	Stats
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
	k := Counters{Stats: b.Stats, Memory: b.mem, MemoryLimit: b.cfg.MemoryLimit,
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
