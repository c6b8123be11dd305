package packet

import "bytes"

// ValidTopicName reports whether b may be used as a PUBLISH topic name:
// non-empty and free of the wildcards '+' and '#' [MQTT-3.3.2-2], [MQTT-4.7.3-1].
// UTF-8 validity is checked by the decoder.
func ValidTopicName(b []byte) bool {
	return len(b) > 0 && bytes.IndexByte(b, '+') < 0 && bytes.IndexByte(b, '#') < 0
}

// ValidTopicFilter reports whether b is a valid subscription filter:
// non-empty [MQTT-4.7.3-1], '#' only as the whole last level [MQTT-4.7.1-1],
// '+' only as a whole level [MQTT-4.7.1-2].
func ValidTopicFilter(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for i, c := range b {
		switch c {
		case '#':
			if i != len(b)-1 || (i > 0 && b[i-1] != '/') {
				return false
			}
		case '+':
			if (i > 0 && b[i-1] != '/') || (i < len(b)-1 && b[i+1] != '/') {
				return false
			}
		}
	}
	return true
}

// SplitShared splits a shared subscription filter "$share/<group>/<filter>"
// into its group and filter; ok is false when b is not a shared filter.
// valid is false for a malformed shared filter: an empty group, a group with
// '+', '#' or '/', or an empty filter (§4.8.2).
func SplitShared(b []byte) (group, filter []byte, ok, valid bool) {
	const prefix = "$share/"
	if len(b) < len(prefix) || string(b[:len(prefix)]) != prefix {
		return nil, nil, false, false
	}
	rest := b[len(prefix):]
	i := bytes.IndexByte(rest, '/')
	if i <= 0 {
		return nil, nil, true, false
	}
	group, filter = rest[:i], rest[i+1:]
	if bytes.ContainsAny(group, "+#") || !ValidTopicFilter(filter) {
		return group, filter, true, false
	}
	return group, filter, true, true
}
