package broker

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"

	"midge/platform"
)

// Log levels and kinds, named as Mosquitto's log_type values.
type logKind uint16

const (
	logError logKind = 1 << iota
	logWarning
	logNotice
	logInfo
	logDebug
	logSubscribe
	logUnsubscribe
)

var logKindNames = map[string]logKind{
	"error": logError, "warning": logWarning, "notice": logNotice, "information": logInfo,
	"debug": logDebug, "subscribe": logSubscribe, "unsubscribe": logUnsubscribe,
	"all": 0xffff, "none": 0, "websockets": 0,
}

// Logger writes timestamped lines to the configured destinations. Lines are
// short and bounded; debug output is off unless asked for.
type Logger struct {
	syslog  *syslogWriter
	mu      sync.Mutex
	out     []io.Writer
	kinds   logKind
	verbose bool
	fixed   bool // SetOutput was called: keep that destination
}

// NewLogger makes a logger for Mosquitto-style destinations and types.
func NewLogger(dests, types []string) *Logger {
	l := &Logger{}
	l.setDests(dests)
	l.setKinds(types, false)
	return l
}

func (l *Logger) setDests(dests []string) {
	var out []io.Writer
	var sl *syslogWriter
	for _, d := range dests {
		switch d {
		case "stdout":
			out = append(out, os.Stdout)
		case "stderr":
			out = append(out, os.Stderr)
		case "syslog":
			sl = newSyslog("/dev/log")
		}
	}
	l.mu.Lock()
	if !l.fixed {
		l.out = out
		if l.syslog != nil {
			l.syslog.close()
		}
		l.syslog = sl
	}
	l.mu.Unlock()
}

func (l *Logger) setKinds(types []string, verbose bool) {
	var k logKind
	for _, t := range types {
		k |= logKindNames[t]
	}
	if verbose {
		k = 0xffff
	}
	l.mu.Lock()
	l.kinds = k
	l.mu.Unlock()
}

// SetOutput replaces the destinations (tests use a buffer).
func (l *Logger) SetOutput(w io.Writer) {
	l.mu.Lock()
	l.out, l.fixed = []io.Writer{w}, true
	l.mu.Unlock()
}

// Verbose turns every kind of message on (midge -v), also across reloads.
func (l *Logger) Verbose() {
	l.mu.Lock()
	l.kinds, l.verbose = 0xffff, true
	l.mu.Unlock()
}

func (l *Logger) enabled(k logKind) bool {
	if l == nil {
		return false
	}
	l.mu.Lock()
	on := l.kinds&k != 0
	l.mu.Unlock()
	return on
}

func (l *Logger) logf(k logKind, format string, args ...any) {
	if !l.enabled(k) {
		return
	}
	msg := escapeControl(fmt.Sprintf(format, args...))
	if len(msg) > 1024 { // bounded lines: logs live on small tmpfs
		msg = msg[:1024] + "..."
	}
	line := time.Now().Format("2006-01-02T15:04:05.000") + ": " + msg + "\n"
	l.mu.Lock()
	for _, w := range l.out {
		io.WriteString(w, line)
	}
	if l.syslog != nil {
		l.syslog.send(severity(k), msg)
	}
	l.mu.Unlock()
}

func (l *Logger) Errorf(format string, args ...any)  { l.logf(logError, "Error: "+format, args...) }
func (l *Logger) Warnf(format string, args ...any)   { l.logf(logWarning, "Warning: "+format, args...) }
func (l *Logger) Noticef(format string, args ...any) { l.logf(logNotice, format, args...) }
func (l *Logger) Infof(format string, args ...any)   { l.logf(logInfo, format, args...) }
func (l *Logger) Debugf(format string, args ...any)  { l.logf(logDebug, format, args...) }

// escapeControl writes a formatted line that holds control characters (C0,
// DEL, C1) as a Go string literal without its quotes (\n, \x01, \u0085,
// and \" and \\ so the escapes cannot be forged), so text a client supplied
// (a client id, a user name, a topic) cannot forge lines in a log file or
// syslog whatever the broker accepts. A line with none is returned as it
// is, without allocating.
func escapeControl(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7F || (c == 0xC2 && i+1 < len(s) && s[i+1]&0xE0 == 0x80) {
			q := strconv.Quote(s)
			return q[1 : len(q)-1]
		}
	}
	return s
}

// severity maps a log kind to a syslog severity.
func severity(k logKind) int {
	switch k {
	case logError:
		return 3
	case logWarning:
		return 4
	case logNotice:
		return 5
	case logDebug:
		return 7
	}
	return 6
}

// syslogWriter sends RFC 3164 messages to the local syslog socket
// (/dev/log), facility daemon. It reconnects lazily and drops lines it
// cannot deliver rather than block the broker.
type syslogWriter struct {
	_ [0]func() // not comparable: no equality function in the binary

	path string
	tag  string
}

func newSyslog(path string) *syslogWriter {
	return &syslogWriter{path: path, tag: "midge[" + strconv.Itoa(os.Getpid()) + "]"}
}

func (s *syslogWriter) send(sev int, msg string) {
	const daemon = 3
	line := "<" + strconv.Itoa(daemon*8+sev) + ">" + time.Now().Format(time.Stamp) + " " + s.tag + ": " + msg
	platform.SendUnixgram(s.path, []byte(line)) // a full or absent syslog drops the line
}

func (s *syslogWriter) close() {}
