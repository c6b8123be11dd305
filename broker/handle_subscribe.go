package broker

import (
	"unsafe"

	"midge/broker/packet"
	"midge/broker/topic"
)

var errSharedNoLocal = &packet.FieldError{Packet: packet.SUBSCRIBE, Field: "No Local on a shared subscription", Err: packet.ErrProtocol}

// handleSubscribe adds each subscription, answers SUBACK, then sends the
// retained messages each subscription's Retain Handling asks for.
func (c *conn) handleSubscribe(p *packet.Subscribe) error {
	b := c.b
	s := c.sess
	subID := p.Props.FirstSubscriptionID()
	reasons := make([]byte, 0, p.Count)
	type retainReq struct {
		filter []byte
		opts   topic.Options
	}
	var retains []retainReq
	var perr error
	p.Filters(func(i int, sub packet.Subscription) {
		if perr != nil {
			return
		}
		group, filter, shared, valid := packet.SplitShared(sub.Filter)
		if !shared {
			filter, valid = sub.Filter, packet.ValidTopicFilter(sub.Filter)
		}
		if !valid || len(sub.Filter) > b.cfg.MaxFilterLength || levels(filter) > b.cfg.MaxTopicLevels {
			reasons = append(reasons, c.subFailure(packet.TopicFilterInvalid))
			return
		}
		if shared && sub.NoLocal { // [MQTT-3.8.3-4]
			perr = errSharedNoLocal
			return
		}
		if !b.allowed(s, AccessSubscribe, filter) { // a shared filter is checked without its $share prefix
			reasons = append(reasons, c.subFailure(packet.NotAuthorized))
			return
		}
		key := string(sub.Filter)
		_, have := s.subs[key]
		if !have && (len(s.subs) >= b.cfg.MaxSubscriptionsPerClient || !s.chargeNewSub(sub.Filter)) {
			reasons = append(reasons, c.subFailure(packet.QuotaExceeded))
			return
		}
		granted := min(sub.QoS, byte(c.maxQoS())) // [MQTT-3.9.3-?] the server may grant less
		opts := topic.Options{QoS: granted, NoLocal: sub.NoLocal, RetainAsPublished: sub.RetainAsPublished,
			RetainHandling: sub.RetainHandling, SubID: subID}
		stored := unsafe.Slice(unsafe.StringData(key), len(key)) // the tree's names are views of it too; never modified
		rec := subscription{filter: stored, opts: opts}
		if shared {
			rec.group = stored[len("$share/") : len("$share/")+len(group)]
			rec.filter = stored[len("$share/")+len(group)+1:]
		}
		existed := b.tree.Subscribe(rec.group, rec.filter, s, opts)
		if isSysFilter(rec.filter) && !existed {
			b.sysSubscribed(1)
		}
		if s.subs == nil {
			s.subs = make(map[string]subscription)
		}
		s.subs[key] = rec
		b.storeSub(s, key, opts)
		reasons = append(reasons, granted)
		b.log.logf(logSubscribe, "%s %d %s", s.id, granted, key)
		// [MQTT-3.3.1-9..11] Retain Handling; shared subscriptions get no
		// retained messages [MQTT-4.8.2-?].
		if !shared && (sub.RetainHandling == 0 || (sub.RetainHandling == 1 && !existed)) {
			retains = append(retains, retainReq{rec.filter, opts})
		}
	})
	if perr != nil {
		return perr
	}
	ack := packet.Suback{Type: packet.SUBACK, PacketID: p.PacketID, Reasons: reasons}
	c.problemString(&ack.Props, reasons)
	c.send(packet.AppendSuback(b.scratch[:0], &ack, c.version))
	for _, r := range retains {
		b.sendRetained(s, r.filter, r.opts)
	}
	return nil
}

// subFailure is the SUBACK code for a refused filter: the 5.0 reason, or
// 0x80 for 3.1.1.
func (c *conn) subFailure(code packet.ReasonCode) byte {
	if c.version == packet.Version5 {
		return byte(code)
	}
	return 0x80
}

// handleUnsubscribe removes each subscription and answers UNSUBACK.
func (c *conn) handleUnsubscribe(p *packet.Subscribe) error {
	b := c.b
	s := c.sess
	reasons := make([]byte, 0, p.Count)
	p.Filters(func(i int, sub packet.Subscription) {
		rec, ok := s.subs[string(sub.Filter)]
		if !ok {
			reasons = append(reasons, byte(packet.NoSubscriptionExisted))
			return
		}
		b.tree.Unsubscribe(rec.group, rec.filter, s)
		if isSysFilter(rec.filter) {
			b.sysSubscribed(-1)
		}
		delete(s.subs, string(sub.Filter))
		s.chargeSub(-subSize(sub.Filter))
		b.storeSubDel(s, string(sub.Filter))
		reasons = append(reasons, byte(packet.Success))
		b.log.logf(logUnsubscribe, "%s %s", s.id, sub.Filter)
	})
	ack := packet.Suback{Type: packet.UNSUBACK, PacketID: p.PacketID, Reasons: reasons}
	c.send(packet.AppendSuback(b.scratch[:0], &ack, c.version))
	return nil
}

// problemString adds a reason string to a 5.0 SUBACK/UNSUBACK that refused
// something, when the client allows problem information.
func (c *conn) problemString(props *packet.Properties, reasons []byte) {
	if c.version != packet.Version5 || !c.problemInfo {
		return
	}
	for _, r := range reasons {
		if r >= 0x80 {
			if text := reasonText[packet.ReasonCode(r)]; text != "" {
				props.Set(packet.PropReasonString)
				props.ReasonString = []byte(text)
			}
			return
		}
	}
}
