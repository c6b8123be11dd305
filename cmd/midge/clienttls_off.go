//go:build !nocli && !tls

package main

import (
	"errors"
	"net"
)

func tlsClient(nc net.Conn, _ *clientOpts) (net.Conn, error) {
	nc.Close()
	return nil, errors.New("TLS is not compiled into this build: build with -tags tls")
}
