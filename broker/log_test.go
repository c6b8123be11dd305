package broker

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSyslogRFC3164(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "log")
	l, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	lg := NewLogger(nil, []string{"all"})
	lg.syslog = newSyslog(sock)
	lg.Warnf("disk %s", "full")
	buf := make([]byte, 2048)
	l.SetReadDeadline(time.Now().Add(time.Second))
	n, err := l.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	msg := string(buf[:n])
	if !strings.HasPrefix(msg, "<28>") || !strings.Contains(msg, " midge[") || !strings.HasSuffix(msg, ": Warning: disk full") {
		t.Fatalf("%q", msg)
	}
	lg.Debugf("%s", strings.Repeat("x", 5000))
	n, _ = l.Read(buf)
	if n > 1200 {
		t.Fatalf("line of %d bytes: not bounded", n)
	}
}
