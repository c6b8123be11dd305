//go:build !nocli

package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"midge/broker/packet"
)

// clientOpts are the connection flags midge pub and midge sub share with
// mosquitto_pub and mosquitto_sub.
type clientOpts struct {
	host, port, id, idPrefix, user, pass, version string
	keepalive                                     int
	qos                                           int
	debug, noClean                                bool
	sessionExpiry                                 int
	willTopic, willPayload                        string
	willQoS                                       int
	willRetain                                    bool
	// TLS, like mosquitto_pub's: any CA option turns it on.
	cafile, capath, cert, key, tlsVersion, ciphers string
	osCerts, insecure                              bool
	urlTopic                                       string   // from -L
	props                                          propOpts // from -D
	unix                                           string   // a unix socket path instead of host and port
}

// setURL takes -L mqtt[s]://[user[:password]@]host[:port]/topic, as
// mosquitto_pub does; mqtts means TLS, trusting the system's CAs unless
// --cafile or --capath say otherwise.
func (o *clientOpts) setURL(u string) error {
	rest, ok := strings.CutPrefix(u, "mqtt://")
	if !ok {
		if rest, ok = strings.CutPrefix(u, "mqtts://"); !ok {
			return errors.New("the URL must start with mqtt:// or mqtts://")
		}
		o.osCerts = true
	}
	hostport, topic, _ := strings.Cut(rest, "/")
	if at := strings.LastIndexByte(hostport, '@'); at >= 0 {
		user, pass, hasPass := strings.Cut(hostport[:at], ":")
		o.user = user
		if hasPass {
			o.pass = pass
		}
		hostport = hostport[at+1:]
	}
	host, port := hostport, ""
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		host, port = h, p
	}
	if host == "" {
		return errors.New("the URL has no host")
	}
	o.host, o.urlTopic = host, topic
	if port != "" {
		o.port = port
	}
	return nil
}

func (o *clientOpts) tls() bool { return o.cafile != "" || o.capath != "" || o.osCerts }

func (o *clientOpts) protocol() (byte, error) {
	switch o.version {
	case "mqttv5", "5":
		return packet.Version5, nil
	case "mqttv311", "311", "":
		return packet.Version311, nil
	case "mqttv31", "31":
		return packet.Version31, nil
	}
	return 0, fmt.Errorf("unknown protocol version %q (mqttv5, mqttv311 or mqttv31)", o.version)
}

// client is a small blocking MQTT client for the command-line tools.
type client struct {
	props   propOpts // -D: MQTT 5 properties by packet
	conn    net.Conn
	r       *bufio.Reader
	version byte
	ps      packet.Packets
	buf     []byte
	nextID  uint16
	debug   bool
	name    string
}

func dial(o *clientOpts, name string) (*client, error) {
	v, err := o.protocol()
	if err != nil {
		return nil, err
	}
	port := o.port
	if port == "" {
		port = "1883"
		if o.tls() {
			port = "8883"
		}
	}
	network, addr := "tcp", net.JoinHostPort(o.host, port)
	if o.unix != "" {
		network, addr = "unix", o.unix
	}
	nc, err := net.DialTimeout(network, addr, 10*time.Second)
	if err != nil {
		return nil, fmt.Errorf("connection to %s failed: %v", addr, err)
	}
	if o.tls() {
		if nc, err = tlsClient(nc, o); err != nil {
			return nil, err
		}
	} else if o.cert != "" || o.key != "" {
		nc.Close()
		return nil, errors.New("--cert and --key need --cafile, --capath or --tls-use-os-certs")
	}
	c := &client{conn: nc, r: bufio.NewReader(nc), version: v, debug: o.debug, name: name, props: o.props}
	id := o.id
	if id == "" && o.idPrefix != "" {
		id = o.idPrefix + strconv.Itoa(int(time.Now().UnixNano()%1000000))
	}
	if id == "" && v != packet.Version5 {
		id = name + "-" + strconv.Itoa(int(time.Now().UnixNano()%1000000000))
	}
	p := packet.Connect{Version: v, CleanStart: !o.noClean, KeepAlive: uint16(o.keepalive), ClientID: []byte(id),
		Props: o.props.get("connect"), WillProps: o.props.get("will")}
	if o.user != "" {
		p.UsernameFlag, p.Username = true, []byte(o.user)
	}
	if o.pass != "" {
		p.PasswordFlag, p.Password = true, []byte(o.pass)
	}
	if o.willTopic != "" {
		p.WillFlag, p.WillTopic, p.WillPayload = true, []byte(o.willTopic), []byte(o.willPayload)
		p.WillQoS, p.WillRetain = byte(o.willQoS), o.willRetain
	}
	if v == packet.Version5 && o.sessionExpiry != 0 {
		p.Props.Set(packet.PropSessionExpiry)
		p.Props.SessionExpiry = uint32(o.sessionExpiry) // -1 becomes 0xFFFFFFFF: never
	}
	c.debugf("sending CONNECT")
	if err := c.write(packet.AppendConnect(nil, &p)); err != nil {
		nc.Close()
		return nil, err
	}
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	h, body, err := c.read()
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("no CONNACK: %v", err)
	}
	nc.SetReadDeadline(time.Time{})
	if h.Type != packet.CONNACK {
		nc.Close()
		return nil, fmt.Errorf("expected CONNACK, got %s", h.Type)
	}
	if err := packet.DecodeConnack(&c.ps.Connack, body, v); err != nil {
		nc.Close()
		return nil, err
	}
	c.debugf("received CONNACK (%d)", c.ps.Connack.Reason)
	if rc := c.ps.Connack.Reason; rc != 0 {
		nc.Close()
		return nil, fmt.Errorf("connection refused: %s", connackText(v, rc))
	}
	return c, nil
}

func connackText(v byte, rc byte) string {
	if v != packet.Version5 {
		switch rc {
		case 1:
			return "unacceptable protocol version"
		case 2:
			return "identifier rejected"
		case 3:
			return "broker unavailable"
		case 4:
			return "bad user name or password"
		case 5:
			return "not authorised"
		}
		return fmt.Sprintf("code %d", rc)
	}
	return fmt.Sprintf("reason code 0x%02x", rc)
}

func (c *client) debugf(format string, args ...any) {
	if c.debug {
		fmt.Printf("Client %s %s\n", c.name, fmt.Sprintf(format, args...))
	}
}

func (c *client) write(b []byte) error {
	c.conn.SetWriteDeadline(time.Now().Add(30 * time.Second))
	_, err := c.conn.Write(b)
	return err
}

// read reads one whole packet.
func (c *client) read() (packet.FixedHeader, []byte, error) {
	return packet.ReadPacket(c.r, 0)
}

func (c *client) id() uint16 {
	c.nextID++
	if c.nextID == 0 {
		c.nextID = 1
	}
	return c.nextID
}

func (c *client) disconnect() {
	c.debugf("sending DISCONNECT")
	c.write(packet.AppendDisconnect(nil, packet.DISCONNECT, &packet.Disconnect{Props: c.props.get("disconnect")}, c.version))
	c.conn.Close()
}

// readWait reads the next packet, sending PINGREQ whenever the keep alive
// ka passes quietly; timedOut reports that deadline (zero: none) passed.
func (c *client) readWait(deadline time.Time, ka time.Duration) (h packet.FixedHeader, body []byte, timedOut bool, err error) {
	for {
		rd := deadline
		if ka > 0 && (rd.IsZero() || time.Until(rd) > ka) {
			rd = time.Now().Add(ka)
		}
		c.conn.SetReadDeadline(rd)
		h, body, err = c.read()
		var ne net.Error
		switch {
		case err == nil:
			return h, body, false, nil
		case !errors.As(err, &ne) || !ne.Timeout():
			return h, nil, false, fmt.Errorf("connection lost: %v", err)
		case !deadline.IsZero() && !time.Now().Before(deadline):
			return h, nil, true, nil
		}
		if err := c.ping(); err != nil {
			return h, nil, false, err
		}
	}
}

func (c *client) ping() error {
	c.debugf("sending PINGREQ")
	return c.write(packet.AppendPingreq(nil))
}

var errDisconnected = errors.New("disconnected by the broker")

// disconnectText explains a DISCONNECT from the broker.
func (c *client) disconnectText(body []byte) error {
	if err := packet.DecodeDisconnect(&c.ps.Disconnect, packet.DISCONNECT, body, c.version); err == nil && c.version == packet.Version5 {
		return fmt.Errorf("%w: reason code 0x%02x", errDisconnected, byte(c.ps.Disconnect.Reason))
	}
	return errDisconnected
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }
