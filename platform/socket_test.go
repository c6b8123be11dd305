package platform

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestBacklogFrom(t *testing.T) {
	dir := t.TempDir()
	def := min(unix.SOMAXCONN, MaxBacklog)
	for content, want := range map[string]int{
		"4096\n":   4096,
		"128\n":    128,
		"1024":     1024,
		"200000\n": MaxBacklog,
		"0\n":      def,
		"-5\n":     def,
		"junk\n":   def,
		"":         def,
	} {
		f := filepath.Join(dir, "somaxconn")
		os.WriteFile(f, []byte(content), 0o644)
		if got := backlogFrom(f); got != want {
			t.Errorf("somaxconn %q: backlog %d, want %d", content, got, want)
		}
	}
	if got := backlogFrom(filepath.Join(dir, "missing")); got != def {
		t.Errorf("no somaxconn: %d, want %d", got, def)
	}
	if somaxconnFile != "" {
		if b, err := os.ReadFile(somaxconnFile); err == nil {
			if v, _ := strconv.Atoi(string(b[:len(b)-1])); v > 0 && ListenBacklog() != min(v, MaxBacklog) {
				t.Errorf("ListenBacklog %d, somaxconn %d", ListenBacklog(), v)
			}
		}
	}
}

// dialBurst connects n times to port without the server accepting and
// returns how many connects did not complete within timeout. A connect
// that finds the accept queue full has its SYN dropped and waits a second
// for the retry.
func dialBurst(t *testing.T, port uint16, n int, timeout time.Duration) int {
	slow := 0
	for i := 0; i < n; i++ {
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port))), timeout)
		if err != nil {
			slow++
			continue
		}
		t.Cleanup(func() { c.Close() })
	}
	return slow
}

// With backlog 0 (the system's limit) a burst of 300 connects that nobody
// accepts yet all complete at once; with a small backlog the ones past it
// wait for a SYN retry (the control, so the burst proves something).
func TestListenBacklogBurst(t *testing.T) {
	const n = 300
	if ListenBacklog() <= n {
		t.Skipf("the system allows a backlog of %d only", ListenBacklog())
	}
	lfd, addr, err := Listen("127.0.0.1", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer Close(lfd)
	if slow := dialBurst(t, addr.Port(), n, 700*time.Millisecond); slow != 0 {
		t.Fatalf("%d of %d connects waited for a SYN retry with backlog %d", slow, n, ListenBacklog())
	}

	small, addr, err := Listen("127.0.0.1", 0, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer Close(small)
	if slow := dialBurst(t, addr.Port(), 8, 300*time.Millisecond); slow == 0 {
		t.Fatal("control: 8 connects into a backlog of 4 all completed; the burst test proves nothing")
	}
}

func TestListenUnixBacklog(t *testing.T) {
	p := filepath.Join(t.TempDir(), "s")
	fd, err := ListenUnix(p, 0)
	if err != nil {
		t.Fatal(err)
	}
	Close(fd)
}

// A listener with no address takes IPv6 and IPv4 on one socket, as
// Mosquitto's `listener 1883` does.
func TestListenWithoutAddressIsDualStack(t *testing.T) {
	if _, err := os.Stat("/proc/net/if_inet6"); err != nil {
		t.Skip("this kernel has no IPv6") // the fallback to IPv4 is what runs here
	}
	lfd, addr, err := Listen("", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer Close(lfd)
	if !addr.Addr().Is6() {
		t.Fatalf("bound %s, want [::]", addr)
	}
	for _, host := range []string{"127.0.0.1", "::1"} {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(host, strconv.Itoa(int(addr.Port()))), time.Second)
		if err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		c.Close()
	}
}
