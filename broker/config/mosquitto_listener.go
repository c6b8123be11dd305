package config

import (
	"fmt"
	"strings"
)

// Listener directives: the socket, its protocol and its TLS. They apply to
// the last `listener`, or before any, to the default listener.

func listener(im *importer, d *line) error {
	args := d.args
	if len(args) < 1 || len(args) > 2 {
		return fmt.Errorf("expected: listener <port> [<bind address>]")
	}
	port, err := parseInt(args[:1])
	if err != nil {
		return err
	}
	l := Listener{Port: port, Protocol: "mqtt"}
	if len(args) == 2 && !strings.HasPrefix(args[1], "#") {
		l.BindAddress = args[1]
	}
	if port == 0 && strings.HasPrefix(l.BindAddress, "/") {
		l.UnixSocket, l.BindAddress = l.BindAddress, "" // Mosquitto 2: listener 0 /path/to/socket
	}
	c := im.c
	c.Listeners = append(c.Listeners, l)
	im.listener = &c.Listeners[len(c.Listeners)-1] // only the newest is ever changed
	return nil
}

func port(im *importer, d *line) error {
	p, err := parseInt(d.args)
	if err != nil {
		return err
	}
	im.defaultListener().Port = p
	return nil
}

func bindAddress(im *importer, d *line) error {
	im.defaultListener().BindAddress = d.rest
	return nil
}

func protocol(im *importer, d *line) error {
	if len(d.args) != 1 {
		return fmt.Errorf("expected mqtt or websockets")
	}
	switch d.args[0] {
	case "mqtt":
		im.current().Protocol = "mqtt"
	case "websockets":
		im.current().Protocol = "websockets"
	case "http_api":
		im.note(d.where, d.key, d.args[0]+" listeners are not supported yet; listener skipped")
		im.current().Protocol = "skip"
	default:
		return fmt.Errorf("unknown protocol %q", d.args[0])
	}
	return nil
}

func maxConnections(im *importer, d *line) error {
	n, err := parseInt(d.args)
	if err != nil {
		return err
	}
	if n < 0 {
		im.note(d.where, d.key, fmt.Sprintf("-1 (unlimited) replaced by the global limit %d", im.c.MaxConnections))
		n = 0
	}
	im.current().MaxConnections = n
	return nil
}

func websocketsOrigin(im *importer, d *line) error {
	l := im.current()
	l.WebSocketOrigins = append(l.WebSocketOrigins, d.rest)
	return nil
}

// tlsFile sets cafile, capath, certfile, keyfile, crlfile or tls_version.
func tlsFile(im *importer, d *line) error {
	l := im.current()
	dst := &l.CAFile
	switch d.key {
	case "capath":
		dst = &l.CAPath
	case "certfile":
		dst = &l.CertFile
	case "keyfile":
		dst = &l.KeyFile
	case "crlfile":
		dst = &l.CRLFile
	case "tls_version":
		dst = &l.TLSVersion
	}
	*dst = d.rest
	if d.key == "tls_version" && d.rest == "tlsv1.1" {
		im.note(d.where, d.key, "TLS 1.1 is not offered; the minimum is TLS 1.2")
		*dst = "tlsv1.2"
	}
	return nil
}

// clientCertificate sets require_certificate, use_identity_as_username or
// use_subject_as_username.
func clientCertificate(im *importer, d *line) error {
	v, err := parseBool(d.args)
	if err != nil {
		return err
	}
	l := im.current()
	switch d.key {
	case "require_certificate":
		l.RequireCertificate = v
	case "use_identity_as_username":
		l.UseIdentityAsUsername = v
	default:
		l.UseSubjectAsUsername = v
	}
	return nil
}

func useUsernameAsClientID(im *importer, d *line) error {
	v, err := parseBool(d.args)
	if err == nil {
		im.current().UseUsernameAsClientID = v
	}
	return err
}

func ciphers(im *importer, d *line) error {
	suites, skipped := importCiphers(d.rest)
	im.current().Ciphers = suites
	switch {
	case len(suites) == 0:
		im.note(d.where, d.key, "names no TLS 1.2 suite Go offers ("+strings.Join(skipped, ":")+"); Go's secure defaults are used")
	case len(skipped) > 0:
		im.note(d.where, d.key, "not offered by Go's TLS, left out: "+strings.Join(skipped, ":"))
	}
	return nil
}
