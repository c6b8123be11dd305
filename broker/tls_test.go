//go:build tls

package broker_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"midge/broker"
	"midge/broker/config"
	"midge/internal/testutil"
)

// testPKI is a CA made in the test, with certificates it signs.
func dialTLS(t *testing.T, addr, id string, roots *x509.CertPool, cert *tls.Certificate) (mqtt.Client, error) {
	tc := &tls.Config{RootCAs: roots}
	if cert != nil {
		tc.Certificates = []tls.Certificate{*cert}
	}
	o := mqtt.NewClientOptions().AddBroker("ssl://" + addr).SetClientID(id).SetTLSConfig(tc).
		SetAutoReconnect(false).SetConnectTimeout(3 * time.Second)
	c := mqtt.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		return nil, tok.Error()
	}
	t.Cleanup(func() { c.Disconnect(0) })
	return c, nil
}

func TestTLSListener(t *testing.T) {
	pki := testutil.NewPKI(t)
	certFile, keyFile, _ := pki.Issue("server", "127.0.0.1", true, time.Now().Add(time.Hour))
	_, _, client := pki.Issue("client", "device-1", false, time.Now().Add(time.Hour))
	_, _, expired := pki.Issue("old", "device-2", false, time.Now().Add(-time.Minute))
	acl := filepath.Join(pki.Dir, "acl")
	os.WriteFile(acl, []byte("topic read devices/#\nuser device-1\ntopic readwrite devices/device-1/#\n"), 0o600)
	var cfg *config.Config
	b, _ := testutil.StartBroker(t, func(c *config.Config) {
		c.Listeners = append(c.Listeners,
			config.Listener{Port: 0, BindAddress: "127.0.0.1", Protocol: "mqtt", CertFile: certFile, KeyFile: keyFile},
			config.Listener{Port: 0, BindAddress: "127.0.0.1", Protocol: "mqtt", CertFile: certFile, KeyFile: keyFile,
				CAFile: filepath.Join(pki.Dir, "ca.pem"), RequireCertificate: true, UseIdentityAsUsername: true})
		c.ACLFile = acl
		cfg = c
	})
	plain, server, mutual := b.Addrs()[0].String(), b.Addrs()[1].String(), b.Addrs()[2].String()
	_ = plain
	// Server authentication only.
	c, err := dialTLS(t, server, "tls1", pki.Pool, nil)
	if err != nil {
		t.Fatalf("TLS connect: %v", err)
	}
	if _, err := dialTLS(t, server, "tls-untrusted", x509.NewCertPool(), nil); err == nil {
		t.Fatal("connected without trusting the server certificate")
	}
	// Client certificates: refused without one, refused when expired, and
	// the certificate's CN is the user name the ACL sees.
	if _, err := dialTLS(t, mutual, "nocert", pki.Pool, nil); err == nil {
		t.Fatal("connected without a client certificate")
	}
	if _, err := dialTLS(t, mutual, "expired", pki.Pool, &expired); err == nil {
		t.Fatal("connected with an expired certificate")
	}
	dev, err := dialTLS(t, mutual, "dev", pki.Pool, &client)
	if err != nil {
		t.Fatalf("client certificate refused: %v", err)
	}
	got := make(chan string, 4)
	c.Subscribe("devices/#", 1, func(_ mqtt.Client, m mqtt.Message) { got <- string(m.Payload()) }).WaitTimeout(2 * time.Second)
	dev.Publish("devices/device-1/t", 1, false, "allowed").WaitTimeout(2 * time.Second)
	dev.Publish("devices/device-2/t", 1, false, "denied").WaitTimeout(2 * time.Second)
	select {
	case m := <-got:
		if m != "allowed" {
			t.Fatalf("got %q", m)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("message from the certificate identity not delivered")
	}
	select {
	case m := <-got:
		t.Fatalf("ACL not applied to the certificate identity: %q", m)
	case <-time.After(300 * time.Millisecond):
	}
	// Reload: a new certificate is served to new clients, connected ones
	// stay; a broken file keeps the old certificate.
	newCert, newKey, _ := pki.Issue("server2", "127.0.0.1", true, time.Now().Add(2*time.Hour))
	newSerial := pki.Serial
	os.Rename(newCert, certFile)
	os.Rename(newKey, keyFile)
	if err := b.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	conn, err := tls.Dial("tcp", server, &tls.Config{RootCAs: pki.Pool})
	if err != nil {
		t.Fatal(err)
	}
	serial := conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
	conn.Close()
	if serial != newSerial {
		t.Fatalf("old certificate still served (serial %d)", serial)
	}
	if !c.IsConnected() {
		t.Fatal("a connected TLS client was dropped by the reload")
	}
	os.WriteFile(certFile, []byte("garbage"), 0o600)
	b.Reload(cfg)
	if _, err := dialTLS(t, server, "after-bad-reload", pki.Pool, nil); err != nil {
		t.Fatalf("a broken certificate file replaced the working one: %v", err)
	}
	_ = broker.TLSCompiled
}

// ciphers limits the TLS 1.2 suites; tls_version is the minimum version.
func TestTLSCiphersAndVersion(t *testing.T) {
	pki := testutil.NewPKI(t)
	certFile, keyFile, _ := pki.Issue("server", "127.0.0.1", true, time.Now().Add(time.Hour))
	b, _ := testutil.StartBroker(t, func(c *config.Config) {
		c.Listeners = append(c.Listeners,
			config.Listener{BindAddress: "127.0.0.1", Protocol: "mqtt", CertFile: certFile, KeyFile: keyFile,
				Ciphers: []string{"ECDHE-ECDSA-AES256-GCM-SHA384"}},
			config.Listener{BindAddress: "127.0.0.1", Protocol: "mqtt", CertFile: certFile, KeyFile: keyFile, TLSVersion: "tlsv1.3"})
	})
	limited, tls13 := b.Addrs()[1].String(), b.Addrs()[2].String()
	dial := func(addr string, maxVersion uint16, suites ...uint16) (tls.ConnectionState, error) {
		c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pki.Pool, MaxVersion: maxVersion, CipherSuites: suites})
		if err != nil {
			return tls.ConnectionState{}, err
		}
		defer c.Close()
		return c.ConnectionState(), nil
	}
	if _, err := dial(limited, tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256); err == nil {
		t.Fatal("a suite left out of ciphers was negotiated")
	}
	st, err := dial(limited, tls.VersionTLS12)
	if err != nil || st.CipherSuite != tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 {
		t.Fatalf("TLS 1.2 with the listed suite: %v, %s", err, tls.CipherSuiteName(st.CipherSuite))
	}
	if st, err := dial(limited, 0); err != nil || st.Version != tls.VersionTLS13 {
		t.Fatalf("TLS 1.3 on a listener with ciphers: %v", err)
	}
	if _, err := dial(tls13, tls.VersionTLS12); err == nil {
		t.Fatal("TLS 1.2 accepted by a tlsv1.3 listener")
	}
	if _, err := dial(tls13, 0); err != nil {
		t.Fatal(err)
	}
}

// crlfile refuses revoked client certificates; SIGHUP reads a new CRL and
// keeps the clients already connected.
func TestTLSRevocationListReload(t *testing.T) {
	pki := testutil.NewPKI(t)
	certFile, keyFile, _ := pki.Issue("server", "127.0.0.1", true, time.Now().Add(time.Hour))
	_, _, dev1 := pki.Issue("dev1", "device-1", false, time.Now().Add(time.Hour))
	serial1 := pki.Serial
	_, _, dev2 := pki.Issue("dev2", "device-2", false, time.Now().Add(time.Hour))
	serial2 := pki.Serial
	crl := pki.CRL("crl.pem", serial2)
	var cfg *config.Config
	b, _ := testutil.StartBroker(t, func(c *config.Config) {
		c.Listeners = append(c.Listeners, config.Listener{BindAddress: "127.0.0.1", Protocol: "mqtt", CertFile: certFile, KeyFile: keyFile,
			CAFile: filepath.Join(pki.Dir, "ca.pem"), CRLFile: crl, RequireCertificate: true, UseIdentityAsUsername: true})
		cfg = c
	})
	addr := b.Addrs()[1].String()
	if _, err := dialTLS(t, addr, "d2", pki.Pool, &dev2); err == nil {
		t.Fatal("a revoked certificate was accepted")
	}
	c1, err := dialTLS(t, addr, "d1", pki.Pool, &dev1)
	if err != nil {
		t.Fatalf("a valid certificate was refused: %v", err)
	}
	// Revoke device-1 too: new connections with it are refused, the one
	// already up stays.
	os.Rename(pki.CRL("crl2.pem", serial1, serial2), crl)
	if err := b.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := dialTLS(t, addr, "d1-again", pki.Pool, &dev1); err == nil {
		t.Fatal("the reloaded CRL was not applied")
	}
	if !c1.IsConnected() {
		t.Fatal("the reload dropped a connected client")
	}
	// A broken CRL keeps the one in use.
	os.WriteFile(crl, []byte("garbage"), 0o600)
	b.Reload(cfg)
	if _, err := dialTLS(t, addr, "d1-third", pki.Pool, &dev1); err == nil {
		t.Fatal("a broken CRL file replaced the one in use")
	}
}

// Debian's mosquitto_pub and mosquitto_sub (OpenSSL) over TLS, on a
// listener with a cipher list: client certificates are the user names the
// ACL sees. (Their --tls-version is a minimum, so TLS 1.3 is negotiated and
// the TLS 1.2 list is proved by TestTLSCiphersAndVersion.)
func TestMosquittoClientsOverTLS(t *testing.T) {
	pubBin := testutil.Need(t, "mosquitto_pub")
	subBin := testutil.Need(t, "mosquitto_sub")
	pki := testutil.NewPKI(t)
	certFile, keyFile, _ := pki.Issue("server", "127.0.0.1", true, time.Now().Add(time.Hour))
	devCert, devKey, _ := pki.Issue("dev", "device-1", false, time.Now().Add(time.Hour))
	appCert, appKey, _ := pki.Issue("app", "dashboard", false, time.Now().Add(time.Hour))
	acl := filepath.Join(pki.Dir, "acl")
	os.WriteFile(acl, []byte("user dashboard\ntopic read devices/#\npattern write devices/%u/#\n"), 0o600)
	b, _ := testutil.StartBroker(t, func(c *config.Config) {
		c.Listeners = append(c.Listeners, config.Listener{BindAddress: "127.0.0.1", Protocol: "mqtt", CertFile: certFile, KeyFile: keyFile,
			CAFile: filepath.Join(pki.Dir, "ca.pem"), RequireCertificate: true, UseIdentityAsUsername: true,
			Ciphers: []string{"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"}})
		c.ACLFile = acl
	})
	port := testutil.Port(b.Addrs()[1].String())
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	tlsArgs := func(cert, key string, extra ...string) []string {
		return append([]string{"-h", "127.0.0.1", "-p", port, "--cafile", filepath.Join(pki.Dir, "ca.pem"), "--cert", cert, "--key", key}, extra...)
	}
	var out bytes.Buffer
	sub := exec.CommandContext(ctx, subBin, tlsArgs(appCert, appKey, "-t", "devices/#", "-v", "-C", "1", "-V", "mqttv5")...)
	sub.Stdout, sub.Stderr = &out, &out
	if err := sub.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	// device-1 may not write under device-2 (dropped), but under its own name.
	for _, topic := range []string{"devices/device-2/t", "devices/device-1/t"} {
		if o, err := exec.CommandContext(ctx, pubBin, tlsArgs(devCert, devKey, "-t", topic, "-m", topic, "-q", "1")...).CombinedOutput(); err != nil {
			t.Fatalf("mosquitto_pub over TLS: %v %s", err, o)
		}
	}
	if err := sub.Wait(); err != nil || out.String() != "devices/device-1/t devices/device-1/t\n" {
		t.Fatalf("mosquitto_sub over TLS: %v %q", err, out.String())
	}
}
