//go:build !nocli && !nopersist

package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"midge/broker/packet"
	"midge/internal/testutil"
)

// midge rr against a responder that answers on the request's Response
// Topic with its Correlation Data; -W gives up with exit status 27; -L
// takes a URL for pub and sub.
func TestRequestResponseAndURLs(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "midge.toml")
	os.WriteFile(conf, []byte("allow_anonymous = true\n[[listener]]\nport = 0\nbind_address = \"127.0.0.1\"\n"), 0o644)
	port := startMidge(t, "-c", conf)
	addr := "127.0.0.1:" + port
	responder := testutil.Dial(t, addr)
	responder.Connect(&packet.Connect{Version: packet.Version5, ClientID: []byte("responder"), CleanStart: true, KeepAlive: 60})
	responder.Send(packet.AppendSubscribe(nil, packet.SUBSCRIBE, 1, nil, []packet.Subscription{{Filter: []byte("svc/+")}}, packet.Version5))
	responder.Read(2 * time.Second) // SUBACK
	go func() {
		for {
			h, body, err := responder.TryRead(10 * time.Second)
			if err != nil || h.Type != packet.PUBLISH {
				return
			}
			var req packet.Publish
			packet.DecodePublish(&req, h.Flags, body, packet.Version5)
			resp := packet.Publish{Topic: req.Props.ResponseTopic, Payload: append([]byte("pong:"), req.Payload...)}
			resp.Props.Set(packet.PropCorrelationData)
			resp.Props.CorrelationData = req.Props.CorrelationData
			responder.Send(packet.AppendPublish(nil, &resp, packet.Version5))
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for _, q := range []string{"0", "1", "2"} {
		out, err := midge(ctx, "midge", "rr", "-h", "127.0.0.1", "-p", port, "-t", "svc/echo", "-e", "me/replies", "-m", "ping", "-q", q, "-W", "5").Output()
		if err != nil || string(out) != "pong:ping\n" {
			t.Fatalf("rr -q %s: %v %q", q, err, out)
		}
	}
	err := midge(ctx, "midge", "rr", "-h", "127.0.0.1", "-p", port, "-t", "nobody/home", "-e", "me/replies", "-m", "x", "-W", "1").Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 27 {
		t.Fatalf("rr without a responder: %v, want exit status 27", err)
	}

	var got bytes.Buffer
	sub := midge(ctx, "midge", "sub", "-L", "mqtt://127.0.0.1:"+port+"/url/topic", "-C", "1", "-v")
	sub.Stdout = &got
	if err := sub.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if o, err := midge(ctx, "midge", "pub", "-L", "mqtt://someone:secret@127.0.0.1:"+port+"/url/topic", "-m", "via url").CombinedOutput(); err != nil {
		t.Fatalf("pub -L: %v %s", err, o)
	}
	if err := sub.Wait(); err != nil || got.String() != "url/topic via url\n" {
		t.Fatalf("sub -L: %v %q", err, got.String())
	}
	if o, err := midge(ctx, "midge", "pub", "-L", "http://127.0.0.1/x", "-m", "x").CombinedOutput(); err == nil {
		t.Fatalf("an http URL was accepted: %s", o)
	}
}

// -D sets MQTT 5 properties as mosquitto_pub's does, user-property with a
// name and a value; it needs MQTT 5 and known identifiers.
func TestPublishProperties(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "midge.toml")
	os.WriteFile(conf, []byte("allow_anonymous = true\n[[listener]]\nport = 0\nbind_address = \"127.0.0.1\"\n"), 0o644)
	port := startMidge(t, "-c", conf)
	r := testutil.Dial(t, "127.0.0.1:"+port)
	r.Connect(&packet.Connect{Version: packet.Version5, ClientID: []byte("watch"), CleanStart: true, KeepAlive: 60})
	r.Send(packet.AppendSubscribe(nil, packet.SUBSCRIBE, 1, nil, []packet.Subscription{{Filter: []byte("props")}}, packet.Version5))
	r.Read(2 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if o, err := midge(ctx, "midge", "pub", "-h", "127.0.0.1", "-p", port, "-V", "mqttv5", "-t", "props", "-m", "{}",
		"-D", "publish", "content-type", "application/json", "-D", "publish", "user-property", "site", "north",
		"--property", "publish", "user-property", "rack", "7", "-D", "publish", "message-expiry-interval", "600",
		"-D", "publish", "response-topic", "replies", "-D", "publish", "correlation-data", "abc",
		"-D", "publish", "payload-format-indicator", "1", "-D", "connect", "session-expiry-interval", "30").CombinedOutput(); err != nil {
		t.Fatalf("pub -D: %v %s", err, o)
	}
	p := r.ReadPublish(2 * time.Second)
	var users []string
	p.Props.UserProperties(func(k, v []byte) { users = append(users, string(k)+"="+string(v)) })
	if string(p.Props.ContentType) != "application/json" || string(p.Props.ResponseTopic) != "replies" ||
		string(p.Props.CorrelationData) != "abc" || p.Props.PayloadFormat != 1 || p.Props.MessageExpiry == 0 ||
		p.Props.MessageExpiry > 600 || strings.Join(users, ",") != "site=north,rack=7" {
		t.Fatalf("properties %+v, user %v", p.Props, users)
	}
	for _, bad := range [][]string{
		{"-D", "publish", "content-type", "x"},                            // 3.1.1
		{"-V", "mqttv5", "-D", "publish", "session-expiry-interval", "1"}, // not a PUBLISH property
		{"-V", "mqttv5", "-D", "publish", "message-expiry-interval", "soon"},
		{"-V", "mqttv5", "-D", "publish", "user-property", "lonely"},
	} {
		args := append([]string{"pub", "-h", "127.0.0.1", "-p", port, "-t", "props", "-m", "x"}, bad...)
		if o, err := midge(ctx, "midge", args...).CombinedOutput(); err == nil || !strings.Contains(string(o), "Error") {
			t.Errorf("%v accepted: %s", bad, o)
		}
	}
}

// --unix, with mosquitto_pub's flag: both tools reach a unix socket
// listener given in a mosquitto.conf as `listener 0 /path`.
func TestUnixSocketClients(t *testing.T) {
	mosqPub := testutil.Need(t, "mosquitto_pub")
	dir := t.TempDir()
	sock := filepath.Join(dir, "midge.sock")
	conf := filepath.Join(dir, "mosquitto.conf")
	os.WriteFile(conf, []byte("listener 0 127.0.0.1\nlistener 0 "+sock+"\nallow_anonymous true\n"), 0o644)
	startMidge(t, "-c", conf)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out bytes.Buffer
	sub := midge(ctx, "midge", "sub", "--unix", sock, "-t", "local/#", "-v", "-C", "1")
	sub.Stdout = &out
	if err := sub.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if o, err := exec.CommandContext(ctx, mosqPub, "--unix", sock, "-t", "local/x", "-m", "via socket").CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_pub --unix: %v %s", err, o)
	}
	if err := sub.Wait(); err != nil || out.String() != "local/x via socket\n" {
		t.Fatalf("midge sub --unix: %v %q", err, out.String())
	}
}

// pid_file (Mosquitto's, for init scripts): written once listening, removed
// at a clean exit.
func TestPIDFile(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "midge.pid")
	conf := filepath.Join(dir, "mosquitto.conf")
	os.WriteFile(conf, []byte("listener 0 127.0.0.1\npid_file "+pidFile+"\n"), 0o644)
	cmd := exec.Command(midgeBin, "-c", conf)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	testutil.Eventually(t, 5*time.Second, "pid file", func() bool {
		b, err := os.ReadFile(pidFile)
		return err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(cmd.Process.Pid)
	})
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	if _, err := os.Stat(pidFile); !os.IsNotExist(err) {
		t.Fatalf("pid file left after exit: %v", err)
	}
}
