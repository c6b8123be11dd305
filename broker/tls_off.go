//go:build !tls

package broker

import (
	"errors"
	"net/netip"

	"midge/broker/config"
)

// TLSCompiled reports whether TLS listeners are compiled in.
const TLSCompiled = false

type tlsListener struct{}

func (b *Broker) openTLS(l *listener) error {
	if l.cfg.TLS() {
		return errors.New("TLS is not compiled into this build: build with -tags tls")
	}
	return nil
}

func (b *Broker) acceptTLS(*listener, int, netip.AddrPort) {}
func (b *Broker) reloadTLS([]*listener, []config.Listener) {}
