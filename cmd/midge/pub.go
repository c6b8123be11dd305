//go:build !nocli

package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"midge/broker/packet"
)

// addConnFlags registers the connection flags of mosquitto_pub/sub.
func addConnFlags(fs *flag.FlagSet, o *clientOpts) {
	fs.StringVar(&o.host, "h", "localhost", "broker host")
	fs.StringVar(&o.port, "p", "", "broker port (1883, or 8883 with TLS)")
	fs.StringVar(&o.id, "i", "", "client id")
	fs.StringVar(&o.idPrefix, "I", "", "client id prefix")
	fs.StringVar(&o.user, "u", "", "user name")
	fs.StringVar(&o.pass, "P", "", "password")
	fs.StringVar(&o.version, "V", "mqttv311", "protocol version: mqttv5, mqttv311 or mqttv31")
	fs.IntVar(&o.keepalive, "k", 60, "keep alive in seconds")
	fs.IntVar(&o.qos, "q", 0, "quality of service 0, 1 or 2")
	fs.BoolVar(&o.debug, "d", false, "print debug messages")
	fs.IntVar(&o.sessionExpiry, "x", 0, "session expiry interval in seconds (MQTT 5); -1 = never")
	fs.StringVar(&o.willTopic, "will-topic", "", "will topic")
	fs.StringVar(&o.willPayload, "will-payload", "", "will payload")
	fs.IntVar(&o.willQoS, "will-qos", 0, "will QoS")
	fs.BoolVar(&o.willRetain, "will-retain", false, "retain the will")
	fs.StringVar(&o.cafile, "cafile", "", "TLS: trust the CAs in this PEM file")
	fs.StringVar(&o.capath, "capath", "", "TLS: trust the CAs in the files of this directory")
	fs.BoolVar(&o.osCerts, "tls-use-os-certs", false, "TLS: trust the system's CAs")
	fs.StringVar(&o.cert, "cert", "", "TLS: client certificate (PEM)")
	fs.StringVar(&o.key, "key", "", "TLS: client key (PEM)")
	fs.BoolVar(&o.insecure, "insecure", false, "TLS: do not check that the server certificate names the host")
	fs.StringVar(&o.tlsVersion, "tls-version", "", "TLS: minimum version, tlsv1.2 (default) or tlsv1.3")
	fs.StringVar(&o.ciphers, "ciphers", "", "TLS 1.2: the suites to offer, an OpenSSL list (ECDHE-RSA-AES128-GCM-SHA256:...)")
	fs.Func("L", "URL: mqtt[s]://[user[:password]@]host[:port]/topic", o.setURL)
	fs.StringVar(&o.unix, "unix", "", "connect to the broker's unix socket at this path")
}

func checkOpts(o *clientOpts) bool {
	if o.qos < 0 || o.qos > 2 || o.willQoS < 0 || o.willQoS > 2 {
		fmt.Fprintf(os.Stderr, "Error: Invalid QoS given: %d\n", o.qos)
		return false
	}
	v, err := o.protocol()
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		return false
	}
	if len(o.props) > 0 && v != packet.Version5 {
		fmt.Fprintln(os.Stderr, "Error: -D (MQTT 5 properties) needs -V mqttv5.")
		return false
	}
	return true
}

// parseClientFlags takes the -D properties out of args, then parses the
// flags; false means a usage error was reported.
func parseClientFlags(fs *flag.FlagSet, o *clientOpts, args []string) bool {
	args, props, err := extractProps(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		return false
	}
	o.props = props
	return fs.Parse(args) == nil
}

func runPub(args []string) int {
	fs := flag.NewFlagSet("midge pub", flag.ContinueOnError)
	var o clientOpts
	addConnFlags(fs, &o)
	topic := fs.String("t", "", "topic to publish to")
	pf := addPayloadFlags(fs, "message")
	lines := fs.Bool("l", false, "send each line of stdin as a message")
	retain := fs.Bool("r", false, "retain the message")
	repeat := fs.Int("repeat", 1, "publish the message this many times")
	repeatDelay := fs.Float64("repeat-delay", 0, "seconds between repeats")
	if !parseClientFlags(fs, &o, args) {
		return 2
	}
	if !checkOpts(&o) {
		return 2
	}
	if *topic == "" {
		*topic = o.urlTopic
	}
	if *topic == "" {
		fmt.Fprintln(os.Stderr, "Error: No topic specified.\nusage: midge pub -t topic (-m msg | -f file | -l | -n | -s) [-h host] [-p port] [-q qos] [-r] ...")
		return 2
	}
	sources := 0
	for _, set := range []bool{*pf.msg != "" || isSet(fs, "m"), *pf.file != "", *lines, *pf.null, *pf.stdin} {
		if set {
			sources++
		}
	}
	if sources != 1 {
		fmt.Fprintln(os.Stderr, "Error: Give exactly one of -m, -f, -l, -n or -s.")
		return 2
	}
	payload, err := pf.read()
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		return 1
	}
	c, err := dial(&o, "midge-pub")
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		return 1
	}
	defer c.disconnect()
	send := func(p []byte) error { return c.publish(*topic, p, byte(o.qos), *retain) }
	if *lines {
		sc := bufio.NewScanner(os.Stdin)
		sc.Buffer(make([]byte, 64*1024), 1<<28)
		for sc.Scan() {
			if err := send(sc.Bytes()); err != nil {
				fmt.Fprintf(os.Stderr, "Error: %v\n", err)
				return 1
			}
		}
		return 0
	}
	for i := 0; i < *repeat; i++ {
		if i > 0 && *repeatDelay > 0 {
			time.Sleep(time.Duration(*repeatDelay * float64(time.Second)))
		}
		if err := send(payload); err != nil {
			fmt.Fprintf(os.Stderr, "Error: %v\n", err)
			return 1
		}
	}
	return 0
}

// payloadFlags are the message sources pub and rr share: -m, -f, -n, -s.
type payloadFlags struct {
	msg, file   *string
	null, stdin *bool
}

func addPayloadFlags(fs *flag.FlagSet, what string) payloadFlags {
	return payloadFlags{
		msg:   fs.String("m", "", what+" payload"),
		file:  fs.String("f", "", "send the contents of a file as the "+what),
		null:  fs.Bool("n", false, "send a null (zero length) "+what),
		stdin: fs.Bool("s", false, "send all of stdin as the "+what),
	}
}

// read is the payload the flags name (-n: none).
func (pf payloadFlags) read() ([]byte, error) {
	switch {
	case *pf.null:
		return nil, nil
	case *pf.file != "":
		return os.ReadFile(*pf.file)
	case *pf.stdin:
		return io.ReadAll(os.Stdin)
	}
	return []byte(*pf.msg), nil
}

func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

// publish sends one message and waits for its QoS flow to complete.
func (c *client) publish(topic string, payload []byte, qos byte, retain bool) error {
	p := packet.Publish{Topic: []byte(topic), Payload: payload, QoS: qos, Retain: retain, Props: c.props.get("publish")}
	if qos > 0 {
		p.PacketID = c.id()
	}
	c.debugf("sending PUBLISH (d0, q%d, r%d, m%d, '%s', ... (%d bytes))", qos, b2i(retain), p.PacketID, topic, len(payload))
	if err := c.write(packet.AppendPublish(nil, &p, c.version)); err != nil {
		return err
	}
	if qos == 0 {
		return nil
	}
	c.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	defer c.conn.SetReadDeadline(time.Time{})
	for {
		h, body, err := c.read()
		if err != nil {
			return fmt.Errorf("waiting for acknowledgement: %v", err)
		}
		switch h.Type {
		case packet.PUBACK, packet.PUBREC, packet.PUBCOMP:
			if err := packet.DecodeAck(&c.ps.Ack, h.Type, body, c.version); err != nil {
				return err
			}
			a := c.ps.Ack
			c.debugf("received %s (Mid: %d, RC:%d)", h.Type, a.PacketID, a.Reason)
			if a.PacketID != p.PacketID {
				continue
			}
			if a.Reason >= 0x80 {
				return fmt.Errorf("publish refused: reason code 0x%02x", byte(a.Reason))
			}
			if h.Type == packet.PUBREC {
				rel := packet.Ack{Type: packet.PUBREL, PacketID: a.PacketID}
				if err := c.write(packet.AppendAck(nil, &rel, c.version)); err != nil {
					return err
				}
				continue
			}
			return nil
		case packet.DISCONNECT:
			return c.disconnectText(body)
		}
	}
}

func b2i(v bool) int {
	if v {
		return 1
	}
	return 0
}

func init() {
	register("pub", runPub, "publish messages (mosquitto_pub flags)")
	features = append(features, "pub")
}
