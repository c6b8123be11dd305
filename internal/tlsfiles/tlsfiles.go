// Package tlsfiles reads the certificate files the broker's TLS listeners
// and the command-line clients share.
package tlsfiles

import (
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
)

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
