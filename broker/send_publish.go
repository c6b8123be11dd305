package broker

import "midge/broker/packet"

// Encoding one PUBLISH for one client: subscription identifiers, outbound
// topic aliases, the client's Maximum Packet Size and the output budget.

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
func (c *conn) sendPublish(p *packet.Publish, subIDs []uint32) sendResult {
	b := c.b
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
	b.stats.MsgsSent++
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
