//go:build !noauth

package broker_test

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"midge/broker"
	"midge/broker/auth"
	"midge/broker/config"
	"midge/broker/packet"
	"midge/internal/testutil"
)

func authBroker(t *testing.T, acl string) string {
	t.Helper()
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	var lines []string
	for _, u := range []string{"alice", "bob"} {
		h, err := auth.Encode(auth.SHA512PBKDF2, []byte(u+"-pass"))
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, u+":"+h)
	}
	os.WriteFile(pw, []byte(strings.Join(lines, "\n")+"\n"), 0o600)
	aclFile := filepath.Join(dir, "acl")
	os.WriteFile(aclFile, []byte(acl), 0o600)
	_, addr := testutil.StartBroker(t, func(c *config.Config) {
		c.AllowAnonymous = true
		c.PasswordFile = pw
		c.ACLFile = aclFile
	})
	return addr
}

func login(user string) func(*packet.Connect) {
	return func(p *packet.Connect) {
		p.UsernameFlag, p.Username = true, []byte(user)
		p.PasswordFlag, p.Password = true, []byte(user+"-pass")
	}
}

func TestPasswordFileLogin(t *testing.T) {
	addr := authBroker(t, "topic readwrite #\n")
	connect(t, addr, "a", packet.Version5, true, login("alice"))
	for _, v := range []byte{packet.Version5, packet.Version311} {
		r := testutil.Dial(t, addr)
		r.Send(packet.AppendConnect(nil, &packet.Connect{Version: v, ClientID: []byte("x"), CleanStart: true,
			UsernameFlag: true, Username: []byte("alice"), PasswordFlag: true, Password: []byte("wrong")}))
		want := int(packet.BadUserNameOrPassword)
		if v != packet.Version5 {
			want = 4
		}
		r.ExpectReason(2*time.Second, want)
	}
}

func TestACLEnforced(t *testing.T) {
	addr := authBroker(t, `topic read public/#
user alice
topic readwrite alice/#
topic read secret/#
topic deny secret/private
user bob
topic readwrite bob/#
topic read public/#
pattern readwrite devices/%c/#
`)
	alice := connect(t, addr, "alice-dev", packet.Version5, true, login("alice"))
	// SUBSCRIBE: allowed, refused (0x87), and a shared subscription checked
	// against its filter.
	alice.Send(packet.AppendSubscribe(nil, packet.SUBSCRIBE, 1, nil, []packet.Subscription{
		{Filter: []byte("alice/#"), QoS: 1}, {Filter: []byte("bob/#"), QoS: 1}, {Filter: []byte("$share/g/secret/#"), QoS: 1},
		{Filter: []byte("$share/g/bob/#"), QoS: 1}, {Filter: []byte("#"), QoS: 1}}, packet.Version5))
	h, body := alice.Read(2 * time.Second)
	var sa packet.Suback
	packet.DecodeSuback(&sa, h.Type, body, packet.Version5)
	if string(sa.Reasons) != "\x01\x87\x01\x87\x87" {
		t.Fatalf("SUBACK % x", sa.Reasons)
	}
	// PUBLISH without write access: 0x87 for 5.0.
	publish5(alice, "bob/x", 1, 1, "no", packet.Properties{})
	if a := readAck(t, alice, packet.PUBACK); a.Reason != packet.NotAuthorized {
		t.Fatalf("PUBACK 0x%02x", byte(a.Reason))
	}
	// Delivery is checked too: secret/private is denied even under secret/#.
	bob := connect(t, addr, "bob-dev", packet.Version311, true, login("bob"))
	subscribe(t, bob, "bob/#", 1)
	publish5(alice, "alice/ok", 1, 2, "fine", packet.Properties{})
	readAck(t, alice, packet.PUBACK)
	// A 3.1.1 subscriber refused gets 0x80.
	bob.Send(packet.AppendSubscribe(nil, packet.SUBSCRIBE, 2, nil, []packet.Subscription{{Filter: []byte("alice/#"), QoS: 1}}, packet.Version311))
	h, body = bob.Read(2 * time.Second)
	packet.DecodeSuback(&sa, h.Type, body, packet.Version311)
	if string(sa.Reasons) != "\x80" {
		t.Fatalf("3.1.1 SUBACK % x", sa.Reasons)
	}
	// Pattern %c: a device writes under its own id only; an id with '#'
	// does not widen the pattern.
	dev := connect(t, addr, "dev1", packet.Version5, true, nil)
	publish5(dev, "devices/dev1/t", 1, 1, "ok", packet.Properties{})
	if a := readAck(t, dev, packet.PUBACK); a.Reason >= 0x80 {
		t.Fatalf("own device topic refused: 0x%02x", byte(a.Reason))
	}
	publish5(dev, "devices/dev2/t", 1, 2, "no", packet.Properties{})
	if a := readAck(t, dev, packet.PUBACK); a.Reason != packet.NotAuthorized {
		t.Fatal("another device's topic allowed")
	}
	evil := connect(t, addr, "#", packet.Version5, true, nil)
	publish5(evil, "devices/x/t", 1, 1, "no", packet.Properties{})
	if a := readAck(t, evil, packet.PUBACK); a.Reason != packet.NotAuthorized {
		t.Fatal("a # client id widened a client-id pattern")
	}
	// Retained messages are checked against the subscriber's rights.
	publish5(alice, "alice/ret", 1, 3, "r", packet.Properties{Present: 0})
	readAck(t, alice, packet.PUBACK)
	alice.Send(packet.AppendPublish(nil, &packet.Publish{Topic: []byte("alice/ret2"), QoS: 1, PacketID: 4, Retain: true, Payload: []byte("r")}, packet.Version5))
	readAck(t, alice, packet.PUBACK)
	anon := connect(t, addr, "anon", packet.Version311, true, nil)
	anon.Send(packet.AppendSubscribe(nil, packet.SUBSCRIBE, 1, nil, []packet.Subscription{{Filter: []byte("public/#")}}, packet.Version311))
	anon.Read(2 * time.Second)
	if _, _, err := anon.TryRead(300 * time.Millisecond); err == nil {
		t.Fatal("retained message delivered without read access")
	}
}

// Debian's mosquitto_pub logs in with a password file written by
// mosquitto_passwd.
func TestMosquittoPasswdWithBroker(t *testing.T) {
	pwBin := testutil.Need(t, "mosquitto_passwd")
	pubBin := testutil.Need(t, "mosquitto_pub")
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	if out, err := exec.Command(pwBin, "-c", "-b", pw, "dave", "davepw").CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	_, addr := testutil.StartBroker(t, func(c *config.Config) {
		c.AllowAnonymous = false
		c.PasswordFile = pw
	})
	port := testutil.Port(addr)
	if out, err := exec.Command(pubBin, "-p", port, "-u", "dave", "-P", "davepw", "-t", "x", "-m", "y").CombinedOutput(); err != nil {
		t.Fatalf("good password refused: %v %s", err, out)
	}
	if err := exec.Command(pubBin, "-p", port, "-u", "dave", "-P", "nope", "-t", "x", "-m", "y").Run(); err == nil {
		t.Fatal("wrong password accepted")
	}
	if err := exec.Command(pubBin, "-p", port, "-t", "x", "-m", "y").Run(); err == nil {
		t.Fatal("anonymous client accepted with allow_anonymous false")
	}
}

// A JWT in the password field logs in; its claims limit publishing; a bad
// or expired token is refused.
func TestJWTLogin(t *testing.T) {
	dir := t.TempDir()
	secret := "a shared secret of at least thirty-two bytes"
	key := filepath.Join(dir, "secret")
	os.WriteFile(key, []byte(secret), 0o600)
	_, addr := testutil.StartBroker(t, func(c *config.Config) {
		c.AllowAnonymous = false
		c.JWTKeyFile = key
	})
	token := func(claims string) []byte {
		enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
		in := enc(`{"alg":"HS256","typ":"JWT"}`) + "." + enc(claims)
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(in))
		return []byte(in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil)))
	}
	exp := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	good := token(`{"sub":"sensor-7","exp":` + exp + `,"publish":["sensors/7/#"]}`)
	r := connect(t, addr, "s7", packet.Version5, true, func(p *packet.Connect) {
		p.PasswordFlag, p.Password = true, good
	})
	publish5(r, "sensors/7/t", 1, 1, "ok", packet.Properties{})
	if a := readAck(t, r, packet.PUBACK); a.Reason >= 0x80 {
		t.Fatalf("claimed topic refused: 0x%02x", byte(a.Reason))
	}
	publish5(r, "sensors/8/t", 1, 2, "no", packet.Properties{})
	if a := readAck(t, r, packet.PUBACK); a.Reason != packet.NotAuthorized {
		t.Fatal("publish outside the token's claims allowed")
	}
	// A token's exp bounds the connection: this one expired 28 s ago,
	// inside the 30 s leeway, so it logs in and is disconnected with 0xA0
	// Maximum connect time when the leeway runs out.
	exp = strconv.FormatInt(time.Now().Unix()-28, 10)
	short := connect(t, addr, "short", packet.Version5, true, func(p *packet.Connect) {
		p.PasswordFlag, p.Password = true, token(`{"sub":"sensor-9","exp":`+exp+`}`)
	})
	h, body, err := short.TryRead(5 * time.Second)
	var d packet.Disconnect
	if err != nil || h.Type != packet.DISCONNECT || packet.DecodeDisconnect(&d, h.Type, body, packet.Version5) != nil || d.Reason != packet.MaximumConnectTime {
		t.Fatalf("expired token: %s %v, want DISCONNECT 0xA0", h.Type, err)
	}
	for _, bad := range [][]byte{
		token(`{"sub":"x","exp":1000}`),                  // expired
		append(good[:len(good)-2:len(good)-2], 'A', 'A'), // bad signature
	} {
		b := testutil.Dial(t, addr)
		b.Send(packet.AppendConnect(nil, &packet.Connect{Version: packet.Version5, ClientID: []byte("bad"), CleanStart: true,
			PasswordFlag: true, Password: bad}))
		b.ExpectReason(2*time.Second, int(packet.BadUserNameOrPassword))
	}
	r.Send(packet.AppendPingreq(nil)) // the long-lived token's connection stays
	if h, _ := r.Read(2 * time.Second); h.Type != packet.PINGRESP {
		t.Fatalf("got %s", h.Type)
	}
}

// SCRAM-SHA-512 over AUTH packets with the password file's $7$ entry: the
// password never crosses the wire, and the ACL applies to the SCRAM user.
func TestSCRAMLogin(t *testing.T) {
	addr := authBroker(t, "user alice\ntopic readwrite alice/#\n")
	const method = "SCRAM-SHA-512"
	props := func(data string) packet.Properties {
		var p packet.Properties
		p.Set(packet.PropAuthMethod)
		p.AuthMethod = []byte(method)
		p.Set(packet.PropAuthData)
		p.AuthData = []byte(data)
		return p
	}
	run := func(password string) (*testutil.Raw, bool) {
		r := testutil.Dial(t, addr)
		r.Version = packet.Version5
		first := "n,,n=alice,r=clientnonce123"
		r.Send(packet.AppendConnect(nil, &packet.Connect{Version: packet.Version5, ClientID: []byte("sc"), CleanStart: true, Props: props(first)}))
		h, body := r.Read(2 * time.Second)
		var d packet.Disconnect
		if h.Type != packet.AUTH || packet.DecodeDisconnect(&d, packet.AUTH, body, packet.Version5) != nil {
			t.Fatalf("expected AUTH, got %s", h.Type)
		}
		sf := string(d.Props.AuthData)
		attrs := map[string]string{}
		for _, kv := range strings.Split(sf, ",") {
			attrs[kv[:1]] = kv[2:]
		}
		salt, _ := base64.StdEncoding.DecodeString(attrs["s"])
		iter, _ := strconv.Atoi(attrs["i"])
		salted, _ := pbkdf2.Key(sha512.New, password, salt, iter, 64)
		mac := func(key []byte, msg string) []byte {
			m := hmac.New(sha512.New, key)
			m.Write([]byte(msg))
			return m.Sum(nil)
		}
		clientKey := mac(salted, "Client Key")
		stored := sha512.Sum512(clientKey)
		final := "c=biws,r=" + attrs["r"]
		sig := mac(stored[:], first[3:]+","+sf+","+final)
		proof := make([]byte, 64)
		for i := range proof {
			proof[i] = clientKey[i] ^ sig[i]
		}
		r.Send(packet.AppendDisconnect(nil, packet.AUTH, &packet.Disconnect{Reason: packet.ContinueAuthentication,
			Props: props(final + ",p=" + base64.StdEncoding.EncodeToString(proof))}, packet.Version5))
		h, body = r.Read(2 * time.Second)
		if h.Type != packet.CONNACK {
			t.Fatalf("expected CONNACK, got %s", h.Type)
		}
		return r, body[1] == 0
	}
	r, ok := run("alice-pass")
	if !ok {
		t.Fatal("SCRAM login refused")
	}
	publish5(r, "alice/x", 1, 1, "ok", packet.Properties{})
	if a := readAck(t, r, packet.PUBACK); a.Reason >= 0x80 {
		t.Fatalf("the SCRAM user's ACL not applied: 0x%02x", byte(a.Reason))
	}
	if _, ok := run("wrong"); ok {
		t.Fatal("SCRAM with a wrong password accepted")
	}
}

func TestUseUsernameAsClientID(t *testing.T) {
	_, addr := testutil.StartBroker(t, func(c *config.Config) { c.Listeners[0].UseUsernameAsClientID = true })
	first := connect(t, addr, "id-1", packet.Version5, true, func(p *packet.Connect) { p.UsernameFlag, p.Username = true, []byte("carol") })
	connect(t, addr, "id-2", packet.Version5, true, func(p *packet.Connect) { p.UsernameFlag, p.Username = true, []byte("carol") })
	first.ExpectReason(2*time.Second, int(packet.SessionTakenOver)) // the same client id: the user name
	r := testutil.Dial(t, addr)
	r.Send(packet.AppendConnect(nil, &packet.Connect{Version: packet.Version5, ClientID: []byte("anon"), CleanStart: true}))
	r.ExpectReason(2*time.Second, int(packet.NotAuthorized))
}

// per_listener_settings: each listener checks its clients against its own
// password file, ACL and anonymous rule; SIGHUP reloads a listener's files.
func TestPerListenerSecurity(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	h, _ := auth.Encode(auth.SHA512, []byte("alice-pass"))
	os.WriteFile(pw, []byte("alice:"+h+"\n"), 0o600)
	acl0, acl1 := filepath.Join(dir, "acl0"), filepath.Join(dir, "acl1")
	os.WriteFile(acl0, []byte("user alice\ntopic readwrite #\n"), 0o600)
	os.WriteFile(acl1, []byte("topic read #\n"), 0o600)
	yes, none, prefix := true, "", "open-"
	b, addr := testutil.StartBroker(t, func(c *config.Config) {
		c.AllowAnonymous = false
		c.PasswordFile, c.ACLFile = pw, acl0
		c.Listeners = append(c.Listeners, config.Listener{BindAddress: "127.0.0.1", Protocol: "mqtt",
			AllowAnonymous: &yes, PasswordFile: &none, ACLFile: &acl1, AutoIDPrefix: &prefix})
	})
	open := b.Addrs()[1].String()

	// Listener 0: the password file; anonymous clients refused.
	r := testutil.Dial(t, addr)
	r.Send(packet.AppendConnect(nil, &packet.Connect{Version: packet.Version5, ClientID: []byte("a"), CleanStart: true}))
	r.ExpectReason(2*time.Second, int(packet.NotAuthorized))
	alice := connect(t, addr, "alice", packet.Version5, true, login("alice"))

	// Listener 1: anonymous, its own id prefix, read-only ACL.
	anon := testutil.Dial(t, open)
	ca := anon.Connect(&packet.Connect{Version: packet.Version5, CleanStart: true, KeepAlive: 60})
	if !strings.HasPrefix(string(ca.Props.AssignedClientID), "open-") {
		t.Fatalf("assigned id %q", ca.Props.AssignedClientID)
	}
	subscribe(t, anon, "#", 0)
	publish5(anon, "x", 1, 1, "no", packet.Properties{})
	if a := readAck(t, anon, packet.PUBACK); a.Reason != packet.NotAuthorized {
		t.Fatalf("write under a read-only listener ACL: 0x%02x", byte(a.Reason))
	}
	// No password file on listener 1: any user name gets in, as
	// allow_anonymous says; on listener 0 the same login is refused.
	connect(t, open, "m", packet.Version311, true, login("mallory"))
	r = testutil.Dial(t, addr)
	r.Send(packet.AppendConnect(nil, &packet.Connect{Version: packet.Version311, ClientID: []byte("m"), CleanStart: true,
		UsernameFlag: true, Username: []byte("mallory"), PasswordFlag: true, Password: []byte("x")}))
	r.ExpectReason(2*time.Second, 4)
	publish5(alice, "news", 0, 0, "hello", packet.Properties{})
	if p := anon.ReadPublish(2 * time.Second); string(p.Topic) != "news" {
		t.Fatalf("got %s", p.Topic)
	}

	// Reload: listener 1's ACL now hides private/.
	os.WriteFile(acl1, []byte("topic read #\ntopic deny private/#\n"), 0o600)
	var cur *config.Config
	b.Call(func() { cur = b.Config() })
	next := *cur
	if err := b.Reload(&next); err != nil {
		t.Fatal(err)
	}
	publish5(alice, "private/x", 0, 0, "secret", packet.Properties{})
	publish5(alice, "news", 0, 0, "after", packet.Properties{})
	if p := anon.ReadPublish(2 * time.Second); string(p.Payload) != "after" {
		t.Fatalf("got %s %q: the reloaded listener ACL was not applied", p.Topic, p.Payload)
	}
}

// SIGHUP ends the connections the new files no longer let in, like
// Mosquitto: a user removed from the password file, a user whose entry
// changed, and anonymous clients once allow_anonymous is off. The others
// stay connected.
func TestReloadDisconnectsRevokedClients(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	entry := func(u string) string {
		h, _ := auth.Encode(auth.SHA512, []byte(u+"-pass"))
		return u + ":" + h + "\n"
	}
	alice, bob, carol := entry("alice"), entry("bob"), entry("carol")
	os.WriteFile(pw, []byte(alice+bob+carol), 0o600)
	var cfg *config.Config
	b, addr := testutil.StartBroker(t, func(c *config.Config) {
		c.AllowAnonymous = true
		c.PasswordFile = pw
		cfg = c
	})
	clients := map[string]*testutil.Raw{}
	for _, u := range []string{"alice", "bob", "carol"} {
		clients[u] = connect(t, addr, u, packet.Version5, true, login(u))
	}
	clients["anon"] = connect(t, addr, "anon", packet.Version5, true, nil)
	legacy := connect(t, addr, "legacy", packet.Version311, true, login("bob")) // 3.1.1: closed without DISCONNECT

	os.WriteFile(pw, []byte(alice+entry("carol")), 0o600) // bob removed, carol's entry re-made
	next := *cfg
	next.AllowAnonymous = false
	if err := b.Reload(&next); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"bob", "carol", "anon"} {
		h, body, err := clients[u].TryRead(2 * time.Second)
		var d packet.Disconnect
		if err != nil || h.Type != packet.DISCONNECT || packet.DecodeDisconnect(&d, h.Type, body, packet.Version5) != nil || d.Reason != packet.AdministrativeAction {
			t.Errorf("%s: %s %v, want DISCONNECT 0x98", u, h.Type, err)
		}
	}
	legacy.ExpectClosed(2 * time.Second)
	clients["alice"].Send(packet.AppendPingreq(nil))
	if h, _ := clients["alice"].Read(2 * time.Second); h.Type != packet.PINGRESP {
		t.Fatalf("alice: %s", h.Type)
	}
}

// A listener's own broken file is named with its listener; nothing starts.
func TestListenerAuthFileErrorNamesListener(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	cfg := config.Default()
	cfg.Listeners[0].Port = 0
	cfg.Listeners = append(cfg.Listeners, config.Listener{BindAddress: "127.0.0.1", Protocol: "mqtt", ACLFile: &missing})
	_, err := broker.New(cfg, broker.NewLogger(nil, nil))
	if err == nil || !strings.Contains(err.Error(), "listener[1] (port 0): acl_file: open "+missing) {
		t.Fatalf("got %v", err)
	}
}
