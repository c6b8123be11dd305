package auth

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestEncodeAndCheckEveryMethod(t *testing.T) {
	for _, m := range []string{SHA512, SHA512PBKDF2, Argon2id} {
		h, err := Encode(m, []byte("s3cret"))
		if err != nil {
			t.Fatal(err)
		}
		p, err := ParsePasswords("t", []byte("# comment\nnocolon\n alice : "+h+"\n"))
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		if !p.Check("alice", []byte("s3cret")) || p.Check("alice", []byte("wrong")) || p.Check("bob", []byte("s3cret")) {
			t.Fatalf("%s: check failed", m)
		}
	}
}

// An entry midge cannot use is skipped with a warning naming file and line,
// and the other users still log in, as Mosquitto does: a headless device
// must not stay down because of one bad line. Absurd hash parameters are
// the same case.
func TestPasswordFileBadEntriesSkipped(t *testing.T) {
	good, err := Encode(SHA512PBKDF2, []byte("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	salt := "$QUJDREVGR0hJSktM$" + strings.Repeat("A", 86) + "=="
	data := strings.Join([]string{
		"plain:hunter2",          // 1: plaintext (a broker built without TLS)
		"alice:" + good,          // 2
		"md5:$1$salt$hash",       // 3: another scheme
		"slow:$7$2000000" + salt, // 4: too many iterations
		"big:$argon2id$v=19$m=524288,t=1,p=1$c2FsdHNhbHQ$" + strings.Repeat("A", 43), // 5: 512 MiB
		" : " + good,      // 6: no user name
		"broken:$6$!!!$x", // 7
		"# comment",
		"bob:" + good, // 9
	}, "\n")
	path := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := LoadPasswords(path)
	if err != nil {
		t.Fatal(err)
	}
	if p.Len() != 2 || !p.Check("alice", []byte("s3cret")) || !p.Check("bob", []byte("s3cret")) || p.Check("plain", []byte("hunter2")) {
		t.Fatalf("%d users; alice and bob must log in, plain not", p.Len())
	}
	w := strings.Join(p.Warnings(), "\n")
	for _, want := range []string{
		path + `:1: user "plain": unknown hash format (want $6$, $7$ or $argon2id$); entry skipped, this user cannot log in`,
		path + `:3: user "md5": unknown hash format`,
		path + `:4: user "slow": $7$ iterations 2000000 above the 1000000 midge accepts; entry skipped`,
		path + `:5: user "big": $argon2id$ m=524288,t=1 above the m=262144,t=64 midge accepts; entry skipped`,
		path + `:6: empty user name; entry skipped`,
		path + `:7: user "broken": bad $6$ hash; entry skipped`,
	} {
		if !strings.Contains(w, want) {
			t.Errorf("warnings lack %q:\n%s", want, w)
		}
	}
	if len(p.Warnings()) != 6 || strings.Contains(w, "hunter2") {
		t.Errorf("warnings (no password may appear):\n%s", w)
	}
}

// Files written by Debian's mosquitto_passwd, in every format it writes.
func TestMosquittoPasswdFiles(t *testing.T) {
	bin, err := exec.LookPath("mosquitto_passwd")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("mosquitto_passwd is required in CI")
		}
		t.Skip("mosquitto_passwd not installed")
	}
	dir := t.TempDir()
	for _, method := range []string{"", "sha512", "sha512-pbkdf2"} {
		f := filepath.Join(dir, "pw"+method)
		args := []string{"-c", "-b", f, "user1", "pass1"}
		if method != "" {
			args = append([]string{"-H", method}, args...)
		}
		if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v %s", method, err, out)
		}
		p, err := LoadPasswords(f)
		if err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		if !p.Check("user1", []byte("pass1")) || p.Check("user1", []byte("pass2")) {
			t.Fatalf("%s: mosquitto_passwd's hash not verified", method)
		}
	}
}

func TestACL(t *testing.T) {
	a, err := ParseACL("acl", []byte(`# anonymous
topic read public/#
topic deny public/secret

user alice
topic readwrite alice/#
topic read shared/+
topic deny shared/private
topic $SYS/broker/uptime

user bob smith
topic write inbox/bob

pattern readwrite devices/%c/#
pattern read users/%u/#
`))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		client, user string
		anon         bool
		topic        string
		access       Access
		want         bool
	}{
		{"c", "", true, "public/x", Read, true},
		{"c", "", true, "public/x", Write, false},
		{"c", "", true, "public/secret", Read, false}, // deny before grant
		{"c", "alice", false, "alice/a/b", Write, true},
		{"c", "alice", false, "public/x", Read, false}, // anonymous rules are not alice's
		{"c", "alice", false, "shared/a", Read, true},
		{"c", "alice", false, "shared/private", Read, false},
		{"c", "alice", false, "$SYS/broker/uptime", Read, true},
		{"c", "bob smith", false, "inbox/bob", Write, true},
		{"dev1", "", true, "devices/dev1/temp", Write, true},
		{"dev1", "", true, "devices/dev2/temp", Write, false},
		{"c", "carol", false, "users/carol/x", Read, true},
		{"c", "", true, "users//x", Read, false},
		{"+", "", true, "devices/anything/x", Write, false}, // injection: '+' id
		{"#", "", true, "devices/#/x", Write, false},
		{"c", "#", false, "users/z/x", Read, false},
		{"c", "alice", false, "$SYS/broker/load", Read, false},
	}
	for _, c := range cases {
		if got := a.Allowed(c.client, c.user, c.anon, []byte(c.topic), c.access); got != c.want {
			t.Errorf("%+v: got %v", c, got)
		}
	}
	filters := []struct {
		user, filter string
		want         bool
	}{
		{"alice", "alice/#", true}, {"alice", "#", false}, {"alice", "shared/+", true},
		{"alice", "shared/#", false}, {"alice", "alice/+/x", true},
	}
	for _, f := range filters {
		if got := a.AllowedFilter("c", f.user, false, []byte(f.filter)); got != f.want {
			t.Errorf("subscribe %s as %s: got %v", f.filter, f.user, got)
		}
	}
	for _, bad := range []string{"frob x\n", "topic read a/#/b\n", "user\n"} {
		if _, err := ParseACL("acl", []byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// The ACL is consulted on every delivery: a check allocates nothing, also
// with %c/%u patterns and topics longer than the runtime's small buffers.
func TestACLCheckAllocatesNothing(t *testing.T) {
	a, err := ParseACL("acl", []byte("topic read public/#\nuser alice\ntopic deny alice/secret/#\ntopic readwrite alice/#\npattern readwrite devices/%c/%u/#\n"))
	if err != nil {
		t.Fatal(err)
	}
	topic := []byte("devices/gateway-0042/alice/sensors/temperature/celsius/now")
	other := []byte("alice/a/rather/long/topic/name/beyond/thirty/two/bytes")
	allocs := testing.AllocsPerRun(200, func() {
		if !a.Allowed("gateway-0042", "alice", false, topic, Write) || !a.Allowed("x", "alice", false, other, Read) ||
			a.Allowed("gateway-0043", "alice", false, topic, Write) {
			t.Fatal("wrong answer")
		}
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations per check", allocs)
	}
}

func BenchmarkACLAllowedPattern(b *testing.B) {
	a, _ := ParseACL("acl", []byte("topic read public/#\nuser alice\ntopic readwrite alice/#\npattern readwrite devices/%c/%u/#\n"))
	topic := []byte("devices/gateway-0042/alice/sensors/temperature")
	b.ReportAllocs()
	for b.Loop() {
		a.Allowed("gateway-0042", "alice", false, topic, Write)
	}
}
