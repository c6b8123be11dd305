//go:build tls && !nocli && !nopersist

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"midge/internal/testutil"
)

func init() { testTags = "tls" }

// midge pub and midge sub over TLS with mosquitto_pub's flags: the CA, a
// client certificate the listener requires (its CN is the user name), and
// refusals without one or with an untrusted CA.
func TestCLIOverTLS(t *testing.T) {
	pki := testutil.NewPKI(t)
	certFile, keyFile, _ := pki.Issue("server", "127.0.0.1", true, time.Now().Add(time.Hour))
	cert, key, _ := pki.Issue("dev", "device-1", false, time.Now().Add(time.Hour))
	ca := filepath.Join(pki.Dir, "ca.pem")
	conf := filepath.Join(pki.Dir, "midge.toml")
	os.WriteFile(conf, []byte(`allow_anonymous = false
[[listener]]
port = 0
bind_address = "127.0.0.1"
certfile = "`+certFile+`"
keyfile = "`+keyFile+`"
cafile = "`+ca+`"
require_certificate = true
use_identity_as_username = true
`), 0o600)
	port := startMidge(t, "-c", conf)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	tlsFlags := []string{"-h", "127.0.0.1", "-p", port, "--cafile", ca, "--cert", cert, "--key", key}
	var out bytes.Buffer
	sub := midge(ctx, "midge", append([]string{"sub", "-t", "t/#", "-v", "-C", "1", "-V", "mqttv5"}, tlsFlags...)...)
	sub.Stdout = &out
	if err := sub.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if o, err := midge(ctx, "midge-pub", append([]string{"-t", "t/1", "-m", "over tls", "-q", "1"}, tlsFlags...)...).CombinedOutput(); err != nil {
		t.Fatalf("pub over TLS: %v %s", err, o)
	}
	if err := sub.Wait(); err != nil || out.String() != "t/1 over tls\n" {
		t.Fatalf("sub over TLS: %v %q", err, out.String())
	}
	// Without a client certificate, or trusting another CA: an error.
	other := testutil.NewPKI(t)
	for name, args := range map[string][]string{
		"no client certificate": {"-h", "127.0.0.1", "-p", port, "--cafile", ca},
		"untrusted server":      {"-h", "127.0.0.1", "-p", port, "--cafile", filepath.Join(other.Dir, "ca.pem"), "--cert", cert, "--key", key},
		"wrong host name":       {"-h", "localhost", "-p", port, "--cafile", ca, "--cert", cert, "--key", key},
		"unknown cipher":        {"-h", "127.0.0.1", "-p", port, "--cafile", ca, "--cert", cert, "--key", key, "--ciphers", "RC4-MD5"},
	} {
		o, err := midge(ctx, "midge-pub", append([]string{"-t", "t/2", "-m", "x"}, args...)...).CombinedOutput()
		if err == nil || !strings.Contains(string(o), "Error") {
			t.Errorf("%s: %v %s", name, err, o)
		}
	}
	// --insecure skips only the host name check.
	if o, err := midge(ctx, "midge-pub", "-h", "localhost", "-p", port, "--cafile", ca, "--cert", cert, "--key", key,
		"--insecure", "-t", "t/3", "-m", "x").CombinedOutput(); err != nil {
		t.Fatalf("--insecure: %v %s", err, o)
	}
}
