package broker_test

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"midge/broker"
	"midge/broker/config"
	"midge/internal/testutil"
)

// field finds the struct field of c with TOML key ("log.dest" style); in a
// list of tables ("listener.acl_file") it is the first table's.
func field(c *config.Config, key string) reflect.Value {
	v := reflect.ValueOf(c).Elem()
	for _, part := range strings.Split(key, ".") {
		if v.Kind() == reflect.Slice {
			v = v.Index(0)
		}
		t := v.Type()
		found := false
		for i := 0; i < t.NumField(); i++ {
			if strings.Split(t.Field(i).Tag.Get("toml"), ",")[0] == part {
				v, found = v.Field(i), true
				break
			}
		}
		if !found {
			panic("no field " + key)
		}
	}
	return v
}

// authFiles are valid password and ACL files for the reload test.
var authFiles = map[string]string{}

// changed sets the field to another valid value.
func changed(key string, f reflect.Value) {
	if f.Kind() == reflect.Pointer { // a listener's own value: set it
		f.Set(reflect.New(f.Type().Elem()))
		if k, ok := strings.CutPrefix(key, "listener."); ok {
			key = k
		}
		f = f.Elem()
	}
	switch {
	case key == "password_file" || key == "acl_file" || key == "jwt_key_file":
		f.SetString(authFiles[key])
	case key == "overflow_policy":
		f.SetString("reject")
	case key == "log.dest":
		f.Set(reflect.ValueOf([]string{"none"}))
	case key == "log.types":
		f.Set(reflect.ValueOf([]string{"error"}))
	case f.Type() == reflect.TypeOf(config.Duration(0)):
		f.SetInt(f.Int() + int64(time.Second))
	case f.Kind() == reflect.Int:
		if f.Int() > 1 {
			f.SetInt(f.Int() - 1)
		} else {
			f.SetInt(f.Int() + 1)
		}
	case f.Kind() == reflect.Bool:
		f.SetBool(!f.Bool())
	case f.Kind() == reflect.String:
		f.SetString(f.String() + "x/")
	default:
		panic("no change rule for " + key)
	}
}

// Every reloadable key takes effect on reload; the others keep their value
// and are reported; an invalid file changes nothing.
func TestReloadEveryReloadableField(t *testing.T) {
	keys := config.ReloadableKeys()
	if len(keys) < 25 {
		t.Fatalf("only %d reloadable keys: %v", len(keys), keys)
	}
	dir := t.TempDir()
	authFiles["password_file"] = filepath.Join(dir, "pw")
	authFiles["acl_file"] = filepath.Join(dir, "acl")
	os.WriteFile(authFiles["password_file"], []byte("u:$6$QUJDREVGR0hJSktM$"+strings.Repeat("A", 86)+"==\n"), 0o600)
	os.WriteFile(authFiles["acl_file"], []byte("topic readwrite #\n"), 0o600)
	authFiles["jwt_key_file"] = filepath.Join(dir, "jwt")
	os.WriteFile(authFiles["jwt_key_file"], []byte("a shared secret of at least thirty-two bytes"), 0o600)
	var logbuf bytes.Buffer
	b, _ := testutil.StartBroker(t, nil)
	b.Logger().SetOutput(&logbuf)
	for _, key := range keys {
		if k := strings.TrimPrefix(key, "listener."); authFiles[k] != "" && !broker.AuthCompiled {
			continue // built without password, ACL and JWT files
		}
		var cur *config.Config
		b.Call(func() { cur = b.Config() })
		next := *cur
		next.Listeners = append([]config.Listener(nil), cur.Listeners...)
		changed(key, field(&next, key))
		want := field(&next, key).Interface()
		if err := b.Reload(&next); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		b.Call(func() { cur = b.Config() })
		if got := field(cur, key).Interface(); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: after reload %v, want %v", key, got, want)
		}
	}
	var cur *config.Config
	b.Call(func() { cur = b.Config() })
	next := *cur
	next.Listeners = []config.Listener{{Port: 1, BindAddress: "127.0.0.1", Protocol: "mqtt"}}
	next.MaxConnections = 7
	next.Log.Types = []string{"all"}
	b.Reload(&next)
	b.Call(func() { cur = b.Config() })
	if cur.Listeners[0].Port == 1 || cur.MaxConnections == 7 {
		t.Fatal("a restart-only key was applied by a reload")
	}
	testutil.Eventually(t, time.Second, "restart-only keys logged", func() bool {
		return strings.Contains(logbuf.String(), "reload: listener changed but needs a restart") &&
			strings.Contains(logbuf.String(), "reload: max_connections changed")
	})
	bad := *cur
	bad.MaxQueuedMessages = -1
	bad.MaxKeepalive = 5
	if err := b.Reload(&bad); err == nil {
		t.Fatal("an invalid configuration was accepted")
	}
	b.Call(func() { cur = b.Config() })
	if cur.MaxKeepalive == 5 {
		t.Fatal("part of an invalid configuration was applied")
	}
}

// $SYS: values with Mosquitto's names while someone subscribes, sent at
// once to a new subscriber.
func TestSysTopics(t *testing.T) {
	_, addr := testutil.StartBroker(t, func(c *config.Config) { c.SysInterval = config.Duration(time.Second) })
	c := dial5(t, addr, &paho.Connect{ClientID: "sys", CleanStart: true})
	c.sub(t, paho.SubscribeOptions{Topic: "$SYS/#", QoS: 0})
	seen := map[string]string{}
	deadline := time.After(3 * time.Second)
	for len(seen) < 30 {
		select {
		case m := <-c.msgs:
			seen[m.Topic] = string(m.Payload)
		case <-deadline:
			t.Fatalf("only %d $SYS topics: %v", len(seen), seen)
		}
	}
	for topic, want := range map[string]string{
		"$SYS/broker/version":                "midge version " + broker.Version,
		"$SYS/broker/clients/connected":      "1",
		"$SYS/broker/subscriptions/count":    "1",
		"$SYS/broker/midge/drops/queue_full": "0",
	} {
		if seen[topic] != want {
			t.Errorf("%s = %q, want %q", topic, seen[topic], want)
		}
	}
	for _, topic := range []string{"$SYS/broker/uptime", "$SYS/broker/bytes/received", "$SYS/broker/heap/current",
		"$SYS/broker/publish/messages/dropped", "$SYS/broker/retained messages/count", "$SYS/broker/midge/memory/used"} {
		if _, ok := seen[topic]; !ok {
			t.Errorf("%s missing", topic)
		}
	}
	// Load averages appear from the second period on.
	testutil.Eventually(t, 3*time.Second, "load averages", func() bool {
		for len(c.msgs) > 0 {
			m := <-c.msgs
			seen[m.Topic] = string(m.Payload)
		}
		_, ok := seen["$SYS/broker/load/messages/received/1min"]
		return ok
	})
}

// syncWriter serialises writes from the broker's logger for a test's reads.
type syncWriter struct {
	mu sync.Mutex
	b  *strings.Builder
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}
