//go:build !nocli

package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"midge/broker/packet"
)

// midge bench: a pipelined MQTT load generator. QoS 0 publishers never wait;
// QoS 1/2 publishers keep a window of messages in flight, so the broker and
// not the tool is the bottleneck. Each run prints one summary line of
// key=value pairs.

type benchOpts struct {
	host, port string
	scenario   string
	qos        int
	pubs, subs int
	msgs       int
	size       int
	window     int
	rate       int
	duration   time.Duration
	conns      int
	pid        int
	timeout    time.Duration
	quiet      bool
	version    byte
	cafile     string // TLS, trusting this CA
}

func runBench(args []string) int {
	fs := flag.NewFlagSet("midge bench", flag.ContinueOnError)
	var o benchOpts
	fs.StringVar(&o.host, "h", "127.0.0.1", "broker host")
	fs.StringVar(&o.port, "p", "1883", "broker port")
	fs.StringVar(&o.scenario, "s", "fanin", "scenario: fanin, fanout, latency, idle, check")
	fs.IntVar(&o.qos, "q", 0, "QoS of the messages")
	fs.IntVar(&o.pubs, "P", 4, "publishers (fanin)")
	fs.IntVar(&o.subs, "K", 10, "subscribers (fanout)")
	fs.IntVar(&o.msgs, "n", 100000, "messages in all (fanin, check) or per subscriber (fanout)")
	fs.IntVar(&o.size, "b", 64, "payload bytes (at least 24)")
	fs.IntVar(&o.window, "w", 64, "QoS 1/2 messages in flight per publisher")
	fs.IntVar(&o.rate, "r", 1000, "messages per second (latency)")
	fs.DurationVar(&o.duration, "d", 10*time.Second, "duration (latency, idle)")
	fs.IntVar(&o.conns, "c", 1000, "connections (idle)")
	fs.IntVar(&o.pid, "pid", 0, "broker process id, to report its CPU and memory from /proc")
	fs.DurationVar(&o.timeout, "W", 60*time.Second, "give up after this long")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress on stderr")
	fs.StringVar(&o.cafile, "cafile", "", "connect with TLS, trusting the CAs in this PEM file")
	v := fs.String("V", "mqttv311", "protocol version")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var err error
	if o.version, err = (&clientOpts{version: *v}).protocol(); err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		return 2
	}
	if o.size < 24 {
		o.size = 24
	}
	var res map[string]string
	switch o.scenario {
	case "fanin":
		res, err = benchFlow(&o, o.pubs, 1, o.msgs/o.pubs)
	case "fanout":
		res, err = benchFlow(&o, 1, o.subs, o.msgs)
	case "check":
		res, err = benchFlow(&o, o.pubs, 1, o.msgs/o.pubs)
		if err == nil && (res["lost"] != "0" || res["reordered"] != "0" || (o.qos == 2 && res["dup"] != "0")) {
			err = fmt.Errorf("check failed: %s", summary(res))
		}
	case "latency":
		res, err = benchLatency(&o)
	case "idle":
		res, err = benchIdle(&o)
	default:
		err = fmt.Errorf("unknown scenario %q", o.scenario)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		if res != nil {
			fmt.Println(summary(res))
		}
		return 1
	}
	fmt.Println(summary(res))
	return 0
}

func summary(res map[string]string) string {
	keys := make([]string, 0, len(res))
	for k := range res {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	first := []string{"scenario=" + res["scenario"]}
	for _, k := range keys {
		if k != "scenario" {
			first = append(first, k+"="+res[k])
		}
	}
	return strings.Join(first, " ")
}

// benchConn is one pipelined client connection.
type benchConn struct {
	c       net.Conn
	r       *bufio.Reader
	w       *bufio.Writer
	mu      sync.Mutex // guards w
	version byte
}

func benchDial(o *benchOpts, id string) (*benchConn, error) {
	c, err := net.DialTimeout("tcp", net.JoinHostPort(o.host, o.port), 5*time.Second)
	if err != nil {
		return nil, err
	}
	if o.cafile != "" {
		if c, err = tlsClient(c, &clientOpts{host: o.host, cafile: o.cafile}); err != nil {
			return nil, err
		}
	}
	bc := &benchConn{c: c, r: bufio.NewReaderSize(c, 64*1024), w: bufio.NewWriterSize(c, 64*1024), version: o.version}
	bc.w.Write(packet.AppendConnect(nil, &packet.Connect{Version: o.version, ClientID: []byte(id), CleanStart: true, KeepAlive: 300}))
	bc.w.Flush()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	h, body, err := bc.read()
	c.SetReadDeadline(time.Time{})
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("%s: no CONNACK: %v", id, err)
	}
	if h.Type != packet.CONNACK || len(body) < 2 || body[1] != 0 {
		c.Close()
		return nil, fmt.Errorf("%s: connection refused", id)
	}
	return bc, nil
}

func (bc *benchConn) read() (packet.FixedHeader, []byte, error) {
	return packet.ReadPacket(bc.r, 0)
}

func (bc *benchConn) send(b []byte, flush bool) error {
	bc.mu.Lock()
	defer bc.mu.Unlock()
	if _, err := bc.w.Write(b); err != nil {
		return err
	}
	if flush {
		return bc.w.Flush()
	}
	return nil
}

func (bc *benchConn) subscribe(filter string, qos int) error {
	bc.send(packet.AppendSubscribe(nil, packet.SUBSCRIBE, 1, nil, []packet.Subscription{{Filter: []byte(filter), QoS: byte(qos)}}, bc.version), true)
	bc.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	defer bc.c.SetReadDeadline(time.Time{})
	for {
		h, _, err := bc.read()
		if err != nil {
			return err
		}
		if h.Type == packet.SUBACK {
			return nil
		}
	}
}

var benchStart = time.Now()

// payload layout: publisher (8) | sequence (8) | send time ns since start (8) | padding.
func benchPayload(buf []byte, pub, seq int) {
	binary.BigEndian.PutUint64(buf[0:], uint64(pub))
	binary.BigEndian.PutUint64(buf[8:], uint64(seq))
	binary.BigEndian.PutUint64(buf[16:], uint64(time.Since(benchStart)))
}

// receiver reads PUBLISHes, acknowledges them, and checks per-publisher
// order and duplicates.
type receiver struct {
	bc        *benchConn
	got       atomic.Int64
	dup       atomic.Int64
	reordered atomic.Int64
	last      []int
	seen      []map[int]bool
	lat       []time.Duration
	wantLat   bool
	lastAt    atomic.Int64
}

func (rc *receiver) run(pubs int, done <-chan struct{}) error {
	rc.last = make([]int, pubs)
	rc.seen = make([]map[int]bool, pubs)
	for i := range rc.last {
		rc.last[i] = -1
		rc.seen[i] = map[int]bool{}
	}
	var p packet.Publish
	var ack []byte
	for {
		h, body, err := rc.bc.read()
		if err != nil {
			select {
			case <-done:
				return nil
			default:
				return err
			}
		}
		switch h.Type {
		case packet.PUBLISH:
			if err := packet.DecodePublish(&p, h.Flags, body, rc.bc.version); err != nil {
				return err
			}
			if len(p.Payload) >= 24 {
				pub := int(binary.BigEndian.Uint64(p.Payload))
				seq := int(binary.BigEndian.Uint64(p.Payload[8:]))
				if rc.wantLat {
					rc.lat = append(rc.lat, time.Since(benchStart)-time.Duration(binary.BigEndian.Uint64(p.Payload[16:])))
				}
				if pub < len(rc.last) {
					if rc.seen[pub][seq] {
						rc.dup.Add(1)
					} else {
						rc.seen[pub][seq] = true
						if seq < rc.last[pub] {
							rc.reordered.Add(1)
						}
						rc.last[pub] = seq
						rc.got.Add(1)
					}
				}
			}
			rc.lastAt.Store(int64(time.Since(benchStart)))
			switch p.QoS {
			case 1:
				ack = packet.AppendAck(ack[:0], &packet.Ack{Type: packet.PUBACK, PacketID: p.PacketID}, rc.bc.version)
				rc.bc.send(ack, rc.bc.r.Buffered() == 0)
			case 2:
				ack = packet.AppendAck(ack[:0], &packet.Ack{Type: packet.PUBREC, PacketID: p.PacketID}, rc.bc.version)
				rc.bc.send(ack, rc.bc.r.Buffered() == 0)
			}
		case packet.PUBREL:
			id := binary.BigEndian.Uint16(body)
			ack = packet.AppendAck(ack[:0], &packet.Ack{Type: packet.PUBCOMP, PacketID: id}, rc.bc.version)
			rc.bc.send(ack, rc.bc.r.Buffered() == 0)
		}
		if rc.bc.r.Buffered() == 0 {
			rc.bc.mu.Lock()
			rc.bc.w.Flush()
			rc.bc.mu.Unlock()
		}
	}
}

// publisher sends n messages on topic: QoS 0 as fast as the socket takes
// them, QoS 1/2 with a window of unacknowledged messages.
func publisher(o *benchOpts, bc *benchConn, idx, n int, topic string, pace time.Duration) error {
	payload := make([]byte, o.size)
	var buf []byte
	window := make(chan struct{}, o.window)
	errc := make(chan error, 1)
	if o.qos > 0 {
		go func() { // the ack reader frees window slots
			for {
				h, body, err := bc.read()
				if err != nil {
					errc <- err
					return
				}
				switch h.Type {
				case packet.PUBACK, packet.PUBCOMP:
					<-window
				case packet.PUBREC:
					id := binary.BigEndian.Uint16(body)
					bc.send(packet.AppendAck(nil, &packet.Ack{Type: packet.PUBREL, PacketID: id}, bc.version), true)
				}
			}
		}()
	}
	start := time.Now()
	var id uint16
	for seq := 0; seq < n; seq++ {
		if pace > 0 {
			if d := time.Until(start.Add(time.Duration(seq) * pace)); d > 0 {
				time.Sleep(d)
			}
		}
		p := packet.Publish{Topic: []byte(topic), QoS: byte(o.qos), Payload: payload}
		if o.qos > 0 {
			select {
			case window <- struct{}{}:
			case err := <-errc:
				return err
			}
			id++
			if id == 0 {
				id = 1
			}
			p.PacketID = id
		}
		benchPayload(payload, idx, seq)
		buf = packet.AppendPublish(buf[:0], &p, bc.version)
		flush := pace > 0 || (o.qos > 0 && len(window) == cap(window)) || seq == n-1
		if err := bc.send(buf, flush); err != nil {
			return err
		}
	}
	bc.send(nil, true)
	if o.qos > 0 { // wait for the last acknowledgements
		for i := 0; i < cap(window); i++ {
			select {
			case window <- struct{}{}:
			case err := <-errc:
				return err
			case <-time.After(o.timeout):
				return errors.New("acknowledgements timed out")
			}
		}
	}
	return nil
}

// benchFlow runs pubs publishers and subs subscribers; each publisher sends
// per messages, and every subscriber should get pubs*per.
func benchFlow(o *benchOpts, pubs, subs, per int) (map[string]string, error) {
	topic := "bench/" + strconv.Itoa(int(time.Now().UnixNano()%1e6))
	recv := make([]*receiver, subs)
	done := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, pubs+subs)
	for i := range recv {
		bc, err := benchDial(o, fmt.Sprintf("bench-sub-%d", i))
		if err != nil {
			return nil, err
		}
		defer bc.c.Close()
		if err := bc.subscribe(topic+"/#", max(o.qos, 0)); err != nil {
			return nil, err
		}
		recv[i] = &receiver{bc: bc}
		wg.Add(1)
		go func(rc *receiver) {
			defer wg.Done()
			if err := rc.run(pubs, done); err != nil {
				errs <- err
			}
		}(recv[i])
	}
	pcs := make([]*benchConn, pubs)
	for i := range pcs {
		bc, err := benchDial(o, fmt.Sprintf("bench-pub-%d", i))
		if err != nil {
			return nil, err
		}
		defer bc.c.Close()
		pcs[i] = bc
	}
	cpu0 := procCPU(o.pid)
	start := time.Now()
	var pwg sync.WaitGroup
	for i, bc := range pcs {
		pwg.Add(1)
		go func(i int, bc *benchConn) {
			defer pwg.Done()
			if err := publisher(o, bc, i, per, topic+"/"+strconv.Itoa(i), 0); err != nil {
				errs <- err
			}
		}(i, bc)
	}
	want := int64(pubs * per)
	total := want * int64(subs)
	deadline := start.Add(o.timeout)
	lastProgress := start
	var got int64
	for {
		got = 0
		for _, rc := range recv {
			got += rc.got.Load()
		}
		if got >= total {
			break
		}
		now := time.Now()
		// Stop when everything arrived, after the timeout, or when nothing
		// arrived for 3 s after the publishers finished.
		idle := time.Duration(int64(time.Since(benchStart)) - lastAt(recv))
		if now.After(deadline) || (pubsDone(&pwg) && idle > 3*time.Second) {
			break
		}
		select {
		case err := <-errs:
			close(done)
			return nil, err
		default:
		}
		if !o.quiet && now.Sub(lastProgress) > time.Second {
			fmt.Fprintf(os.Stderr, "  %d/%d delivered\n", got, total)
			lastProgress = now
		}
		time.Sleep(2 * time.Millisecond)
	}
	end := time.Unix(0, 0).Add(time.Duration(lastAt(recv)) + time.Duration(benchStart.UnixNano()))
	elapsed := end.Sub(start)
	if elapsed <= 0 {
		elapsed = time.Since(start)
	}
	cpu1 := procCPU(o.pid)
	pwg.Wait()
	close(done)
	for _, rc := range recv {
		rc.bc.c.Close()
	}
	wg.Wait()
	var dup, reord int64
	for _, rc := range recv {
		dup += rc.dup.Load()
		reord += rc.reordered.Load()
	}
	res := map[string]string{
		"scenario": o.scenario, "qos": strconv.Itoa(o.qos), "pubs": strconv.Itoa(pubs), "subs": strconv.Itoa(subs),
		"size": strconv.Itoa(o.size), "sent": strconv.FormatInt(want, 10), "delivered": strconv.FormatInt(got, 10),
		"lost": strconv.FormatInt(total-got, 10), "dup": strconv.FormatInt(dup, 10), "reordered": strconv.FormatInt(reord, 10),
		"elapsed_s":  strconv.FormatFloat(elapsed.Seconds(), 'f', 3, 64),
		"msgs_per_s": strconv.FormatFloat(float64(got)/elapsed.Seconds(), 'f', 0, 64),
	}
	if cpu0 >= 0 && cpu1 >= 0 && got > 0 {
		res["broker_cpu_s"] = strconv.FormatFloat((cpu1 - cpu0).Seconds(), 'f', 3, 64)
		res["broker_cpu_us_per_msg"] = strconv.FormatFloat(float64((cpu1-cpu0).Microseconds())/float64(got), 'f', 3, 64)
	}
	return res, nil
}

func lastAt(recv []*receiver) int64 {
	var m int64
	for _, rc := range recv {
		m = max(m, rc.lastAt.Load())
	}
	return m
}

func pubsDone(wg *sync.WaitGroup) bool {
	ch := make(chan struct{})
	go func() { wg.Wait(); close(ch) }()
	select {
	case <-ch:
		return true
	case <-time.After(time.Millisecond):
		return false
	}
}

// benchLatency publishes at a fixed rate and reports the distribution of
// publish-to-delivery times.
func benchLatency(o *benchOpts) (map[string]string, error) {
	topic := "bench/lat/" + strconv.Itoa(int(time.Now().UnixNano()%1e6))
	sub, err := benchDial(o, "bench-lat-sub")
	if err != nil {
		return nil, err
	}
	defer sub.c.Close()
	if err := sub.subscribe(topic, o.qos); err != nil {
		return nil, err
	}
	rc := &receiver{bc: sub, wantLat: true}
	done := make(chan struct{})
	go rc.run(1, done)
	pub, err := benchDial(o, "bench-lat-pub")
	if err != nil {
		return nil, err
	}
	defer pub.c.Close()
	n := int(o.duration.Seconds() * float64(o.rate))
	if err := publisher(o, pub, 0, n, topic, time.Second/time.Duration(o.rate)); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(5 * time.Second)
	for rc.got.Load() < int64(n) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	close(done)
	sub.c.Close()
	time.Sleep(10 * time.Millisecond)
	lat := append([]time.Duration(nil), rc.lat...)
	if len(lat) == 0 {
		return nil, errors.New("no message arrived")
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	q := func(f float64) string {
		i := int(f * float64(len(lat)-1))
		return strconv.FormatFloat(float64(lat[i].Microseconds())/1000, 'f', 3, 64)
	}
	return map[string]string{"scenario": "latency", "qos": strconv.Itoa(o.qos), "rate": strconv.Itoa(o.rate),
		"sent": strconv.Itoa(n), "delivered": strconv.Itoa(len(lat)), "lost": strconv.Itoa(n - len(lat)),
		"p50_ms": q(0.50), "p90_ms": q(0.90), "p99_ms": q(0.99), "p999_ms": q(0.999), "max_ms": q(1)}, nil
}

// benchIdle opens and holds connections, then reports the broker's RSS
// growth per connection.
func benchIdle(o *benchOpts) (map[string]string, error) {
	if o.pid == 0 {
		return nil, errors.New("idle needs -pid (the broker's process id) to read its memory")
	}
	rss0 := procRSS(o.pid)
	conns := make([]*benchConn, 0, o.conns)
	defer func() {
		for _, c := range conns {
			c.c.Close()
		}
	}()
	for i := 0; i < o.conns; i++ {
		bc, err := benchDial(o, fmt.Sprintf("idle-%06d", i))
		if err != nil {
			return nil, fmt.Errorf("after %d connections: %v", i, err)
		}
		conns = append(conns, bc)
		if !o.quiet && i%1000 == 999 {
			fmt.Fprintf(os.Stderr, "  %d connections\n", i+1)
		}
	}
	time.Sleep(min(o.duration, 2*time.Second))
	rss1 := procRSS(o.pid)
	return map[string]string{"scenario": "idle", "conns": strconv.Itoa(len(conns)),
		"rss_before_kb": strconv.Itoa(rss0 / 1024), "rss_after_kb": strconv.Itoa(rss1 / 1024),
		"rss_per_conn_bytes": strconv.Itoa((rss1 - rss0) / max(len(conns), 1))}, nil
}

// procRSS is a process's resident set in bytes (VmRSS), or 0.
func procRSS(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, _ := strconv.Atoi(f[1])
				return kb * 1024
			}
		}
	}
	return 0
}

// procCPU is a process's user+system CPU time, or -1.
func procCPU(pid int) time.Duration {
	if pid == 0 {
		return -1
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return -1
	}
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+2:]))
	if len(f) < 13 {
		return -1
	}
	ut, _ := strconv.Atoi(f[11])
	st, _ := strconv.Atoi(f[12])
	return time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ = 100
}

func init() {
	register("bench", runBench, "load generator: fanin, fanout, latency, idle, check")
	features = append(features, "bench")
}
