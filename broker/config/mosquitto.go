package config

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ImportMosquitto reads a mosquitto.conf with Mosquitto's parser rules:
// a comment is a line whose first byte is '#'; tokens are separated by
// spaces only; options after `listener` belong to that listener; an unknown
// directive is an error naming file and line. Directives midge does not
// implement yet are accepted and recorded in Notes with their line.
func ImportMosquitto(path string, data []byte) (*Config, error) {
	return importOver(Default(), path, data)
}

// importOver imports a mosquitto.conf over base (a board's settings).
func importOver(base *Config, path string, data []byte) (*Config, error) {
	im := &importer{c: base, defaultLn: Listener{Port: 1883, Protocol: "mqtt"}}
	im.c.Listeners = nil
	im.c.Source = path
	im.main = path
	if err := im.file(path, data, true); err != nil {
		return nil, err
	}
	return im.finish()
}

type importer struct {
	c          *Config
	main       string
	listener   *Listener
	defaultLn  Listener // from port / bind_address
	useDefault bool
	globalMax  bool // global_max_connections was given
	anonSet    bool
	perLn      bool   // per_listener_settings true
	secSeen    string // where the first security option was, before per_listener_settings
	errs       []string
	logDests   []string
	logTypes   []string
	refusals   []refusal // unsupported features, settled at the end
	plugin     string    // the last plugin, for its options
	bridge     string    // the bridge section being read
}

func (im *importer) file(path string, data []byte, top bool) error {
	lines := strings.Split(string(data), "\n")
	for i, raw := range lines {
		line := strings.TrimRight(raw, "\r\n")
		if line == "" || line[0] == '#' {
			continue
		}
		where := fmt.Sprintf("%s:%d", path, i+1)
		toks := strings.FieldsFunc(line, func(r rune) bool { return r == ' ' })
		if len(toks) == 0 {
			continue
		}
		key := toks[0]
		rest := strings.TrimSpace(strings.TrimPrefix(strings.TrimLeft(line, " "), key))
		if key == "include_dir" {
			if !top {
				im.errs = append(im.errs, where+": include_dir: only allowed in the main configuration file")
				continue
			}
			if err := im.includeDir(where, rest); err != nil {
				im.errs = append(im.errs, err.Error())
			}
			continue
		}
		if err := im.directive(where, key, toks[1:], rest); err != nil {
			im.errs = append(im.errs, fmt.Sprintf("%s: %s: %v", where, key, err))
		}
	}
	return nil
}

func (im *importer) includeDir(where, dir string) error {
	if dir == "" {
		return fmt.Errorf("%s: include_dir: missing directory", where)
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(filepath.Dir(im.main), dir)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("%s: include_dir: %v", where, err)
	}
	var names []string
	for _, e := range ents {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".conf") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names) // byte order: case-sensitive, like Mosquitto
	for _, n := range names {
		p := filepath.Join(dir, n)
		if abs, _ := filepath.Abs(p); abs != "" {
			if m, _ := filepath.Abs(im.main); m == abs {
				return fmt.Errorf("%s: include_dir: %s contains the main configuration file", where, dir)
			}
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("%s: include_dir: %v", where, err)
		}
		im.file(p, data, false)
	}
	return nil
}

func parseBool(args []string) (bool, error) {
	if len(args) != 1 {
		return false, fmt.Errorf("expected true or false")
	}
	switch args[0] {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, fmt.Errorf("expected true or false, got %q", args[0])
}

// parseInt follows Mosquitto 2.1: strtol base 0, no trailing junk.
func parseInt(args []string) (int, error) {
	if len(args) != 1 {
		return 0, fmt.Errorf("expected one integer")
	}
	v, err := strconv.ParseInt(args[0], 0, 64)
	if err != nil {
		return 0, fmt.Errorf("not an integer: %q", args[0])
	}
	return int(v), nil
}

// note records what an import accepted without acting on. Not inlined:
// it is called from most handlers, and each inlined copy costs text in
// the size-bound MIPS builds.
//
//go:noinline
func (im *importer) note(where, key, what string) {
	im.c.Notes = append(im.c.Notes, where+": "+key+": "+what)
}

// current is the listener that listener-scoped options apply to: the last
// `listener`, or before any, the default listener (opened only when `port`
// or `bind_address` is given).
func (im *importer) current() *Listener {
	if im.listener != nil {
		return im.listener
	}
	return &im.defaultLn
}

// directive applies one line: the handler the directives table names for
// key, or the note the ignored table has for it.
func (im *importer) directive(where, key string, args []string, rest string) error {
	if h := lookupDirective(key); h != nil {
		return h(im, &line{where: where, key: key, args: args, rest: rest})
	}
	if strings.HasPrefix(key, "plugin_opt_") || strings.HasPrefix(key, "auth_opt_") {
		return pluginOption(im, &line{where: where, key: key})
	}
	note := lookupIgnored(key)
	if note == "" {
		return fmt.Errorf("unknown configuration directive")
	}
	im.note(where, key, note)
	return nil
}

// defaultListener is the listener `port` and `bind_address` configure.
func (im *importer) defaultListener() *Listener {
	im.useDefault = true
	return &im.defaultLn
}

func (im *importer) finish() (*Config, error) {
	c := im.c
	im.settle()
	if len(im.errs) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(im.errs, "\n"))
	}
	if im.useDefault {
		c.Listeners = append([]Listener{im.defaultLn}, c.Listeners...)
	} else if d := im.defaultLn; im.perLn && (d.PasswordFile != nil || d.ACLFile != nil || d.AllowAnonymous != nil ||
		d.AllowZeroLengthClientID != nil || d.AutoIDPrefix != nil) {
		c.Notes = append(c.Notes, c.Source+": per_listener_settings: security options before the first listener belong to the default listener (port), which is not configured; ignored")
	}
	var kept []Listener
	for _, l := range c.Listeners {
		if l.Protocol == "skip" {
			continue
		}
		kept = append(kept, l)
	}
	c.Listeners = kept
	// Mosquitto's max_connections is per listener and it has no global cap
	// (before 2.1): make midge's global cap room for the listeners' sum.
	sum := 0
	for _, l := range c.Listeners {
		if l.MaxConnections == 0 {
			sum = 0
			break
		}
		sum += l.MaxConnections
	}
	if !im.globalMax && sum > c.MaxConnections {
		c.MaxConnections = sum
	}
	if len(c.Listeners) == 0 {
		// Mosquitto 2 "local only mode": no listener configured.
		c.Listeners, c.LocalOnly = Default().Listeners, true
		if !im.anonSet {
			c.AllowAnonymous = true
		}
		c.Notes = append(c.Notes, c.Source+": no listener configured: local only mode on 127.0.0.1:1883")
	} else if !im.anonSet {
		c.AllowAnonymous = false // Mosquitto 2: false once a listener is configured
	}
	if len(im.logDests) > 0 {
		c.Log.Dest = im.logDests
	}
	if len(im.logTypes) > 0 {
		c.Log.Types = im.logTypes
	}
	return c, nil
}

// parseMosquittoDuration reads persistent_client_expiration's "<n><unit>"
// with units s (2.1), h, d, w, m (months of 30 days) and y (365 days).
func parseMosquittoDuration(s string) (time.Duration, error) {
	if len(s) < 2 {
		return 0, fmt.Errorf("expected a number and a unit (h, d, w, m, y), got %q", s)
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n < 0 {
		return 0, fmt.Errorf("expected a number and a unit (h, d, w, m, y), got %q", s)
	}
	unit := map[byte]time.Duration{'s': time.Second, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour,
		'm': 30 * 24 * time.Hour, 'y': 365 * 24 * time.Hour}[s[len(s)-1]]
	if unit == 0 {
		return 0, fmt.Errorf("unknown unit in %q (h, d, w, m, y)", s)
	}
	return time.Duration(n) * unit, nil
}
