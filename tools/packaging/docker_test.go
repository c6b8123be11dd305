package packaging

import (
	"debug/elf"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"midge/broker/config"
)

type instruction struct{ cmd, args string }

// dockerfile splits a Dockerfile into instructions (continuations joined,
// comments dropped) and stages.
func dockerfile(t *testing.T, rel string) [][]instruction {
	var stages [][]instruction
	var cur string
	for _, line := range strings.Split(read(t, rel), "\n") {
		trimmed := strings.TrimSpace(line)
		if cur == "" && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur += strings.TrimSuffix(trimmed, "\\") + " "
			continue
		}
		cur += trimmed
		cmd, args, _ := strings.Cut(cur, " ")
		cur = ""
		in := instruction{strings.ToUpper(cmd), strings.TrimSpace(args)}
		if in.cmd == "FROM" {
			stages = append(stages, nil)
		}
		if len(stages) == 0 {
			t.Fatalf("%s: %s before FROM", rel, in.cmd)
		}
		stages[len(stages)-1] = append(stages[len(stages)-1], in)
	}
	return stages
}

func find(stage []instruction, cmd string) []string {
	var out []string
	for _, in := range stage {
		if in.cmd == cmd {
			out = append(out, in.args)
		}
	}
	return out
}

// Item: a FROM scratch image with the static binary, a non-root user and
// Mosquitto's volume paths. No Docker engine here: the Dockerfile's
// structure is checked, its build command is run on this machine and its
// configuration is loaded.
func TestDockerfile(t *testing.T) {
	const rel = "packaging/docker/Dockerfile"
	stages := dockerfile(t, rel)
	if len(stages) != 2 {
		t.Fatalf("%d stages, want build and scratch", len(stages))
	}
	build, final := stages[0], stages[1]
	gomod := read(t, "go.mod")
	goLine := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(gomod)
	if from := build[0].args; !strings.HasPrefix(from, "golang:"+goLine[1]) || !strings.HasSuffix(from, " AS build") {
		t.Errorf("build stage FROM %s, want golang:%s... AS build", from, goLine[1])
	}
	if final[0].args != "scratch" {
		t.Errorf("final stage FROM %s, want scratch", final[0].args)
	}
	users := find(final, "USER")
	if len(users) != 1 || !regexp.MustCompile(`^[1-9]\d*:[1-9]\d*$`).MatchString(users[0]) {
		t.Errorf("USER %v: want a numeric non-root uid:gid (scratch has no /etc/passwd)", users)
	}
	var entry, cmd []string
	if e := find(final, "ENTRYPOINT"); len(e) != 1 || json.Unmarshal([]byte(e[0]), &entry) != nil || len(entry) != 1 || entry[0] != "/usr/bin/midge" {
		t.Errorf("ENTRYPOINT %v: want [\"/usr/bin/midge\"] (exec form: no shell in scratch)", e)
	}
	if c := find(final, "CMD"); len(c) != 1 || json.Unmarshal([]byte(c[0]), &cmd) != nil || len(cmd) != 2 || cmd[0] != "-c" {
		t.Errorf("CMD %v", c)
	}
	var volumes []string
	if v := find(final, "VOLUME"); len(v) != 1 || json.Unmarshal([]byte(v[0]), &volumes) != nil {
		t.Errorf("VOLUME %v", v)
	}
	if !contains(volumes, "/mosquitto/data") {
		t.Errorf("VOLUME %v lacks /mosquitto/data", volumes)
	}
	if e := find(final, "EXPOSE"); len(e) != 1 || e[0] != "1883" {
		t.Errorf("EXPOSE %v", e)
	}
	copies := strings.Join(find(final, "COPY"), "\n")
	mustContain(t, "final COPY", copies, "--from=build /out/midge /usr/bin/midge", "--from=build --chown="+users[0]+" /out/mosquitto /mosquitto",
		"/etc/ssl/certs/ca-certificates.crt")
	// The build stage's COPY sources exist, and the ignore file keeps
	// vendor/ and build output out of the context.
	for _, c := range find(build, "COPY") {
		f := strings.Fields(c)
		for _, src := range f[:len(f)-1] {
			if _, err := os.Stat(filepath.Join(root, src)); err != nil {
				t.Errorf("COPY %s: %v", src, err)
			}
		}
	}
	ignore := read(t, rel+".dockerignore")
	for _, w := range []string{"vendor", "bin", "dist", ".git"} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(w) + `$`).MatchString(ignore) {
			t.Errorf("Dockerfile.dockerignore lacks %s", w)
		}
	}

	mustContain(t, "docs/packaging.md", read(t, "docs/packaging.md"), "/mosquitto/config", "/mosquitto/data", "packaging/docker/Dockerfile")
	if testing.Short() {
		return
	}
	// The RUN that builds, on this machine, into a temporary /out.
	var run string
	for _, r := range find(build, "RUN") {
		if strings.Contains(r, "go build") {
			run = r
		}
	}
	mustContain(t, "RUN", run, "CGO_ENABLED=0", "-trimpath", "-tags tls", "./cmd/midge", "packaging/docker/midge.toml")
	out := t.TempDir()
	sh := exec.Command("sh", "-c", strings.ReplaceAll(run, "/out/", out+"/"))
	sh.Dir = root
	sh.Env = append(os.Environ(), "TARGETOS=linux", "TARGETARCH="+runtime.GOARCH, "TARGETVARIANT=")
	if b, err := sh.CombinedOutput(); err != nil {
		t.Fatalf("the build stage's RUN: %v\n%s", err, b)
	}
	f, err := elf.Open(filepath.Join(out, "midge"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("the image's midge is dynamically linked: scratch has no libc")
		}
	}
	for _, d := range []string{"config", "data", "log"} {
		if !dirExists(filepath.Join(out, "mosquitto", d)) {
			t.Errorf("/mosquitto/%s not made", d)
		}
	}
	c, err := config.Load(filepath.Join(out, "mosquitto/config/midge.toml"))
	if err != nil {
		t.Fatalf("the image's configuration: %v", err)
	}
	if cmd[1] != "/mosquitto/config/midge.toml" || c.Persistence.Dir != "/mosquitto/data" || c.Listeners[0].BindAddress != "" {
		t.Errorf("CMD %v, persistence in %s, bind %q", cmd, c.Persistence.Dir, c.Listeners[0].BindAddress)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
