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
// '/' never fills a %c/%u pattern, so it cannot widen one. It does not
// allocate: it runs on every delivery.
func (a *ACL) Allowed(clientID, user string, anonymous bool, topic []byte, access Access) bool {
	rules := a.anonymous
	if !anonymous {
		rules = a.users[user]
	}
	sb := newSubst(clientID, user, anonymous)
	applies := func(r *rule) bool {
		if r.access&access == 0 && !r.deny {
			return false
		}
		if r.pattern {
			return match(r.filter, topic, &sb)
		}
		return match(r.filter, topic, nil)
	}
	for _, deny := range [2]bool{true, false} {
		for _, set := range [2][]rule{rules, a.patterns} {
			for i := range set {
				if r := &set[i]; r.deny == deny && applies(r) {
					return !deny
				}
			}
		}
	}
	return false
}

// subst is what fills a pattern's %c and %u levels; a value that is empty
// or holds '+', '#' or '/' fills nothing, so such a level matches nothing.
type subst struct {
	clientID, user string
	cOK, uOK       bool
}

func newSubst(clientID, user string, anonymous bool) subst {
	return subst{clientID, user,
		clientID != "" && !strings.ContainsAny(clientID, "+#/"),
		!anonymous && user != "" && !strings.ContainsAny(user, "+#/")}
}

// substitute fills %c and %u; each must be a whole level, and a value with
// '+', '#' or '/' (or an anonymous client's missing user name) does not match.
func substitute(filter, clientID, user string, anonymous bool) (string, bool) {
	if !strings.Contains(filter, "%") {
		return filter, true
	}
	sb := newSubst(clientID, user, anonymous)
	levels := strings.Split(filter, "/")
	for i, l := range levels {
		switch {
		case l == "%c" && sb.cOK:
			levels[i] = clientID
		case l == "%u" && sb.uOK:
			levels[i] = user
		case l == "%c" || l == "%u":
			return "", false
		}
	}
	return strings.Join(levels, "/"), true
}

// Match reports whether topic matches filter (MQTT wildcards; a filter
// starting with a wildcard does not match a topic starting with '$').
func Match[T string | []byte](filter string, topic T) bool { return match(filter, topic, nil) }

// match is Match with a pattern's %c and %u levels filled from sb (nil:
// they are plain text).
func match[T string | []byte](filter string, topic T, sb *subst) bool {
	if len(topic) > 0 && topic[0] == '$' && len(filter) > 0 && (filter[0] == '+' || filter[0] == '#') {
		return false
	}
	for {
		f, frest, fmore := strings.Cut(filter, "/")
		t, trest, tmore := cut(topic)
		switch {
		case f == "#":
			return true
		case f == "+":
		case sb != nil && f == "%c":
			if !sb.cOK || sb.clientID != string(t) {
				return false
			}
		case sb != nil && f == "%u":
			if !sb.uOK || sb.user != string(t) {
				return false
			}
		case f != string(t):
			return false
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

// cut is strings.Cut(s, "/") for a topic of either type.
func cut[T string | []byte](s T) (before, after T, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return s[:i], s[i+1:], true
		}
	}
	return s, s[len(s):], false
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
func (a *ACL) AllowedFilter(clientID, user string, anonymous bool, filterBytes []byte) bool {
	if !bytes.ContainsAny(filterBytes, "+#") {
		return a.Allowed(clientID, user, anonymous, filterBytes, Read)
	}
	filter := string(filterBytes) // subscribing is rare: allocations are fine here
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
