package broker

import (
	"time"

	"midge/broker/packet"
)

// message is an application message that outlives the PUBLISH it came in:
// queued for a session, in flight, retained, or a will. It is immutable once
// made; every field is a view into one slab allocated by newMessage.
type message struct {
	Topic   []byte
	Payload []byte
	QoS     byte
	Retain  bool
	Props   packet.Properties // forwardable properties only
	Created time.Time
	mid     uint64 // id of its body in the persistence log (0 = not stored)
}

// forwardable are the PUBLISH properties passed on to subscribers
// (§3.3.2.3): not Topic Alias, not Subscription Identifier.
const forwardable = 1<<packet.PropPayloadFormat | 1<<packet.PropMessageExpiry |
	1<<packet.PropContentType | 1<<packet.PropResponseTopic | 1<<packet.PropCorrelationData |
	1<<packet.PropUserProperty

// newMessage copies what the message needs out of the read buffer.
func newMessage(topic, payload []byte, qos byte, retain bool, props *packet.Properties, now time.Time) *message {
	n := len(topic) + len(payload)
	if props != nil {
		n += len(props.ContentType) + len(props.ResponseTopic) + len(props.CorrelationData) + len(props.User)
	}
	slab := make([]byte, 0, n)
	take := func(b []byte) []byte {
		if b == nil {
			return nil
		}
		start := len(slab)
		slab = append(slab, b...)
		return slab[start:len(slab):len(slab)]
	}
	m := &message{QoS: qos, Retain: retain, Created: now}
	m.Topic = take(topic)
	m.Payload = take(payload)
	if m.Payload == nil {
		m.Payload = []byte{}
	}
	if props != nil {
		m.Props.Present = props.Present & forwardable
		m.Props.PayloadFormat = props.PayloadFormat
		m.Props.MessageExpiry = props.MessageExpiry
		m.Props.ContentType = take(props.ContentType)
		m.Props.ResponseTopic = take(props.ResponseTopic)
		m.Props.CorrelationData = take(props.CorrelationData)
		m.Props.User = take(props.User)
	}
	return m
}

// remaining is how many seconds m has left to live, and whether it is
// still alive; messages without an expiry interval live forever.
func remaining(m *message, now time.Time) (uint32, bool) {
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
