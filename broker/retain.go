package broker

// setRetained stores m as its topic's retained message within
// max_retained_messages, max_retained_bytes and the memory budget; it
// reports false (and counts the drop) when the store is full.
func (b *Broker) setRetained(m *message) bool {
	if !b.setRetainedLoaded(m) {
		return false
	}
	b.storeRetain(m)
	return true
}

// setRetainedLoaded stores m without writing a log record (replay).
func (b *Broker) setRetainedLoaded(m *message) bool {
	cfg := b.cfg
	size := messageSize(m)
	old, had := b.retained.Get(m.Topic)
	oldSize := 0
	if had {
		oldSize = messageSize(old)
	}
	if (!had && b.retained.Len() >= cfg.MaxRetainedMessages) ||
		b.retBytes-oldSize+size > cfg.MaxRetainedBytes ||
		b.mem-oldSize+size > cfg.MemoryLimit {
		b.drop(dropRetained)
		return false
	}
	b.retained.Set(m.Topic, m)
	b.retBytes += size - oldSize
	b.mem += size - oldSize
	return true
}

// clearRetained removes topic's retained message.
func (b *Broker) clearRetained(topic []byte) {
	if old, ok := b.retained.Delete(topic); ok {
		size := messageSize(old)
		b.retBytes -= size
		b.mem -= size
		b.storeRetainDel(topic)
	}
}
