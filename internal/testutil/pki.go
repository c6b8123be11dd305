package testutil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// PKI is a throwaway certificate authority for TLS tests: its files are in
// Dir (ca.pem), Pool trusts it, Serial is the last serial number issued.
type PKI struct {
	t      testing.TB
	Dir    string
	ca     *x509.Certificate
	key    *ecdsa.PrivateKey
	Pool   *x509.CertPool
	Serial int64
}

// NewPKI makes a CA valid for an hour.
func NewPKI(t testing.TB) *PKI {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "midge test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	p := &PKI{t: t, Dir: t.TempDir(), ca: ca, key: key, Pool: x509.NewCertPool(), Serial: 1}
	p.Pool.AddCert(ca)
	p.write("ca.pem", "CERTIFICATE", der)
	return p
}

func (p *PKI) write(name, typ string, der []byte) string {
	path := filepath.Join(p.Dir, name)
	os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600)
	return path
}

// Issue makes a certificate for cn (a server certificate for 127.0.0.1
// when server is true) valid until notAfter; it returns the certificate and
// key file paths and the loaded pair.
func (p *PKI) Issue(name, cn string, server bool, notAfter time.Time) (string, string, tls.Certificate) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p.Serial++
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(p.Serial), Subject: pkix.Name{CommonName: cn, Organization: []string{"midge"}},
		NotBefore: time.Now().Add(-2 * time.Hour), NotAfter: notAfter, KeyUsage: x509.KeyUsageDigitalSignature}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.key)
	if err != nil {
		p.t.Fatal(err)
	}
	kd, _ := x509.MarshalECPrivateKey(key)
	cert := p.write(name+".pem", "CERTIFICATE", der)
	kf := p.write(name+".key", "EC PRIVATE KEY", kd)
	pair, err := tls.LoadX509KeyPair(cert, kf)
	if err != nil {
		p.t.Fatal(err)
	}
	return cert, kf, pair
}

// CRL writes a revocation list of the given serials and returns its path.
func (p *PKI) CRL(name string, serials ...int64) string {
	var entries []x509.RevocationListEntry
	for _, n := range serials {
		entries = append(entries, x509.RevocationListEntry{SerialNumber: big.NewInt(n), RevocationTime: time.Now()})
	}
	p.Serial++
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(p.Serial), ThisUpdate: time.Now().Add(-time.Minute),
		NextUpdate: time.Now().Add(time.Hour), RevokedCertificateEntries: entries}, p.ca, p.key)
	if err != nil {
		p.t.Fatal(err)
	}
	return p.write(name, "X509 CRL", der)
}
