// Package topic holds the subscription tree and the retained message tree.
//
// Both are owned by the broker's event loop and are not safe for concurrent
// use. Matching allocates nothing once the caller's result slice has grown
// to the fan-out it needs.
package topic

import (
	"bytes"
	"unsafe"
)

// Options are the subscription options of one subscription.
type Options struct {
	QoS               byte
	NoLocal           bool
	RetainAsPublished bool
	RetainHandling    byte
	SubID             uint32 // 0 = none
}

// Match is one subscriber a topic matched.
type Match[K comparable] struct {
	_       [0]func() // not comparable: no equality function is linked
	Key     K
	Options Options
	Shared  bool // chosen from a $share group
}

type entry[K comparable] struct {
	key  K
	opts Options
}

type shareGroup[K comparable] struct {
	members []entry[K]
	next    int
}

type node[K comparable] struct {
	parent   *node[K]
	name     string
	children map[string]*node[K]
	subs     []entry[K]
	shared   map[string]*shareGroup[K]
}

func (n *node[K]) empty() bool {
	return len(n.children) == 0 && len(n.subs) == 0 && len(n.shared) == 0
}

// Tree is a subscription tree keyed by subscriber K (the broker's session).
type Tree[K comparable] struct {
	root node[K]
	// Online reports whether a shared-subscription member can take a message
	// now; members for which it is false are skipped by the round robin.
	Online func(K) bool
	count  int
}

// Len is the number of subscriptions (shared members included).
func (t *Tree[K]) Len() int { return t.count }

// Subscribe adds or replaces key's subscription to filter (a valid filter,
// checked by the caller). For a shared subscription group is the share name
// and filter the part after it. It reports whether the subscription existed.
//
// The tree keeps views of filter's and group's bytes as its level and group
// names rather than copies (a long filter would otherwise be held twice):
// the caller must never modify them afterwards.
func (t *Tree[K]) Subscribe(group, filter []byte, key K, opts Options) (existed bool) {
	n := &t.root
	forLevels(filter, func(lvl []byte) {
		c := n.children[string(lvl)]
		if c == nil {
			if n.children == nil {
				n.children = make(map[string]*node[K])
			}
			c = &node[K]{parent: n, name: view(lvl)}
			n.children[c.name] = c
		}
		n = c
	})
	list := &n.subs
	if group != nil {
		if n.shared == nil {
			n.shared = make(map[string]*shareGroup[K])
		}
		g := n.shared[string(group)]
		if g == nil {
			g = &shareGroup[K]{}
			n.shared[view(group)] = g
		}
		list = &g.members
	}
	for i := range *list {
		if (*list)[i].key == key {
			(*list)[i].opts = opts
			return true
		}
	}
	*list = append(*list, entry[K]{key, opts})
	t.count++
	return false
}

// Unsubscribe removes key's subscription to filter (in group, for a shared
// one) and reports whether there was one.
func (t *Tree[K]) Unsubscribe(group, filter []byte, key K) bool {
	n := &t.root
	forLevels(filter, func(lvl []byte) {
		if n != nil {
			n = n.children[string(lvl)]
		}
	})
	if n == nil {
		return false
	}
	list := &n.subs
	var g *shareGroup[K]
	if group != nil {
		if g = n.shared[string(group)]; g == nil {
			return false
		}
		list = &g.members
	}
	found := false
	for i := range *list {
		if (*list)[i].key == key {
			last := len(*list) - 1
			copy((*list)[i:], (*list)[i+1:])
			(*list)[last] = entry[K]{}
			*list = (*list)[:last]
			found = true
			t.count--
			break
		}
	}
	if g != nil && len(g.members) == 0 {
		delete(n.shared, string(group))
	} else if g != nil && g.next >= len(g.members) {
		g.next = 0
	}
	t.prune(n)
	return found
}

// prune removes empty nodes from n upward.
func (t *Tree[K]) prune(n *node[K]) {
	for n != nil && n.parent != nil && n.empty() {
		delete(n.parent.children, n.name)
		n = n.parent
	}
}

// forLevels calls fn for each '/'-separated level of b, empty levels included.
func forLevels(b []byte, fn func(lvl []byte)) {
	for {
		i := bytes.IndexByte(b, '/')
		if i < 0 {
			fn(b)
			return
		}
		fn(b[:i])
		b = b[i+1:]
	}
}

// Match appends to dst every subscription matching topic and returns it.
// Topics starting with '$' are not matched by a wildcard in the first level
// [MQTT-4.7.2-1]. One member is chosen per matching shared group, round
// robin among those Online reports true for. A subscriber with several
// matching subscriptions appears once per subscription; the caller merges.
func (t *Tree[K]) Match(topic []byte, dst []Match[K]) []Match[K] {
	dollar := len(topic) > 0 && topic[0] == '$'
	return t.match(&t.root, topic, false, dollar, dst)
}

func (t *Tree[K]) match(n *node[K], rest []byte, done, first bool, dst []Match[K]) []Match[K] {
	if done {
		dst = t.collect(n, dst)
		// "a/#" also matches "a" [MQTT-4.7.1-2].
		if c := n.children["#"]; c != nil {
			dst = t.collect(c, dst)
		}
		return dst
	}
	lvl, next, end := rest, []byte(nil), true
	if i := bytes.IndexByte(rest, '/'); i >= 0 {
		lvl, next, end = rest[:i], rest[i+1:], false
	}
	if c := n.children[string(lvl)]; c != nil {
		dst = t.match(c, next, end, false, dst)
	}
	if first {
		return dst
	}
	if c := n.children["+"]; c != nil {
		dst = t.match(c, next, end, false, dst)
	}
	if c := n.children["#"]; c != nil {
		dst = t.collect(c, dst)
	}
	return dst
}

func (t *Tree[K]) collect(n *node[K], dst []Match[K]) []Match[K] {
	for _, e := range n.subs {
		dst = append(dst, Match[K]{Key: e.key, Options: e.opts})
	}
	for _, g := range n.shared {
		m := len(g.members)
		for i := 0; i < m; i++ {
			e := g.members[(g.next+i)%m]
			if t.Online == nil || t.Online(e.key) {
				g.next = (g.next + i + 1) % m
				dst = append(dst, Match[K]{Key: e.key, Options: e.opts, Shared: true})
				break
			}
		}
	}
	return dst
}

// Walk calls fn for every subscription, with its full filter (shared ones
// as "$share/<group>/<filter>"), for diagnostics.
func (t *Tree[K]) Walk(fn func(filter string, key K, opts Options)) {
	var walk func(n *node[K], path string)
	walk = func(n *node[K], path string) {
		for _, e := range n.subs {
			fn(path, e.key, e.opts)
		}
		for name, g := range n.shared {
			for _, e := range g.members {
				fn("$share/"+name+"/"+path, e.key, e.opts)
			}
		}
		for name, c := range n.children {
			p := name
			if n != &t.root {
				p = path + "/" + name
			}
			walk(c, p)
		}
	}
	walk(&t.root, "")
}

// view is b as a string without a copy; b must never change afterwards.
func view(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
