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

func TestLogEscapesControlCharacters(t *testing.T) {
	for in, want := range map[string]string{
		"plain é line":     "plain é line",
		"id a\nForged":     `id a\nForged`,
		"\r\t\x01\x7f\\\"": `\r\t\x01\x7f\\\"`,
		"c1 \u0085 end":    `c1 \u0085 end`,
		"nbsp \u00a0 ok":   "nbsp \u00a0 ok",
	} {
		if got := escapeControl(in); got != want {
			t.Errorf("escapeControl(%q) = %q, want %q", in, got, want)
		}
	}
	s := "Client dev-42 connected from 10.0.0.7 as user ü."
	if n := testing.AllocsPerRun(100, func() { escapeControl(s) }); n != 0 {
		t.Fatalf("escaping a clean line allocates %v times", n)
	}
	var buf strings.Builder
	lg := NewLogger(nil, []string{"all"})
	lg.SetOutput(&buf)
	lg.Noticef("Client %s connected.", "x\n2026-01-01T00:00:00.000: forged")
	if strings.Count(buf.String(), "\n") != 1 {
		t.Fatalf("log injection: %q", buf.String())
	}
}
