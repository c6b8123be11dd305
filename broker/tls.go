//go:build tls

package broker

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"midge/broker/config"
	"midge/internal/tlsfiles"
	"midge/platform"
)

// TLSCompiled reports whether TLS listeners are compiled in.
const TLSCompiled = true

// TLS is terminated by a small pump per connection: a goroutine runs the
// handshake (bounded in time, and in number at once), then two copy loops
// relay plaintext over a unix socketpair, so the event loop sees every
// client, TLS or not, as one non-blocking fd. Only after a successful
// handshake does the connection reach the loop, with the client
// certificate's identity.
type tlsListener struct {
	config  *tls.Config                // handed to tls.Server: takes current for each handshake
	current atomic.Pointer[tls.Config] // built from the listener's files; swapped by SIGHUP
	sem     chan struct{}              // concurrent handshakes
	pending atomic.Int32
}

const maxHandshakes = 64

func newTLSListener(lc config.Listener) (*tlsListener, error) {
	t := &tlsListener{sem: make(chan struct{}, maxHandshakes)}
	if err := t.reload(lc); err != nil {
		return nil, err
	}
	t.config = &tls.Config{GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
		return t.current.Load(), nil
	}}
	return t, nil
}

// reload builds the listener's TLS configuration from its files again
// (certificate and key, CAs, CRL); on an error the one in use stays.
// Handshakes in progress finish with the configuration they started with.
func (t *tlsListener) reload(lc config.Listener) error {
	cert, err := tls.LoadX509KeyPair(lc.CertFile, lc.KeyFile)
	if err != nil {
		return fmt.Errorf("certfile/keyfile: %w", err)
	}
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{"mqtt"},
	}
	if lc.TLSVersion == "tlsv1.3" {
		cfg.MinVersion = tls.VersionTLS13
	}
	if cfg.CipherSuites, err = tlsfiles.CipherSuites(lc.Ciphers); err != nil {
		return fmt.Errorf("ciphers: %w", err)
	}
	if lc.CAFile != "" || lc.CAPath != "" {
		pool, err := tlsfiles.LoadCAs(lc.CAFile, lc.CAPath)
		if err != nil {
			return err
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
		if lc.RequireCertificate {
			cfg.ClientAuth = tls.RequireAndVerifyClientCert
		}
	}
	if lc.CRLFile != "" {
		revoked, err := loadCRL(lc.CRLFile)
		if err != nil {
			return err
		}
		cfg.VerifyPeerCertificate = func(_ [][]byte, chains [][]*x509.Certificate) error {
			for _, chain := range chains {
				for _, c := range chain {
					if revoked[string(c.SerialNumber.Bytes())] {
						return fmt.Errorf("certificate %s is revoked", c.Subject)
					}
				}
			}
			return nil
		}
	}
	t.current.Store(cfg)
	return nil
}

func loadCRL(file string) (map[string]bool, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("crlfile: %w", err)
	}
	if b, _ := pem.Decode(data); b != nil {
		data = b.Bytes
	}
	crl, err := x509.ParseRevocationList(data)
	if err != nil {
		return nil, fmt.Errorf("crlfile: %w", err)
	}
	revoked := map[string]bool{}
	for _, r := range crl.RevokedCertificateEntries {
		revoked[string(r.SerialNumber.Bytes())] = true
	}
	return revoked, nil
}

// acceptTLS hands an accepted socket to its handshake goroutine.
func (b *Broker) acceptTLS(l *listener, fd int, remote netip.AddrPort) {
	t := l.tls
	select {
	case t.sem <- struct{}{}:
	default:
		b.log.Warnf("TLS: %d handshakes in progress, refusing %s.", maxHandshakes, remote)
		platform.Close(fd)
		return
	}
	t.pending.Add(1)
	go b.tlsHandshake(l, fd, remote, b.cfg.ConnectTimeout.D())
}

func (b *Broker) tlsHandshake(l *listener, fd int, remote netip.AddrPort, timeout time.Duration) {
	t := l.tls
	defer func() { <-t.sem; t.pending.Add(-1) }()
	f := os.NewFile(uintptr(fd), "tls-client")
	nc, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return
	}
	tc := tls.Server(nc, t.config)
	tc.SetDeadline(time.Now().Add(timeout))
	if err := tc.Handshake(); err != nil {
		b.log.Noticef("TLS handshake with %s failed: %v", remote, err)
		tc.Close()
		return
	}
	tc.SetDeadline(time.Time{})
	var id tlsIdentity
	if certs := tc.ConnectionState().PeerCertificates; len(certs) > 0 {
		id = tlsIdentity{present: true, cn: certs[0].Subject.CommonName, dn: certs[0].Subject.String()}
	}
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		tc.Close()
		return
	}
	unix.SetNonblock(pair[0], true)
	unix.CloseOnExec(pair[0])
	pf := os.NewFile(uintptr(pair[1]), "tls-pump")
	pc, err := net.FileConn(pf)
	pf.Close()
	if err != nil {
		tc.Close()
		unix.Close(pair[0])
		return
	}
	accepted := make(chan bool, 1)
	if !b.Do(func() { accepted <- b.registerTLS(l, pair[0], remote, id) }) || !<-accepted {
		tc.Close()
		pc.Close()
		return
	}
	pump(tc, pc)
}

// pump relays between the TLS connection and the loop's end of the
// socketpair until either side closes.
func pump(tc *tls.Conn, pc net.Conn) {
	var once sync.Once
	stop := func() { once.Do(func() { tc.Close(); pc.Close() }) }
	go func() {
		io.Copy(pc, tc)
		stop()
	}()
	io.Copy(tc, pc)
	stop()
}

// registerTLS adds the loop's end of a TLS connection, on the loop.
func (b *Broker) registerTLS(l *listener, fd int, remote netip.AddrPort, id tlsIdentity) bool {
	if b.nconns >= b.cfg.MaxConnections || (l.cfg.MaxConnections > 0 && l.count >= l.cfg.MaxConnections) {
		unix.Close(fd)
		return false
	}
	c := newConn(b, l, fd, remote)
	c.ext().cert = id
	if err := b.poller.Add(fd, true, false); err != nil {
		unix.Close(fd)
		return false
	}
	b.track(c)
	l.count++
	b.wheel.Schedule(&c.timer, b.now, b.cfg.ConnectTimeout.D())
	return true
}

func (b *Broker) openTLS(l *listener) error {
	if !l.cfg.TLS() {
		return nil
	}
	t, err := newTLSListener(l.cfg)
	if err != nil {
		return err
	}
	l.tls = t
	return nil
}

// reloadTLS re-reads every TLS listener's certificate, key, CAs and CRL
// (off the loop: the configuration in use is swapped atomically); a broken
// file keeps the configuration in use and is logged.
func (b *Broker) reloadTLS(lns []*listener, lcs []config.Listener) {
	for i, l := range lns {
		if l.tls != nil {
			if err := l.tls.reload(lcs[i]); err != nil {
				b.log.Errorf("TLS listener %s: %v; keeping the certificate, CAs and CRL in use", l.addr, err)
			} else {
				b.log.Noticef("TLS listener %s: certificate, CAs and CRL reloaded.", l.addr)
			}
		}
	}
}
