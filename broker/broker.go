// Package broker is midge's MQTT broker: one event loop goroutine that owns
// every connection, session, subscription, retained message and timer.
//
// Other goroutines (signal handlers, tests, later TLS pumps) reach the loop
// only through Do, a bounded queue woken by the poller's wake-up fd.
package broker

import (
	"fmt"
	"net/netip"
	"sync"
	"time"

	"midge/broker/config"
	"midge/broker/packet"
	"midge/broker/ring"
	"midge/broker/topic"
	"midge/broker/wheel"
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

	listeners   []*listener
	conns       []*conn // by fd
	nconns      int
	sessions    map[string]*session
	tree        topic.Tree[*session]
	retained    topic.Retained[*message]
	wheel       *wheel.Wheel
	pool        ring.Pool
	mem         int // queued + in-flight + retained bytes (memory_limit)
	memPeak     int // highest mem since memory was last returned to the kernel
	lastRelease time.Time
	memUsers    int // sessions holding queued or in-flight bytes
	retBytes    int // retained bytes
	now         time.Time

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
	tokens      wheel.Timer    // checks connections for expired tokens
	logins      loginLimiter
	store       *store     // nil without persistence
	storeAlarm  string     // persistence could not start
	storeFS     persist.FS // tests substitute a fault-injecting file system
	sys         sysState
	hw          *hardware

	stats loopStats
}

type listener struct {
	b      *Broker
	fd     int
	fd6    int // local only mode: the [::1] socket beside 127.0.0.1 (-1: none)
	addr   netip.AddrPort
	path   string // a unix socket's, removed at close
	cfg    config.Listener
	count  int
	idx    uint8 // position in Broker.listeners
	tls    *tlsListener
	sec    *security // who may connect here and what they may do
	paused bool
	resume wheel.Timer // re-arms accepting after the process ran out of fds
}

func (l *listener) String() string {
	if l.path != "" {
		return l.path
	}
	return l.addr.String()
}

func (l *listener) OnTimer(*wheel.Timer) {
	if l.paused {
		l.paused = false
		l.watch(true)
	}
}

// watch turns accepting on the listener's sockets on or off.
func (l *listener) watch(on bool) {
	l.b.poller.Modify(l.fd, on, false)
	if l.fd6 >= 0 {
		l.b.poller.Modify(l.fd6, on, false)
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
		wheel:    wheel.New(now, 100*time.Millisecond),
		pool:     ring.Pool{Max: 256},
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
	secs, warnings, err := loadSecurity(cfg)
	if err != nil {
		p.Close()
		return nil, err
	}
	for _, w := range warnings {
		log.Warnf("%s", w) // a password file entry skipped: file, line and why
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
			fd, err = platform.ListenUnix(lc.UnixSocket, 0) // 0: the system's somaxconn
		} else {
			fd, addr, err = platform.Listen(lc.BindAddress, lc.Port, 0)
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
		l := &listener{b: b, fd: fd, fd6: -1, addr: addr, path: lc.UnixSocket, cfg: lc, idx: uint8(len(b.listeners)), sec: secs[i]}
		l.resume.Owner = l
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
		if cfg.LocalOnly && addr.Addr() == netip.AddrFrom4([4]byte{127, 0, 0, 1}) {
			// Local only mode listens on both loopbacks, as Mosquitto 2.
			l.fd6 = b.listenLoopback6(addr.Port())
		}
	}
	b.openStore()
	b.openHardware(opts)
	return b, nil
}

// listenLoopback6 opens [::1]:port, or reports why not (a kernel without
// IPv6) and returns -1.
func (b *Broker) listenLoopback6(port uint16) int {
	fd, addr, err := platform.Listen("::1", int(port), 0)
	if err == nil {
		if err = b.poller.Add(fd, true, false); err != nil {
			platform.Close(fd)
		}
	}
	if err != nil {
		b.log.Noticef("Not listening on [::1]:%d: %v.", port, err)
		return -1
	}
	b.log.Noticef("Opening ipv6 listen socket on %s.", addr)
	return fd
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
