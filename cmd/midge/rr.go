//go:build !nocli

package main

import (
	"bytes"
	"crypto/rand"
	"flag"
	"fmt"
	"os"
	"time"

	"midge/broker/packet"
)

// runRR is mosquitto_rr: an MQTT 5 request/response round trip. It
// subscribes to the response topic, publishes the request with that
// Response Topic and fresh Correlation Data, and prints the first response
// (one without Correlation Data, or with ours).
func runRR(args []string) int {
	fs := flag.NewFlagSet("midge rr", flag.ContinueOnError)
	var o clientOpts
	addConnFlags(fs, &o)
	topic := fs.String("t", "", "request topic")
	response := fs.String("e", "", "response topic")
	pf := addPayloadFlags(fs, "request")
	verbose := fs.Bool("v", false, "print the response topic before the payload")
	timeout := fs.Int("W", 0, "give up after this many seconds (exit 27)")
	if !parseClientFlags(fs, &o, args) {
		return 2
	}
	o.version = "mqttv5" // Response Topic is an MQTT 5 property
	if !checkOpts(&o) {
		return 2
	}
	if *topic == "" {
		*topic = o.urlTopic
	}
	if *topic == "" || *response == "" {
		fmt.Fprintln(os.Stderr, "Error: Both a request topic (-t) and a response topic (-e) are needed.\nusage: midge rr -t request-topic -e response-topic (-m msg | -f file | -n | -s) [-h host] [-p port] [-q qos] [-W secs] ...")
		return 2
	}
	payload, err := pf.read()
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		return 1
	}
	c, err := dial(&o, "midge-rr")
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		return 1
	}
	defer c.disconnect()
	corr := make([]byte, 8)
	rand.Read(corr)
	sid := c.id()
	if err := c.write(packet.AppendSubscribe(nil, packet.SUBSCRIBE, sid, nil,
		[]packet.Subscription{{Filter: []byte(*response), QoS: byte(o.qos)}}, c.version)); err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		return 1
	}
	var deadline time.Time
	if *timeout > 0 {
		deadline = time.Now().Add(time.Duration(*timeout) * time.Second)
	}
	ka := time.Duration(o.keepalive) * time.Second
	for {
		h, body, timedOut, err := c.readWait(deadline, ka)
		if timedOut {
			fmt.Fprintln(os.Stderr, "Timed out")
			return 27
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "Error: %v\n", err)
			return 1
		}
		switch h.Type {
		case packet.SUBACK:
			if err := packet.DecodeSuback(&c.ps.Suback, h.Type, body, c.version); err != nil || len(c.ps.Suback.Reasons) != 1 || c.ps.Suback.Reasons[0] >= 0x80 {
				fmt.Fprintf(os.Stderr, "Error: subscription to %q refused\n", *response)
				return 1
			}
			p := packet.Publish{Topic: []byte(*topic), Payload: payload, QoS: byte(o.qos), Props: c.props.get("publish")}
			if p.QoS > 0 {
				p.PacketID = c.id()
			}
			p.Props.Set(packet.PropResponseTopic)
			p.Props.ResponseTopic = []byte(*response)
			p.Props.Set(packet.PropCorrelationData)
			p.Props.CorrelationData = corr
			c.debugf("sending request PUBLISH (q%d, '%s')", p.QoS, *topic)
			if err := c.write(packet.AppendPublish(nil, &p, c.version)); err != nil {
				fmt.Fprintf(os.Stderr, "Error: %v\n", err)
				return 1
			}
		case packet.PUBREC:
			if packet.DecodeAck(&c.ps.Ack, h.Type, body, c.version) == nil {
				c.write(packet.AppendAck(nil, &packet.Ack{Type: packet.PUBREL, PacketID: c.ps.Ack.PacketID}, c.version))
			}
		case packet.PUBLISH:
			if err := packet.DecodePublish(&c.ps.Publish, h.Flags, body, c.version); err != nil {
				fmt.Fprintf(os.Stderr, "Error: %v\n", err)
				return 1
			}
			p := &c.ps.Publish
			switch p.QoS {
			case 1:
				c.write(packet.AppendAck(nil, &packet.Ack{Type: packet.PUBACK, PacketID: p.PacketID}, c.version))
			case 2:
				c.write(packet.AppendAck(nil, &packet.Ack{Type: packet.PUBREC, PacketID: p.PacketID}, c.version))
			}
			if p.Props.Has(packet.PropCorrelationData) && !bytes.Equal(p.Props.CorrelationData, corr) {
				continue // an answer to someone else's request
			}
			out := p.Payload
			if *verbose {
				out = append(append([]byte(string(p.Topic)), ' '), p.Payload...)
			}
			os.Stdout.Write(append(out, '\n'))
			return 0
		case packet.DISCONNECT:
			fmt.Fprintf(os.Stderr, "Error: %v\n", c.disconnectText(body))
			return 1
		}
	}
}

func init() {
	register("rr", runRR, "send an MQTT 5 request and print the response (mosquitto_rr flags)")
	features = append(features, "rr")
}
