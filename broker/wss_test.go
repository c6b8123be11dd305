//go:build tls && !nows

package broker_test

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"midge/broker/config"
	"midge/internal/testutil"
)

// WSS: MQTT over WebSocket over TLS, with a client certificate as the
// user name, exchanging messages with a plain TCP client.
func TestSecureWebSocketListener(t *testing.T) {
	pki := testutil.NewPKI(t)
	certFile, keyFile, _ := pki.Issue("server", "127.0.0.1", true, time.Now().Add(time.Hour))
	_, _, client := pki.Issue("browser", "kiosk-1", false, time.Now().Add(time.Hour))
	// Only kiosk-1 may read to/wss and write to/tcp; anonymous clients the reverse.
	acl := filepath.Join(pki.Dir, "acl")
	os.WriteFile(acl, []byte("topic read to/tcp\ntopic write to/wss\nuser kiosk-1\ntopic read to/wss\ntopic write to/tcp\n"), 0o600)
	b, _ := testutil.StartBroker(t, func(c *config.Config) {
		c.Listeners = append(c.Listeners, config.Listener{BindAddress: "127.0.0.1", Protocol: "websockets",
			CertFile: certFile, KeyFile: keyFile, CAFile: filepath.Join(pki.Dir, "ca.pem"), UseIdentityAsUsername: true})
		c.ACLFile = acl
	})
	tcp, wss := b.Addrs()[0].String(), b.Addrs()[1].String()
	wc := dial3(t, "", "wss-client", true, func(o *mqtt.ClientOptions) {
		o.Servers = nil
		o.AddBroker("wss://" + wss + "/mqtt")
		o.SetTLSConfig(&tls.Config{RootCAs: pki.Pool, Certificates: []tls.Certificate{client}})
	})
	tc := dial3(t, tcp, "tcp-client", true, nil)
	wc.sub(t, "to/wss", 1)
	tc.sub(t, "to/tcp", 1)
	tc.pub(t, "to/wss", 1, false, "over wss")
	wc.expect(t, "to/wss", "over wss")
	wc.pub(t, "to/tcp", 2, false, "from wss")
	tc.expect(t, "to/tcp", "from wss")

	// Without trusting the server's CA there is no connection.
	o := mqtt.NewClientOptions().AddBroker("wss://" + wss + "/mqtt").SetClientID("untrusting").
		SetTLSConfig(&tls.Config{}).SetAutoReconnect(false).SetConnectTimeout(2 * time.Second)
	c := mqtt.NewClient(o)
	if tok := c.Connect(); tok.WaitTimeout(3*time.Second) && tok.Error() == nil {
		c.Disconnect(0)
		t.Fatal("connected over WSS without trusting the server certificate")
	}
}
