// Package broker is midge's MQTT broker: one event loop goroutine that owns
// every connection, session, subscription, retained message and timer.
//
// Other goroutines (signal handlers, tests, later TLS pumps) reach the loop
// only through Do, a bounded queue woken by the poller's wake-up fd.
package broker

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"time"

	"midge/broker/config"
	"midge/broker/packet"
	"midge/broker/topic"
	"midge/hw"
	"midge/persist"
	"midge/platform"
)

// Version is the broker version reported by `midge version` and $SYS.
var Version = "0.1.0"

// readBufSize is the loop's shared read buffer: one read(2) per readable
// connection per turn, at most this many bytes.
const readBufSize = 64 * 1024

// Broker is a running MQTT broker.
type Broker struct {
	cfg    *config.Config
	log    *Logger
	poller platform.Poller

	listeners []*listener
	conns     []*conn // by fd
	nconns    int
	sessions  map[string]*session
	tree      topic.Tree[*session]
	retained  topic.Retained[*Message]
	wheel     *wheel
	pool      blockPool
	mem       int // queued + in-flight + retained bytes (memory_limit)
	memUsers  int // sessions holding queued or in-flight bytes
	retBytes  int // retained bytes
	now       time.Time

	readBuf []byte
	ps      packet.Packets // decode scratch: one packet is handled at a time
	scratch []byte         // encode buffer
	subIDs  []byte         // encoded subscription identifiers for one delivery
	matches []topic.Match[*session]
	targets []target
	gen     uint64
	iov     [][]byte
	dirty   []*conn
	events  []platform.Event

	mu      sync.Mutex
	queue   []func()
	stopped bool
	done    chan struct{}

	reloading sync.Mutex // one Reload at a time
	started   time.Time

	auth map[string]Authenticator // enhanced authentication methods by name

	hooks       []AuthHook     // added by the program embedding the broker, asked first
	verifyQ     chan verifyJob // to the credential verifier (nil: check on the loop)
	verifyBytes int            // held by logins waiting for it
	tokens      timer          // checks connections for expired tokens
	logins      loginLimiter
	store       *store     // nil without persistence
	storeAlarm  string     // persistence could not start
	storeFS     persist.FS // tests substitute a fault-injecting file system
	sys         sysState
	hw          *hardware

	Stats Stats
}

// Stats are the broker's counters, read inside the loop (use Do).
type Stats struct {
	Connected, Total, MaxConnected int
	MsgsReceived, MsgsSent         uint64
	BytesReceived, BytesSent       uint64
	PacketsReceived, PacketsSent   uint64
	Dropped                        uint64
	Drops                          [numDropReasons]uint64
	Malformed                      uint64
}

type listener struct {
	b      *Broker
	fd     int
	addr   netip.AddrPort
	path   string // a unix socket's, removed at close
	cfg    config.Listener
	count  int
	idx    uint8 // position in Broker.listeners
	tls    *tlsListener
	sec    *security // who may connect here and what they may do
	paused bool
	resume timer // re-arms accepting after the process ran out of fds
}

func (l *listener) String() string {
	if l.path != "" {
		return l.path
	}
	return l.addr.String()
}

func (l *listener) onTimer(*timer) {
	if l.paused {
		l.paused = false
		l.b.poller.Modify(l.fd, true, false)
	}
}

// Options are the broker's settings that do not come from configuration.
type Options struct {
	// FS replaces the file system of the persistence log (fault injection
	// in tests).
	FS persist.FS
	// Watchdog replaces the configured watchdog (a fake in tests).
	Watchdog hw.Watchdog
}

// New opens the listeners of cfg, recovers the persistence log if enabled,
// and returns a broker ready to Serve.
func New(cfg *config.Config, log *Logger) (*Broker, error) {
	return NewWithOptions(cfg, log, Options{})
}

// NewWithOptions is New with Options.
func NewWithOptions(cfg *config.Config, log *Logger, opts Options) (*Broker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = NewLogger(cfg.Log.Dest, cfg.Log.Types)
	}
	p, err := platform.NewPoller()
	if err != nil {
		return nil, fmt.Errorf("poller: %w", err)
	}
	now := time.Now()
	b := &Broker{
		cfg: cfg, log: log, poller: p,
		sessions: make(map[string]*session),
		wheel:    newWheel(now, 100*time.Millisecond),
		pool:     blockPool{max: 256},
		now:      now,
		readBuf:  make([]byte, readBufSize),
		scratch:  make([]byte, 0, 4096),
		iov:      make([][]byte, 0, 64),
		events:   make([]platform.Event, 256),
		done:     make(chan struct{}),
		started:  now,
	}
	b.tree.Online = func(s *session) bool { return s.conn != nil && s.conn.state == stateConnected }
	b.storeFS = opts.FS
	b.logins.max = 1024
	secs, err := loadSecurity(cfg)
	if err != nil {
		p.Close()
		return nil, err
	}
	b.registerBuiltinAuth()
	if lim, err := platform.RaiseFileLimit(uint64(cfg.MaxConnections) + 64); err != nil {
		log.Warnf("cannot raise the open file limit: %v", err)
	} else if lim < uint64(cfg.MaxConnections)+16 {
		log.Warnf("open file limit %d is below max_connections %d", lim, cfg.MaxConnections)
	}
	for i, lc := range cfg.Listeners {
		if lc.Protocol == "websockets" && !WebSocketCompiled {
			b.closeListeners()
			p.Close()
			return nil, fmt.Errorf("listener %s:%d: WebSockets are not compiled into this build (nows)", lc.BindAddress, lc.Port)
		}
		var fd int
		var addr netip.AddrPort
		if lc.UnixSocket != "" {
			fd, err = platform.ListenUnix(lc.UnixSocket, 128)
		} else {
			fd, addr, err = platform.Listen(lc.BindAddress, lc.Port, 128)
		}
		if err != nil {
			b.closeListeners()
			p.Close()
			if lc.UnixSocket != "" {
				return nil, fmt.Errorf("listener %s: %w", lc.UnixSocket, err)
			}
			return nil, fmt.Errorf("listener %s:%d: %w", lc.BindAddress, lc.Port, err)
		}
		if err := p.Add(fd, true, false); err != nil {
			platform.Close(fd)
			b.closeListeners()
			p.Close()
			return nil, err
		}
		l := &listener{b: b, fd: fd, addr: addr, path: lc.UnixSocket, cfg: lc, idx: uint8(len(b.listeners)), sec: secs[i]}
		l.resume.owner = l
		b.listeners = append(b.listeners, l)
		if err := b.openTLS(l); err != nil {
			b.closeListeners()
			p.Close()
			return nil, fmt.Errorf("listener %s: %w", addr, err)
		}
		if l.path != "" {
			log.Noticef("Opening unix listen socket on %s.", l.path)
		} else {
			log.Noticef("Opening ipv%d listen socket on %s.", ipVersion(addr), addr)
		}
	}
	b.openStore()
	b.openHardware(opts)
	return b, nil
}

func ipVersion(a netip.AddrPort) int {
	if a.Addr().Is4() {
		return 4
	}
	return 6
}

// Addrs returns the bound address of each listener, in configuration order.
func (b *Broker) Addrs() []netip.AddrPort {
	out := make([]netip.AddrPort, len(b.listeners))
	for i, l := range b.listeners {
		out[i] = l.addr
	}
	return out
}

// Logger returns the broker's logger.
func (b *Broker) Logger() *Logger { return b.log }

// Do runs fn on the event loop. It reports false when the broker has
// stopped. The queue is bounded: Do blocks briefly while it is full.
func (b *Broker) Do(fn func()) bool {
	for i := 0; ; i++ {
		b.mu.Lock()
		if b.stopped {
			b.mu.Unlock()
			return false
		}
		if len(b.queue) < 1024 {
			b.queue = append(b.queue, fn)
			b.mu.Unlock()
			b.poller.Wake()
			return true
		}
		b.mu.Unlock()
		time.Sleep(time.Millisecond)
	}
}

// Call runs fn on the loop and waits for it to finish.
func (b *Broker) Call(fn func()) bool {
	ch := make(chan struct{})
	if !b.Do(func() { fn(); close(ch) }) {
		return false
	}
	select {
	case <-ch:
		return true
	case <-b.done:
		return false
	}
}

// Close stops the loop, closes every connection and listener, and waits.
func (b *Broker) Close() error {
	b.Do(func() { b.shutdown() })
	<-b.done
	return nil
}

// Done is closed when the loop has stopped.
func (b *Broker) Done() <-chan struct{} { return b.done }

var errStop = errors.New("broker stopped")

// Serve runs the event loop until Close. It returns nil after Close.
func (b *Broker) Serve() error {
	defer close(b.done)
	b.now = time.Now()
	b.startSys()
	b.startVerifier()
	b.armTokenSweep()
	b.startStore()
	b.startHardware()
	err := b.loop()
	if err == errStop {
		return nil
	}
	return err
}

func (b *Broker) loop() error {
	for {
		timeout := b.wheel.nextTimeout(time.Now())
		n, err := b.poller.Wait(b.events, timeout)
		if err != nil {
			b.shutdown()
			return fmt.Errorf("poll: %w", err)
		}
		b.now = time.Now()
		for _, ev := range b.events[:n] {
			b.dispatch(ev)
		}
		if b.runQueue() {
			return errStop
		}
		b.wheel.advance(b.now)
		b.storeFlush()
		b.flushDirty()
	}
}

// runQueue runs the functions queued by Do; it reports whether the broker
// was shut down by one of them.
func (b *Broker) runQueue() bool {
	b.mu.Lock()
	q := b.queue
	b.queue = nil
	b.mu.Unlock()
	for _, fn := range q {
		fn()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stopped
}

func (b *Broker) dispatch(ev platform.Event) {
	if ev.Fd < 0 {
		return // wake-up; the queue runs after the events
	}
	if c := b.connAt(ev.Fd); c != nil {
		if ev.Writable {
			c.flush()
		}
		if ev.Readable || ev.Hangup {
			c.readable()
		}
		return
	}
	for _, l := range b.listeners {
		if l.fd == ev.Fd {
			b.accept(l)
			return
		}
	}
}

// accept takes up to a bounded number of pending connections.
func (b *Broker) accept(l *listener) {
	for i := 0; i < 64; i++ {
		fd, sa, err := platform.Accept(l.fd)
		if err != nil {
			switch {
			case err == platform.ErrWouldBlock:
			case platform.OutOfFiles(err):
				// The pending connection stays in the backlog and the
				// listener stays readable: stop watching it for a moment
				// rather than spin.
				b.log.Warnf("accept on %s: %v; pausing this listener for 250ms", l, err)
				l.paused = true
				b.poller.Modify(l.fd, false, false)
				b.wheel.schedule(&l.resume, b.now, 250*time.Millisecond)
			case platform.IsTemporary(err):
				b.log.Debugf("accept on %s: %v", l, err)
			default:
				b.log.Errorf("accept on %s: %v", l, err)
			}
			return
		}
		remote := platform.SockaddrToAddrPort(sa)
		if b.nconns >= b.cfg.MaxConnections || (l.cfg.MaxConnections > 0 && l.count >= l.cfg.MaxConnections) {
			b.log.Noticef("Client connection from %v denied: connection limit reached.", remote)
			platform.Close(fd)
			continue
		}
		platform.SetNoDelay(fd)
		if l.tls != nil {
			b.acceptTLS(l, fd, remote)
			continue
		}
		c := newConn(b, l, fd, remote)
		if err := b.poller.Add(fd, true, false); err != nil {
			platform.Close(fd)
			continue
		}
		b.track(c)
		l.count++
		b.wheel.schedule(&c.timer, b.now, b.cfg.ConnectTimeout.D())
	}
}

// track registers c under its fd; untrack forgets it.
func (b *Broker) track(c *conn) {
	if c.fd >= len(b.conns) {
		b.conns = append(b.conns, make([]*conn, c.fd+1-len(b.conns)+len(b.conns)/2)...)
	}
	b.conns[c.fd] = c
	b.nconns++
}

func (b *Broker) untrack(c *conn) {
	if c.fd < len(b.conns) && b.conns[c.fd] == c {
		b.conns[c.fd] = nil
		b.nconns--
	}
}

func (b *Broker) connAt(fd int) *conn {
	if fd >= 0 && fd < len(b.conns) {
		return b.conns[fd]
	}
	return nil
}

func (b *Broker) markDirty(c *conn) {
	if !c.dirty {
		c.dirty = true
		b.dirty = append(b.dirty, c)
	}
}

func (b *Broker) flushDirty() {
	for i := 0; i < len(b.dirty); i++ { // flush may dirty more connections
		c := b.dirty[i]
		c.dirty = false
		c.flush()
		b.dirty[i] = nil
	}
	b.dirty = b.dirty[:0]
}

func (b *Broker) shutdown() {
	b.mu.Lock()
	if b.stopped {
		b.mu.Unlock()
		return
	}
	b.stopped = true
	b.mu.Unlock()
	for _, c := range b.conns {
		if c == nil {
			continue
		}
		if c.state == stateConnected {
			c.sendDisconnect(packet.ServerShuttingDown)
			c.flush()
		}
		c.destroy()
	}
	b.closeListeners()
	b.closeStore()
	b.closeHardware()
	b.poller.Close()
	b.log.Noticef("midge %s terminating", Version)
}

func (b *Broker) closeListeners() {
	for _, l := range b.listeners {
		b.wheel.stop(&l.resume)
		platform.Close(l.fd)
		if l.path != "" {
			os.Remove(l.path)
		}
	}
	b.listeners = nil
}

// clock is the loop's monotonic time in nanoseconds since the broker
// started, as of the current turn.
func (b *Broker) clock() int64 { return int64(b.now.Sub(b.started)) }

// Uptime is how long the broker has been running.
func (b *Broker) Uptime() time.Duration { return time.Since(b.started) }

// LogSubscriptions writes the subscription tree to the log (SIGUSR2, like
// Mosquitto). Call it on the loop (Do).
func (b *Broker) LogSubscriptions() {
	b.log.Noticef("Subscriptions (%d):", b.tree.Len())
	b.tree.Walk(func(filter string, s *session, o topic.Options) {
		b.log.Noticef("  %s %s qos=%d", filter, s.id, o.QoS)
	})
}

// PendingInputBytes is the capacity held for partial inbound packets, over
// all connections (for tests and $SYS). Call it on the loop.
func (b *Broker) PendingInputBytes() int {
	n := 0
	for _, c := range b.conns {
		if c != nil {
			n += cap(c.in)
		}
	}
	return n
}

// Config returns the configuration in force; call it on the loop.
func (b *Broker) Config() *config.Config { return b.cfg }

// Reload validates next and applies its reloadable fields atomically on the
// loop; fields that need a restart keep their values and are logged. On any
// error nothing changes.
func (b *Broker) Reload(next *config.Config) error {
	if err := next.Validate(); err != nil {
		b.log.Errorf("reload refused, keeping the running configuration:\n%v", err)
		return err
	}
	b.reloading.Lock()
	defer b.reloading.Unlock()
	var cur *config.Config
	var lns []*listener
	if !b.Call(func() { cur, lns = b.cfg, b.listeners }) {
		return errStop
	}
	merged, restart := cur.Reload(next) // b.cfg changes only here, under the lock
	secs, err := loadSecurity(merged)
	if err != nil {
		b.log.Errorf("reload refused, keeping the running configuration: %v", err)
		return err
	}
	b.reloadTLS(lns, merged.Listeners)
	if !b.Call(func() {
		for i, l := range b.listeners {
			l.sec = secs[i]
			l.cfg = merged.Listeners[i] // its reloadable fields
		}
		b.recheck()
		b.armTokenSweep()
		b.cfg = merged
		b.log.setKinds(merged.Log.Types, b.log.verbose)
		b.log.setDests(merged.Log.Dest)
		if b.cfg.SysInterval > 0 {
			b.wheel.schedule(&b.sys.timer, b.now, b.cfg.SysInterval.D())
		} else {
			b.wheel.stop(&b.sys.timer)
		}
	}) {
		return errStop
	}
	for _, n := range next.Notes {
		b.log.Warnf("%s", n)
	}
	for _, k := range restart {
		b.log.Warnf("reload: %s changed but needs a restart; keeping the running value", k)
	}
	b.log.Noticef("Configuration reloaded from %s.", next.Source)
	return nil
}
