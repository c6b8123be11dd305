// Package tlsfiles reads the certificate files the broker's TLS listeners
// and the command-line clients share.
package tlsfiles

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"

	"midge/broker/config"
)

// CipherSuites maps TLS 1.2 suite names (OpenSSL or IANA) to Go's ids.
func CipherSuites(names []string) ([]uint16, error) {
	var ids []uint16
	for _, n := range names {
		iana, ok := config.CipherSuiteName(n)
		if !ok {
			return nil, fmt.Errorf("%q is not a TLS 1.2 suite Go offers", n)
		}
		for _, s := range tls.CipherSuites() {
			if s.Name == iana {
				ids = append(ids, s.ID)
			}
		}
	}
	return ids, nil
}

// LoadCAs reads the certificates of a CA file and of every file in a CA
// directory (Mosquitto's cafile and capath) into a pool. A CA file without
// a certificate is an error; other files in the directory are skipped.
func LoadCAs(file, dir string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	var files []string
	if file != "" {
		files = append(files, file)
	}
	if dir != "" {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("capath: %w", err)
		}
		for _, e := range ents {
			if !e.IsDir() {
				files = append(files, filepath.Join(dir, e.Name()))
			}
		}
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("cafile: %w", err)
		}
		if !pool.AppendCertsFromPEM(data) && f == file {
			return nil, fmt.Errorf("cafile %s: no PEM certificate", f)
		}
	}
	return pool, nil
}
