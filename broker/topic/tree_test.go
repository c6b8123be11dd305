package topic

import (
	"sort"
	"strings"
	"testing"
)

func keys(ms []Match[string]) string {
	var s []string
	for _, m := range ms {
		s = append(s, m.Key)
	}
	sort.Strings(s)
	return strings.Join(s, ",")
}

func TestMatch(t *testing.T) {
	var tr Tree[string]
	subs := map[string]string{
		"exact": "a/b/c", "plus": "a/+/c", "hash": "a/#", "root": "#", "plus2": "+/+/+",
		"sys": "$SYS/#", "sysplus": "$SYS/+/x", "empty": "a//c", "trail": "a/b/", "plusend": "a/b/+",
	}
	for k, f := range subs {
		tr.Subscribe(nil, []byte(f), k, Options{})
	}
	cases := map[string]string{
		"a/b/c":     "exact,hash,plus,plus2,plusend,root",
		"a":         "hash,root", // [MQTT-4.7.1-2] a/# matches a
		"a/b":       "hash,root",
		"a//c":      "empty,hash,plus,plus2,root",
		"a/b/":      "hash,plus2,plusend,root,trail",
		"$SYS/y/x":  "sys,sysplus", // [MQTT-4.7.2-1] no leading wildcard match
		"$SYS":      "sys",
		"b/c/d/e":   "root",
		"/":         "root",
		"x/$SYS/ab": "plus2,root",
	}
	for topic, want := range cases {
		if got := keys(tr.Match([]byte(topic), nil)); got != want {
			t.Errorf("%q: got %s want %s", topic, got, want)
		}
	}
	if tr.Len() != len(subs) {
		t.Fatalf("len %d", tr.Len())
	}
	for k, f := range subs {
		if !tr.Unsubscribe(nil, []byte(f), k) {
			t.Fatalf("unsubscribe %s", f)
		}
	}
	if !tr.root.empty() || tr.Len() != 0 {
		t.Fatalf("tree not pruned: %+v", tr.root)
	}
}

func TestSharedRoundRobin(t *testing.T) {
	var tr Tree[string]
	online := map[string]bool{"a": true, "b": true, "c": false}
	tr.Online = func(k string) bool { return online[k] }
	for _, k := range []string{"a", "b", "c"} {
		tr.Subscribe([]byte("g"), []byte("t/#"), k, Options{QoS: 1})
	}
	tr.Subscribe(nil, []byte("t/#"), "plain", Options{})
	counts := map[string]int{}
	for i := 0; i < 10; i++ {
		for _, m := range tr.Match([]byte("t/1"), nil) {
			counts[m.Key]++
		}
	}
	if counts["a"] != 5 || counts["b"] != 5 || counts["c"] != 0 || counts["plain"] != 10 {
		t.Fatalf("counts %v", counts)
	}
	// Unsubscribing the shared kind leaves the plain subscription.
	tr.Unsubscribe([]byte("g"), []byte("t/#"), "a")
	if tr.Unsubscribe(nil, []byte("t/#"), "a") {
		t.Fatal("removed a plain subscription that did not exist")
	}
}

func TestRetainedMatch(t *testing.T) {
	var r Retained[string]
	for _, tp := range []string{"a", "a/b", "a/b/c", "a/c", "$SYS/x", "b", "/x"} {
		r.Set([]byte(tp), tp)
	}
	get := func(f string) string {
		var s []string
		r.Match([]byte(f), func(v string) { s = append(s, v) })
		sort.Strings(s)
		return strings.Join(s, ",")
	}
	cases := map[string]string{
		"#": "/x,a,a/b,a/b/c,a/c,b", "a/#": "a,a/b,a/b/c,a/c", "a/+": "a/b,a/c", "+": "a,b",
		"$SYS/#": "$SYS/x", "+/x": "/x", "a/b": "a/b", "+/+/c": "a/b/c",
	}
	for f, want := range cases {
		if got := get(f); got != want {
			t.Errorf("%q: got %s want %s", f, got, want)
		}
	}
	r.Delete([]byte("a/b/c"))
	r.Delete([]byte("a/b"))
	if got := get("a/#"); got != "a,a/c" || r.Len() != 5 {
		t.Fatalf("after delete: %s %d", got, r.Len())
	}
}

func TestMatchAllocatesNothing(t *testing.T) {
	var tr Tree[int]
	for i := 0; i < 100; i++ {
		tr.Subscribe(nil, []byte("sensors/+/temp"), i, Options{})
	}
	tr.Subscribe(nil, []byte("sensors/#"), 1000, Options{})
	dst := make([]Match[int], 0, 256)
	topic := []byte("sensors/kitchen/temp")
	if n := testing.AllocsPerRun(100, func() { dst = tr.Match(topic, dst[:0]) }); n != 0 {
		t.Fatalf("%v allocs", n)
	}
	if len(dst) != 101 {
		t.Fatalf("matched %d", len(dst))
	}
}

func BenchmarkMatch(b *testing.B) {
	var tr Tree[int]
	for i := 0; i < 1000; i++ {
		tr.Subscribe(nil, []byte("site/"+string(rune('a'+i%26))+"/+/temp"), i, Options{})
	}
	tr.Subscribe(nil, []byte("site/#"), -1, Options{})
	dst := make([]Match[int], 0, 64)
	topic := []byte("site/c/kitchen/temp")
	b.ReportAllocs()
	for b.Loop() {
		dst = tr.Match(topic, dst[:0])
	}
}
