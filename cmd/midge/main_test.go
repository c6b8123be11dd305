//go:build !nocli && !nopersist

package main

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"midge/broker/auth"
	"midge/broker/packet"
	"midge/persist"
)

var midgeBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "midge-test")
	if err != nil {
		panic(err)
	}
	midgeBin = filepath.Join(dir, "midge")
	build := exec.Command("go", "build", "-tags", testTags, "-o", midgeBin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		panic(err)
	}
	os.Symlink("midge", filepath.Join(dir, "midge-pub"))
	os.Symlink("midge", filepath.Join(dir, "midge-sub"))
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// testTags are the build tags of the binary under test: the test's own
// (tls_test.go adds "tls").
var testTags = ""

var listenRe = regexp.MustCompile(`listen socket on (127\.0\.0\.1:(\d+))`)

// startMidge runs the binary with args and returns its port, read from its
// log. The process is stopped when the test ends.
func startMidge(t *testing.T, args ...string) string {
	t.Helper()
	_, addr := launchMidge(t, args...)
	_, port, _ := strings.Cut(addr, ":")
	return port
}

// launchMidge runs the binary with args and returns the process and the
// address of its first loopback listener, read from its log. The process
// gets SIGTERM when the test ends (SIGKILL if it has not exited 5 s later).
func launchMidge(t *testing.T, args ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(midgeBin, args...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
		}
	})
	addrs := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listenRe.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addrs <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case addr := <-addrs:
		return cmd, addr
	case <-time.After(5 * time.Second):
		t.Fatal("broker did not report its port")
	}
	return nil, ""
}

func midge(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, filepath.Join(filepath.Dir(midgeBin), name), args...)
}

func TestMosquittoConfAndCLI(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "mosquitto.conf")
	os.WriteFile(conf, []byte("# a Mosquitto user's file\nlistener 0 127.0.0.1\nallow_anonymous true\nmax_keepalive 300\npersistence true\n"), 0o644)
	port := startMidge(t, "-c", conf)
	for _, v := range []string{"mqttv311", "mqttv5", "mqttv31"} {
		t.Run(v, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var out bytes.Buffer
			sub := midge(ctx, "midge", "sub", "-p", port, "-h", "127.0.0.1", "-V", v, "-t", "c/#", "-q", "2", "-v", "-C", "3")
			sub.Stdout = &out
			sub.Start()
			time.Sleep(300 * time.Millisecond)
			for _, q := range []string{"0", "1", "2"} {
				if o, err := midge(ctx, "midge-pub", "-p", port, "-h", "127.0.0.1", "-V", v, "-t", "c/"+q, "-m", "m"+q, "-q", q).CombinedOutput(); err != nil {
					t.Fatalf("pub: %v %s", err, o)
				}
			}
			if err := sub.Wait(); err != nil {
				t.Fatalf("sub: %v %q", err, out.String())
			}
			if out.String() != "c/0 m0\nc/1 m1\nc/2 m2\n" {
				t.Fatalf("got %q", out.String())
			}
		})
	}
	t.Run("retained and will", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if o, err := midge(ctx, "midge", "pub", "-p", port, "-t", "keep", "-m", "v", "-r", "-q", "1").CombinedOutput(); err != nil {
			t.Fatalf("%v %s", err, o)
		}
		o, err := midge(ctx, "midge-sub", "-p", port, "-t", "keep", "-C", "1", "-W", "3").Output()
		if err != nil || string(o) != "v\n" {
			t.Fatalf("retained: %v %q", err, o)
		}
		var out bytes.Buffer
		watch := midge(ctx, "midge", "sub", "-p", port, "-t", "dead", "-C", "1")
		watch.Stdout = &out
		watch.Start()
		victim := midge(ctx, "midge", "sub", "-p", port, "-t", "x", "--will-topic", "dead", "--will-payload", "rip", "-V", "mqttv5")
		victim.Start()
		time.Sleep(400 * time.Millisecond)
		victim.Process.Kill()
		victim.Wait()
		if err := watch.Wait(); err != nil || out.String() != "rip\n" {
			t.Fatalf("will: %v %q", err, out.String())
		}
	})
}

func TestCLIErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.conf")
	os.WriteFile(bad, []byte("listener 1883\nno_such_thing 1\n"), 0o644)
	o, err := midge(ctx, "midge", "-c", bad, "--test-config").CombinedOutput()
	if err == nil || !strings.Contains(string(o), "bad.conf:2: no_such_thing") {
		t.Fatalf("bad config: %v %s", err, o)
	}
	good := filepath.Join(dir, "good.toml")
	os.WriteFile(good, []byte("max_connections = 10\n[[listener]]\nport = 1883\n"), 0o644)
	if o, err := midge(ctx, "midge", "-c", good, "--test-config").CombinedOutput(); err != nil || !strings.Contains(string(o), "configuration OK") {
		t.Fatalf("good config: %v %s", err, o)
	}
	// A closed port: a clear message and a non-zero exit.
	o, err = midge(ctx, "midge", "pub", "-p", "1", "-h", "127.0.0.1", "-t", "x", "-m", "y").CombinedOutput()
	if err == nil || !strings.Contains(string(o), "Error: connection to 127.0.0.1:1 failed") {
		t.Fatalf("pub to a closed port: %v %s", err, o)
	}
	if o, err := midge(ctx, "midge", "pub", "-m", "x").CombinedOutput(); err == nil || !strings.Contains(string(o), "No topic") {
		t.Fatalf("pub without topic: %v %s", err, o)
	}
	if o, err := midge(ctx, "midge", "version").Output(); err != nil || !strings.HasPrefix(string(o), "midge ") {
		t.Fatalf("version: %v %s", err, o)
	}
	conf := filepath.Join(dir, "m.conf")
	os.WriteFile(conf, []byte("listener 1884 127.0.0.1\nmax_queued_messages 5\ncheck_retain_source true\n"), 0o644)
	o, err = midge(ctx, "midge", "convert", conf).Output()
	if err != nil || !strings.Contains(string(o), "max_queued_messages = 5") || !strings.Contains(string(o), "# note: ") {
		t.Fatalf("convert: %v %s", err, o)
	}
}

// With the process out of file descriptors the broker neither spins on
// its listener nor stops serving: connected clients keep working, and new
// ones get in once descriptors free up.
func TestOutOfFileDescriptors(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	cmd := exec.Command(sh, "-c", "ulimit -n 24 && exec "+midgeBin+" -p 0")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	sc := bufio.NewScanner(stderr)
	port := ""
	for port == "" && sc.Scan() {
		if m := listenRe.FindStringSubmatch(sc.Text()); m != nil {
			port = m[2]
		}
	}
	go func() {
		for sc.Scan() {
		}
	}()
	addr := "127.0.0.1:" + port
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < 40; i++ { // more than the 24 descriptors allow
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break
		}
		conns = append(conns, c)
	}
	before := cpuTime(t, cmd.Process.Pid)
	time.Sleep(time.Second)
	if used := cpuTime(t, cmd.Process.Pid) - before; used > 300*time.Millisecond {
		t.Fatalf("broker used %v of CPU in 1 s while out of descriptors: it spins", used)
	}
	for _, c := range conns {
		c.Close()
	}
	conns = nil
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if o, err := midge(ctx, "midge", "pub", "-p", port, "-t", "x", "-m", "y").CombinedOutput(); err != nil {
		t.Fatalf("broker did not recover: %v %s", err, o)
	}
}

// cpuTime is the user+system CPU time of a process, from /proc.
func cpuTime(t *testing.T, pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Skip("no /proc")
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	ut, _ := strconv.Atoi(f[11])
	st, _ := strconv.Atoi(f[12])
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

// SIGHUP: a broken file keeps the running configuration and logs the file
// and line; a good one is applied.
func TestSIGHUPReload(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "midge.toml")
	os.WriteFile(conf, []byte("max_keepalive = 100\nallow_anonymous = true\n[[listener]]\nport = 0\nbind_address = \"127.0.0.1\"\n"), 0o644)
	cmd := exec.Command(midgeBin, "-c", conf)
	var logs syncBuffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	port := ""
	for i := 0; i < 100 && port == ""; i++ {
		if m := listenRe.FindStringSubmatch(logs.String()); m != nil {
			port = m[2]
		}
		time.Sleep(20 * time.Millisecond)
	}
	keepalive := func() int {
		c, err := net.Dial("tcp", "127.0.0.1:"+port)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write(packet.AppendConnect(nil, &packet.Connect{Version: packet.Version5, ClientID: []byte("k"), CleanStart: true, KeepAlive: 1000}))
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		buf := make([]byte, 256)
		n, _ := c.Read(buf)
		h, ok, err := packet.ReadHeader(buf[:n], 0)
		if !ok || err != nil {
			t.Fatalf("no CONNACK: %v", err)
		}
		var ack packet.Connack
		packet.DecodeConnack(&ack, buf[h.Size:h.Len()], packet.Version5)
		return int(ack.Props.ServerKeepAlive)
	}
	if ka := keepalive(); ka != 100 {
		t.Fatalf("server keep alive %d", ka)
	}
	os.WriteFile(conf, []byte("max_keepalive = 100\nmax_keepalive_typo = 5\n"), 0o644)
	cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, &logs, "midge.toml:2")
	if ka := keepalive(); ka != 100 {
		t.Fatalf("broken reload changed the keep alive to %d", ka)
	}
	os.WriteFile(conf, []byte("max_keepalive = 50\nallow_anonymous = true\n[[listener]]\nport = 0\nbind_address = \"127.0.0.1\"\n"), 0o644)
	cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, &logs, "Configuration reloaded")
	if ka := keepalive(); ka != 50 {
		t.Fatalf("server keep alive %d after reload, want 50", ka)
	}
}

func waitFor(t *testing.T, logs *syncBuffer, s string) {
	t.Helper()
	for i := 0; i < 150; i++ {
		if strings.Contains(logs.String(), s) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("log never said %q:\n%s", s, logs.String())
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestLogcheckAndLogdump(t *testing.T) {
	dir := t.TempDir()
	l, _, err := persist.Open(persist.Options{Dir: dir, Sync: persist.SyncAlways, SegmentBytes: 200}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var e persist.Enc
	for i := 0; i < 20; i++ {
		e.B = e.B[:0]
		e.String("client-" + strconv.Itoa(i))
		e.Byte(4)
		e.Uint(3600)
		l.Append(persist.RecSessionPut, e.B, 0)
		l.Flush()
		time.Sleep(3 * time.Millisecond)
	}
	l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if o, err := midge(ctx, "midge", "logcheck", dir).CombinedOutput(); err != nil || !strings.Contains(string(o), "no damage") {
		t.Fatalf("logcheck: %v %s", err, o)
	}
	o, err := midge(ctx, "midge", "logdump", "--json", dir).Output()
	if err != nil || strings.Count(string(o), "\n") != 20 || !strings.Contains(string(o), `"client":"client-7"`) {
		t.Fatalf("logdump: %v %s", err, o)
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	f, _ := os.OpenFile(segs[0], os.O_RDWR, 0)
	f.WriteAt([]byte{0xff}, 25)
	f.Close()
	o, err = midge(ctx, "midge", "logcheck", dir).CombinedOutput()
	if err == nil || !strings.Contains(string(o), "DAMAGED") || !strings.Contains(string(o), "lost") {
		t.Fatalf("logcheck on a damaged store: %v %s", err, o)
	}
}

// midge passwd writes files both midge and Mosquitto's parser rules accept.
func TestPasswd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	f := filepath.Join(t.TempDir(), "pw")
	for i, m := range []string{"sha512", "sha512-pbkdf2", "argon2id"} {
		args := []string{"passwd", "-H", m, "-b", f, "user" + strconv.Itoa(i), "pw" + strconv.Itoa(i)}
		if i == 0 {
			args = []string{"passwd", "-c", "-H", m, "-b", f, "user0", "pw0"}
		}
		if o, err := midge(ctx, "midge", args...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v %s", m, err, o)
		}
	}
	os.WriteFile(f+".plain", []byte("plain:secret\n"), 0o600)
	if o, err := midge(ctx, "midge", "passwd", "-U", f+".plain").CombinedOutput(); err != nil {
		t.Fatalf("-U: %v %s", err, o)
	}
	if o, err := midge(ctx, "midge", "passwd", "-D", f, "user1").CombinedOutput(); err != nil {
		t.Fatalf("-D: %v %s", err, o)
	}
	p, err := auth.LoadPasswords(f)
	if err != nil {
		t.Fatal(err)
	}
	if p.Len() != 2 || !p.Check("user0", []byte("pw0")) || !p.Check("user2", []byte("pw2")) || p.Check("user1", []byte("pw1")) {
		t.Fatal("wrong file content")
	}
	if q, err := auth.LoadPasswords(f + ".plain"); err != nil || !q.Check("plain", []byte("secret")) {
		t.Fatalf("-U result: %v", err)
	}
}

// Debian's mosquitto (2.0) reads the $6$ and $7$ files midge passwd writes.
func TestPasswdFileReadByMosquitto(t *testing.T) {
	mosq, err := exec.LookPath("mosquitto")
	if err != nil {
		if p := "/usr/sbin/mosquitto"; fileExists(p) {
			mosq = p
		} else if os.Getenv("CI") == "true" {
			t.Fatal("mosquitto is required in CI")
		} else {
			t.Skip("mosquitto not installed")
		}
	}
	pub, err := exec.LookPath("mosquitto_pub")
	if err != nil {
		t.Skip("mosquitto_pub not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	midge(ctx, "midge", "passwd", "-c", "-H", "sha512", "-b", pw, "u6", "p6").Run()
	midge(ctx, "midge", "passwd", "-H", "sha512-pbkdf2", "-b", pw, "u7", "p7").Run()
	// Run as root, mosquitto switches to its own user: let it read the file.
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chmod(dir, 0o755)
	os.Chmod(pw, 0o644)
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	conf := filepath.Join(dir, "m.conf")
	os.WriteFile(conf, []byte("listener "+port+" 127.0.0.1\nallow_anonymous false\npassword_file "+pw+"\n"), 0o644)
	m := exec.CommandContext(ctx, mosq, "-c", conf)
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { m.Process.Kill(); m.Wait() }()
	try := func(user, pass string) error {
		var err error
		for i := 0; i < 30; i++ {
			if err = exec.CommandContext(ctx, pub, "-p", port, "-u", user, "-P", pass, "-t", "x", "-m", "y").Run(); err == nil {
				return nil
			}
			time.Sleep(100 * time.Millisecond)
		}
		return err
	}
	for _, c := range [][2]string{{"u6", "p6"}, {"u7", "p7"}} {
		if err := try(c[0], c[1]); err != nil {
			t.Fatalf("mosquitto refused %s from midge passwd: %v", c[0], err)
		}
	}
	if exec.CommandContext(ctx, pub, "-p", port, "-u", "u7", "-P", "bad", "-t", "x", "-m", "y").Run() == nil {
		t.Fatal("mosquitto accepted a wrong password")
	}
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }
