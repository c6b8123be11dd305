//go:build !nocli

package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"midge/broker/packet"
	"midge/broker/topic"
)

func runSub(args []string) int {
	fs := flag.NewFlagSet("midge sub", flag.ContinueOnError)
	var o clientOpts
	addConnFlags(fs, &o)
	var topics stringList
	fs.Var(&topics, "t", "topic filter to subscribe to (repeatable)")
	verbose := fs.Bool("v", false, "print the topic before each message")
	count := fs.Int("C", 0, "exit after this many messages")
	timeout := fs.Int("W", 0, "exit after this many seconds")
	noRetained := fs.Bool("R", false, "do not print stale (retained) messages")
	noNewline := fs.Bool("N", false, "do not print a newline after each message")
	fs.BoolVar(&o.noClean, "c", false, "persistent session: do not clean the session on connect")
	retainAsPublished := fs.Bool("retain-as-published", false, "MQTT 5 retain as published")
	noLocal := fs.Bool("no-local", false, "MQTT 5 no local")
	exitAfterSub := fs.Bool("E", false, "exit once subscribed")
	format := fs.String("F", "", "output format: %t topic, %p payload, %q qos, %r retain, %l length, %m id, %x/%X hex, %I/%U time, %j/%J JSON")
	var filterOut, unsubs stringList
	fs.Var(&filterOut, "T", "do not print messages whose topic matches this filter (repeatable)")
	fs.Var(&unsubs, "U", "unsubscribe from this filter (repeatable); alone, unsubscribe and exit")
	removeRetained := fs.Bool("remove-retained", false, "clear every retained message received")
	retainedOnly := fs.Bool("retained-only", false, "print retained messages only; exit at the first live one")
	retainHandling := fs.String("retain-handling", "always", "MQTT 5: send retained messages always, new (new subscriptions only) or never")
	if !parseClientFlags(fs, &o, args) {
		return 2
	}
	if !checkOpts(&o) {
		return 2
	}
	if o.urlTopic != "" {
		topics = append(topics, o.urlTopic)
	}
	rh := map[string]int{"always": 0, "new": 1, "never": 2}[*retainHandling]
	if rh == 0 && *retainHandling != "always" {
		fmt.Fprintf(os.Stderr, "Error: --retain-handling: always, new or never, not %q\n", *retainHandling)
		return 2
	}
	if err := checkFormat(*format); err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		return 2
	}
	filters := topic.Tree[int]{}
	for i, f := range filterOut {
		filters.Subscribe(nil, []byte(f), i, topic.Options{})
	}
	if len(topics) == 0 && len(unsubs) == 0 {
		fmt.Fprintln(os.Stderr, "Error: You must specify a topic to subscribe to.\nusage: midge sub -t topic [-t topic ...] [-h host] [-p port] [-q qos] [-v] [-C count] [-W secs] ...")
		return 2
	}
	if o.noClean && o.id == "" && o.idPrefix == "" {
		fmt.Fprintln(os.Stderr, "Error: You must provide a client id if you are using the -c option.")
		return 2
	}
	c, err := dial(&o, "midge-sub")
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		return 1
	}
	defer c.disconnect()
	subs := make([]packet.Subscription, len(topics))
	for i, t := range topics {
		subs[i] = packet.Subscription{Filter: []byte(t), QoS: byte(o.qos), RetainAsPublished: *retainAsPublished, NoLocal: *noLocal, RetainHandling: byte(rh)}
	}
	if len(subs) > 0 {
		sid := c.id()
		c.debugf("sending SUBSCRIBE (Mid: %d)", sid)
		sp := c.props.get("subscribe")
		if err := c.write(packet.AppendSubscribe(nil, packet.SUBSCRIBE, sid, &sp, subs, c.version)); err != nil {
			fmt.Fprintf(os.Stderr, "Error: %v\n", err)
			return 1
		}
	}
	if len(unsubs) > 0 {
		us := make([]packet.Subscription, len(unsubs))
		for i, t := range unsubs {
			us[i].Filter = []byte(t)
		}
		c.debugf("sending UNSUBSCRIBE")
		up := c.props.get("unsubscribe")
		if err := c.write(packet.AppendSubscribe(nil, packet.UNSUBSCRIBE, c.id(), &up, us, c.version)); err != nil {
			fmt.Fprintf(os.Stderr, "Error: %v\n", err)
			return 1
		}
	}
	var deadline time.Time
	if *timeout > 0 {
		deadline = time.Now().Add(time.Duration(*timeout) * time.Second)
	}
	received := 0
	ka := time.Duration(o.keepalive) * time.Second
	for {
		h, body, timedOut, err := c.readWait(deadline, ka)
		if timedOut {
			fmt.Fprintln(os.Stderr, "Timed out")
			return 27 // mosquitto_sub's exit status for -W
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "Error: %v\n", err)
			return 1
		}
		switch h.Type {
		case packet.SUBACK:
			if err := packet.DecodeSuback(&c.ps.Suback, h.Type, body, c.version); err != nil {
				fmt.Fprintf(os.Stderr, "Error: %v\n", err)
				return 1
			}
			c.debugf("received SUBACK")
			for i, rc := range c.ps.Suback.Reasons {
				if rc >= 0x80 {
					t := ""
					if i < len(topics) {
						t = topics[i]
					}
					fmt.Fprintf(os.Stderr, "Error: subscription to %q refused (0x%02x)\n", t, rc)
					return 1
				}
			}
			if *exitAfterSub {
				return 0
			}
		case packet.PUBLISH:
			if err := packet.DecodePublish(&c.ps.Publish, h.Flags, body, c.version); err != nil {
				fmt.Fprintf(os.Stderr, "Error: %v\n", err)
				return 1
			}
			p := &c.ps.Publish
			c.debugf("received PUBLISH (d%d, q%d, r%d, m%d, '%s', ... (%d bytes))", b2i(p.Dup), p.QoS, b2i(p.Retain), p.PacketID, p.Topic, len(p.Payload))
			switch p.QoS {
			case 1:
				c.write(packet.AppendAck(nil, &packet.Ack{Type: packet.PUBACK, PacketID: p.PacketID}, c.version))
			case 2:
				c.write(packet.AppendAck(nil, &packet.Ack{Type: packet.PUBREC, PacketID: p.PacketID}, c.version))
			}
			if *retainedOnly && !p.Retain {
				return 0
			}
			if *removeRetained && p.Retain && len(p.Payload) > 0 {
				c.write(packet.AppendPublish(nil, &packet.Publish{Topic: p.Topic, Retain: true}, c.version))
			}
			if *noRetained && p.Retain || len(filters.Match(p.Topic, nil)) > 0 {
				continue
			}
			out := p.Payload
			switch {
			case *format != "":
				out = formatMessage(*format, p, time.Now())
			case *verbose:
				out = append(append([]byte(string(p.Topic)), ' '), p.Payload...)
			}
			if !*noNewline {
				out = append(out, '\n')
			}
			os.Stdout.Write(out)
			received++
			if *count > 0 && received >= *count {
				return 0
			}
		case packet.PUBREL:
			if err := packet.DecodeAck(&c.ps.Ack, h.Type, body, c.version); err == nil {
				c.write(packet.AppendAck(nil, &packet.Ack{Type: packet.PUBCOMP, PacketID: c.ps.Ack.PacketID}, c.version))
			}
		case packet.UNSUBACK:
			c.debugf("received UNSUBACK")
			if len(topics) == 0 {
				return 0 // only unsubscribing
			}
		case packet.PINGRESP:
			c.debugf("received PINGRESP")
		case packet.DISCONNECT:
			fmt.Fprintf(os.Stderr, "Error: %v\n", c.disconnectText(body))
			return 1
		}
	}
}

func init() {
	register("sub", runSub, "subscribe and print messages (mosquitto_sub flags)")
	features = append(features, "sub")
}
