package broker

// The memory budget: what queued and in-flight messages cost, who pays,
// and what gives when a queue or the broker-wide memory_limit is full.

// messageOverhead approximates the bookkeeping bytes of one stored message
// and delivery, so the memory budget is not fooled by tiny payloads.
const messageOverhead = 96

func messageSize(m *message) int {
	return messageOverhead + len(m.Topic) + len(m.Payload) + len(m.Props.ContentType) +
		len(m.Props.ResponseTopic) + len(m.Props.CorrelationData) + len(m.Props.User)
}

// charge adds n bytes to the session's queued or in-flight use and to the
// broker's memory budget.
func (s *session) charge(n int, inflight bool) {
	b := s.b
	if s.used() == 0 {
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
	if s.used() == 0 {
		b.memUsers--
	}
}

// used is what s holds of the memory budget: queued, in-flight and
// subscription bytes.
func (s *session) used() int { return s.qBytes + s.fBytes + s.sBytes }

// Subscription costs, set from runtime.MemStats (TestSubscriptionHeap):
// the session's map key holds the filter's bytes once and the tree's level
// names are views of them; per subscription the subs map entry and the
// tree's entry, per level a node, its map slot and its share of a children
// map. Measured on 64-bit: 322 bytes per short subscription (4 levels,
// shared prefixes), 1.63 heap bytes per byte of long filters. Nodes
// shared with other subscriptions are charged to each, so the charge errs
// high.
const (
	subOverhead  = 128
	subLevelCost = 128
)

// subSize is what one subscription to filter (as sent, $share prefix
// included) costs the memory budget.
func subSize(filter []byte) int {
	return subOverhead + 2*len(filter) + subLevelCost*levels(filter)
}

// chargeNewSub charges a new subscription to filter to s, if it fits
// within the memory budget and within s's fair share of it (memory_limit /
// clients holding bytes); if not, it counts and logs the refusal. Room for
// subscriptions is never made by dropping others' messages.
func (s *session) chargeNewSub(filter []byte) bool {
	b := s.b
	n := subSize(filter)
	limit := b.cfg.MemoryLimit
	users := b.memUsers
	if s.used() == 0 {
		users++
	}
	if b.mem+n > limit || s.used()+n > limit/users {
		b.stats.Drops[dropSubMemory]++
		b.log.logf(logDebug, "%s subscription refused: memory_limit", s.id)
		return false
	}
	s.chargeSub(n)
	return true
}

// chargeSub adds n bytes of subscriptions to s and to the memory budget;
// a negative n gives them back.
// Not inlined: it is called from several places and the minimal build is
// size-bound.
//
//go:noinline
func (s *session) chargeSub(n int) {
	b := s.b
	if s.used() == 0 {
		b.memUsers++
	}
	s.sBytes += n
	b.mem += n
	if s.used() == 0 {
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
		if s.used() == 0 {
			users++
		}
		if s.used()+d.size > cfg.MemoryLimit/users {
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
		return false, true
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

func (b *Broker) policyFor(s *session) string {
	if s == nil {
		return b.cfg.OverflowPolicy
	}
	return s.policy()
}
