//go:build !nocli && tls

package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"midge/internal/tlsfiles"
)

// tlsClient runs the TLS handshake over nc with mosquitto_pub's options.
func tlsClient(nc net.Conn, o *clientOpts) (net.Conn, error) {
	cfg := &tls.Config{ServerName: o.host, MinVersion: tls.VersionTLS12}
	switch o.tlsVersion {
	case "", "tlsv1.2":
	case "tlsv1.3":
		cfg.MinVersion = tls.VersionTLS13
	default:
		nc.Close()
		return nil, fmt.Errorf("unknown --tls-version %q (tlsv1.2 or tlsv1.3)", o.tlsVersion)
	}
	if o.ciphers != "" {
		var err error
		if cfg.CipherSuites, err = tlsfiles.CipherSuites(strings.Split(o.ciphers, ":")); err != nil {
			nc.Close()
			return nil, fmt.Errorf("--ciphers: %v", err)
		}
	}
	if o.cafile != "" || o.capath != "" {
		pool, err := tlsfiles.LoadCAs(o.cafile, o.capath)
		if err != nil {
			nc.Close()
			return nil, err
		}
		cfg.RootCAs = pool // else the system's (--tls-use-os-certs)
	}
	if o.cert != "" || o.key != "" {
		pair, err := tls.LoadX509KeyPair(o.cert, o.key)
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("--cert/--key: %v", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	if o.insecure {
		// The chain is still verified; only the host name is not.
		cfg.InsecureSkipVerify = true
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("no server certificate")
			}
			opts := x509.VerifyOptions{Roots: cfg.RootCAs, Intermediates: x509.NewCertPool()}
			for _, c := range cs.PeerCertificates[1:] {
				opts.Intermediates.AddCert(c)
			}
			_, err := cs.PeerCertificates[0].Verify(opts)
			return err
		}
	}
	tc := tls.Client(nc, cfg)
	tc.SetDeadline(time.Now().Add(10 * time.Second))
	if err := tc.Handshake(); err != nil {
		nc.Close()
		return nil, fmt.Errorf("TLS: %v", err)
	}
	tc.SetDeadline(time.Time{})
	return tc, nil
}
