//go:build !nocli

package main

import (
	"fmt"
	"strconv"
	"strings"

	"midge/broker/packet"
)

// propOpts are the MQTT 5 properties given with mosquitto_pub's
// `-D command identifier value` (user-property takes a name and a value),
// by packet: connect, publish, subscribe, unsubscribe, disconnect, will.
type propOpts map[string]*packet.Properties

// extractProps takes every -D (or --property) out of args, before the flag
// package, which cannot read options of three or four words.
func extractProps(args []string) (rest []string, props propOpts, err error) {
	props = propOpts{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a != "-D" && a != "--property" && a != "-property" {
			rest = append(rest, a)
			continue
		}
		if i+3 >= len(args) {
			return nil, nil, fmt.Errorf("-D needs a command, an identifier and a value")
		}
		cmd, id, v := args[i+1], args[i+2], args[i+3]
		i += 3
		p := props[cmd]
		if p == nil {
			p = &packet.Properties{}
		}
		if id == "user-property" {
			if i+1 >= len(args) {
				return nil, nil, fmt.Errorf("-D %s user-property needs a name and a value", cmd)
			}
			i++
			p.User = packet.AppendUserProperty(p.User, []byte(v), []byte(args[i]))
		} else if err := setProp(p, cmd, id, v); err != nil {
			return nil, nil, err
		}
		props[cmd] = p
	}
	return rest, props, nil
}

// propAllowed lists the identifiers each command takes (besides
// user-property, which all take).
var propAllowed = map[string]string{
	"connect":     " session-expiry-interval receive-maximum maximum-packet-size topic-alias-maximum request-problem-information request-response-information ",
	"publish":     " content-type correlation-data message-expiry-interval payload-format-indicator response-topic ",
	"will":        " content-type correlation-data message-expiry-interval payload-format-indicator response-topic will-delay-interval ",
	"subscribe":   " subscription-identifier ",
	"unsubscribe": " ",
	"disconnect":  " session-expiry-interval ",
}

func setProp(p *packet.Properties, cmd, id, v string) error {
	allowed, ok := propAllowed[cmd]
	if !ok {
		return fmt.Errorf("-D: unknown command %q (connect, publish, subscribe, unsubscribe, disconnect, will)", cmd)
	}
	if !strings.Contains(allowed, " "+id+" ") {
		return fmt.Errorf("-D: invalid property %q for %s", id, cmd)
	}
	num := func(bits int) (uint64, error) {
		n, err := strconv.ParseUint(v, 10, bits)
		if err != nil {
			return 0, fmt.Errorf("-D %s %s: %q is not a %d-bit number", cmd, id, v, bits)
		}
		return n, nil
	}
	var n uint64
	var err error
	// On a bad number the value set is garbage, but the error ends the tool.
	switch id {
	case "content-type":
		p.Set(packet.PropContentType)
		p.ContentType = []byte(v)
	case "correlation-data":
		p.Set(packet.PropCorrelationData)
		p.CorrelationData = []byte(v)
	case "response-topic":
		p.Set(packet.PropResponseTopic)
		p.ResponseTopic = []byte(v)
	case "message-expiry-interval":
		n, err = num(32)
		p.Set(packet.PropMessageExpiry)
		p.MessageExpiry = uint32(n)
	case "session-expiry-interval":
		n, err = num(32)
		p.Set(packet.PropSessionExpiry)
		p.SessionExpiry = uint32(n)
	case "maximum-packet-size":
		n, err = num(32)
		p.Set(packet.PropMaximumPacketSize)
		p.MaximumPacketSize = uint32(n)
	case "will-delay-interval":
		n, err = num(32)
		p.Set(packet.PropWillDelay)
		p.WillDelay = uint32(n)
	case "receive-maximum":
		n, err = num(16)
		p.Set(packet.PropReceiveMaximum)
		p.ReceiveMaximum = uint16(n)
	case "topic-alias-maximum":
		n, err = num(16)
		p.Set(packet.PropTopicAliasMaximum)
		p.TopicAliasMaximum = uint16(n)
	case "payload-format-indicator":
		n, err = num(8)
		p.Set(packet.PropPayloadFormat)
		p.PayloadFormat = byte(n)
	case "request-problem-information":
		n, err = num(8)
		p.Set(packet.PropRequestProblemInfo)
		p.RequestProblemInfo = byte(n)
	case "request-response-information":
		n, err = num(8)
		p.Set(packet.PropRequestResponseInfo)
		p.RequestResponseInfo = byte(n)
	case "subscription-identifier":
		if n, err = num(28); err == nil && n == 0 {
			return fmt.Errorf("-D subscribe subscription-identifier: 1 to 268435455")
		}
		p.SubIDs = packet.AppendSubscriptionID(p.SubIDs, uint32(n))
	}
	return err
}

// get returns a copy of cmd's properties (zero when none were given).
func (po propOpts) get(cmd string) packet.Properties {
	if p := po[cmd]; p != nil {
		return *p
	}
	return packet.Properties{}
}
