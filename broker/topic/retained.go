package topic

import "bytes"

// Retained stores one value per topic name and finds the values whose topic
// matches a subscription filter.
type Retained[V any] struct {
	root  rnode[V]
	count int
}

type rnode[V any] struct {
	parent   *rnode[V]
	name     string
	children map[string]*rnode[V]
	value    V
	has      bool
}

// Len is the number of retained values.
func (r *Retained[V]) Len() int { return r.count }

// Set stores v for topic, returning the value it replaced.
func (r *Retained[V]) Set(topic []byte, v V) (old V, replaced bool) {
	n := &r.root
	forLevels(topic, func(lvl []byte) {
		c := n.children[string(lvl)]
		if c == nil {
			if n.children == nil {
				n.children = make(map[string]*rnode[V])
			}
			c = &rnode[V]{parent: n, name: string(lvl)}
			n.children[c.name] = c
		}
		n = c
	})
	old, replaced = n.value, n.has
	n.value, n.has = v, true
	if !replaced {
		r.count++
	}
	return old, replaced
}

// Get returns the value stored for topic.
func (r *Retained[V]) Get(topic []byte) (v V, ok bool) {
	n := r.find(topic)
	if n == nil || !n.has {
		return v, false
	}
	return n.value, true
}

func (r *Retained[V]) find(topic []byte) *rnode[V] {
	n := &r.root
	forLevels(topic, func(lvl []byte) {
		if n != nil {
			n = n.children[string(lvl)]
		}
	})
	return n
}

// Delete removes topic's value, returning it.
func (r *Retained[V]) Delete(topic []byte) (old V, ok bool) {
	n := r.find(topic)
	if n == nil || !n.has {
		return old, false
	}
	old = n.value
	var zero V
	n.value, n.has = zero, false
	r.count--
	for n.parent != nil && !n.has && len(n.children) == 0 {
		delete(n.parent.children, n.name)
		n = n.parent
	}
	return old, true
}

// Match calls fn for every value whose topic matches filter. A wildcard in
// the first level does not match topics starting with '$' [MQTT-4.7.2-1].
func (r *Retained[V]) Match(filter []byte, fn func(V)) {
	r.match(&r.root, filter, true, fn)
}

func (r *Retained[V]) match(n *rnode[V], filter []byte, first bool, fn func(V)) {
	lvl, rest, last := filter, []byte(nil), true
	if i := bytes.IndexByte(filter, '/'); i >= 0 {
		lvl, rest, last = filter[:i], filter[i+1:], false
	}
	switch string(lvl) {
	case "#":
		// '#' matches the parent level itself and everything below.
		if n != &r.root && n.has {
			fn(n.value)
		}
		for name, c := range n.children {
			if first && len(name) > 0 && name[0] == '$' {
				continue
			}
			r.all(c, fn)
		}
	case "+":
		for name, c := range n.children {
			if first && len(name) > 0 && name[0] == '$' {
				continue
			}
			r.step(c, rest, last, fn)
		}
	default:
		if c := n.children[string(lvl)]; c != nil {
			r.step(c, rest, last, fn)
		}
	}
}

func (r *Retained[V]) step(c *rnode[V], rest []byte, last bool, fn func(V)) {
	if last {
		if c.has {
			fn(c.value)
		}
		return
	}
	r.match(c, rest, false, fn)
}

func (r *Retained[V]) all(n *rnode[V], fn func(V)) {
	if n.has {
		fn(n.value)
	}
	for _, c := range n.children {
		r.all(c, fn)
	}
}

// Each calls fn for every stored value.
func (r *Retained[V]) Each(fn func(V)) { r.all(&r.root, fn) }
