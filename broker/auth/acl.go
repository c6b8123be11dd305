package auth

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
)

// Access is what an ACL rule grants or denies.
type Access uint8

const (
	Read  Access = 1
	Write Access = 2
	// Subscribe checks use Read: a client may subscribe to what it may read.
)

type rule struct {
	filter  string
	access  Access // Read|Write
	deny    bool
	pattern bool // %c / %u substitution
}

// ACL is a parsed Mosquitto ACL file.
type ACL struct {
	anonymous []rule            // topic lines before the first user line
	users     map[string][]rule // topic lines after "user <name>"
	patterns  []rule            // pattern lines: every client
}

// LoadACL reads a Mosquitto ACL file.
func LoadACL(path string) (*ACL, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseACL(path, data)
}

// ParseACL parses ACL file content with Mosquitto's grammar: '#' comments
// in column 0; `topic [read|write|readwrite|deny] <filter>` (anonymous
// before any `user` line, that user's after it); `user <name>` (the rest of
// the line); `pattern [access] <filter with %c/%u>` for everyone. Any other
// keyword, or an invalid filter, is an error naming file and line.
func ParseACL(name string, data []byte) (*ACL, error) {
	a := &ACL{users: map[string][]rule{}}
	var user *string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" || line[0] == '#' {
			continue
		}
		trimmed := strings.TrimLeft(line, " \t")
		if trimmed == "" {
			continue
		}
		kw, rest, _ := strings.Cut(trimmed, " ")
		rest = strings.TrimSpace(rest)
		switch kw {
		case "user":
			if rest == "" {
				return nil, fmt.Errorf("%s:%d: user without a name", name, n)
			}
			u := rest
			user = &u
		case "topic", "pattern":
			r, err := parseRule(rest)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %v", name, n, err)
			}
			switch {
			case kw == "pattern":
				r.pattern = true
				a.patterns = append(a.patterns, r)
			case user == nil:
				a.anonymous = append(a.anonymous, r)
			default:
				a.users[*user] = append(a.users[*user], r)
			}
		default:
			return nil, fmt.Errorf("%s:%d: invalid line (want topic, user or pattern)", name, n)
		}
	}
	return a, sc.Err()
}

func parseRule(rest string) (rule, error) {
	r := rule{access: Read | Write}
	word, filter, ok := strings.Cut(rest, " ")
	switch word {
	case "read":
		r.access = Read
	case "write":
		r.access = Write
	case "readwrite":
	case "deny":
		r.deny = true
	default:
		ok, filter = false, rest
	}
	if ok {
		filter = strings.TrimSpace(filter)
	}
	if filter == "" || !validFilter(filter) {
		return r, fmt.Errorf("invalid topic filter %q", filter)
	}
	r.filter = filter
	return r, nil
}

func validFilter(f string) bool {
	levels := strings.Split(f, "/")
	for i, l := range levels {
		if l == "#" && i != len(levels)-1 {
			return false
		}
		if strings.Contains(l, "#") && l != "#" || strings.Contains(l, "+") && l != "+" {
			return false
		}
	}
	return true
}

// Allowed reports whether a client may read (receive, subscribe) or write
// (publish) topic. user is "" for an anonymous client. Deny rules are
// checked before grants. A client id or user name containing '+', '#' or
// '/' never fills a %c/%u pattern, so it cannot widen one.
func (a *ACL) Allowed(clientID, user string, anonymous bool, topic string, access Access) bool {
	var rules []rule
	if anonymous {
		rules = a.anonymous
	} else {
		rules = a.users[user]
	}
	grant := false
	check := func(r rule, filter string) bool { // returns true when a deny matched
		if r.access&access == 0 && !r.deny {
			return false
		}
		if !Match(filter, topic) {
			return false
		}
		if r.deny {
			return true
		}
		grant = true
		return false
	}
	for _, r := range rules {
		if r.deny && check(r, r.filter) {
			return false
		}
	}
	for _, r := range a.patterns {
		f, ok := substitute(r.filter, clientID, user, anonymous)
		if ok && r.deny && check(r, f) {
			return false
		}
	}
	for _, r := range rules {
		if !r.deny {
			check(r, r.filter)
		}
	}
	for _, r := range a.patterns {
		if f, ok := substitute(r.filter, clientID, user, anonymous); ok && !r.deny {
			check(r, f)
		}
	}
	return grant
}

// substitute fills %c and %u; each must be a whole level, and a value with
// '+', '#' or '/' (or an anonymous client's missing user name) does not match.
func substitute(filter, clientID, user string, anonymous bool) (string, bool) {
	if !strings.Contains(filter, "%") {
		return filter, true
	}
	levels := strings.Split(filter, "/")
	for i, l := range levels {
		switch l {
		case "%c":
			if clientID == "" || strings.ContainsAny(clientID, "+#/") {
				return "", false
			}
			levels[i] = clientID
		case "%u":
			if anonymous || user == "" || strings.ContainsAny(user, "+#/") {
				return "", false
			}
			levels[i] = user
		}
	}
	return strings.Join(levels, "/"), true
}

// Match reports whether topic matches filter (MQTT wildcards; a filter
// starting with a wildcard does not match a topic starting with '$').
func Match(filter, topic string) bool {
	if len(topic) > 0 && topic[0] == '$' && len(filter) > 0 && (filter[0] == '+' || filter[0] == '#') {
		return false
	}
	for {
		f, frest, fmore := strings.Cut(filter, "/")
		t, trest, tmore := strings.Cut(topic, "/")
		switch f {
		case "#":
			return true
		case "+":
		default:
			if f != t {
				return false
			}
		}
		if !fmore || !tmore {
			if !fmore && !tmore {
				return true
			}
			return fmore && frest == "#" // "a/#" matches "a"
		}
		filter, topic = frest, trest
	}
}

// MatchFilter reports whether every topic a subscription filter can match
// is within an ACL filter: `secret/#` is within `secret/#` and `#`, not
// within `secret/a`.
func MatchFilter(acl, sub string) bool {
	if len(sub) > 0 && sub[0] == '$' || !strings.ContainsAny(sub, "+#") {
		return Match(acl, sub)
	}
	al := strings.Split(acl, "/")
	sl := strings.Split(sub, "/")
	for i, s := range sl {
		if i >= len(al) {
			return false
		}
		a := al[i]
		switch {
		case a == "#":
			return true
		case s == "#":
			return false // the subscription reaches deeper than the ACL filter allows
		case a == "+":
		case s == "+":
			return false
		case a != s:
			return false
		}
	}
	return len(al) == len(sl) || (len(al) == len(sl)+1 && al[len(al)-1] == "#")
}

// AllowedFilter reports whether a client may subscribe to filter: read
// access to everything it can match.
func (a *ACL) AllowedFilter(clientID, user string, anonymous bool, filter string) bool {
	if !strings.ContainsAny(filter, "+#") {
		return a.Allowed(clientID, user, anonymous, filter, Read)
	}
	var rules []rule
	if anonymous {
		rules = a.anonymous
	} else {
		rules = a.users[user]
	}
	grant := false
	for _, r := range rules {
		if r.deny && Match(r.filter, filter) {
			return false
		}
		if !r.deny && r.access&Read != 0 && MatchFilter(r.filter, filter) {
			grant = true
		}
	}
	for _, r := range a.patterns {
		f, ok := substitute(r.filter, clientID, user, anonymous)
		if !ok {
			continue
		}
		if r.deny && Match(f, filter) {
			return false
		}
		if !r.deny && r.access&Read != 0 && MatchFilter(f, filter) {
			grant = true
		}
	}
	return grant
}
