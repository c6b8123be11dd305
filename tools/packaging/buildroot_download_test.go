package packaging

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"midge/broker"
)

// The Buildroot package is fetched with git and vendored at download time,
// with a .hash file; local development goes through MIDGE_OVERRIDE_SRCDIR.
func TestBuildrootGitSite(t *testing.T) {
	mk := read(t, "buildroot/package/midge/midge.mk")
	if m := variable(t, "midge.mk", mk, "MIDGE_SITE_METHOD"); m != "git" {
		t.Errorf("MIDGE_SITE_METHOD %s: only a download vendors the modules", m)
	}
	if s := variable(t, "midge.mk", mk, "MIDGE_SITE"); s != "$(BR2_EXTERNAL_MIDGE_PATH)/.." {
		t.Errorf("MIDGE_SITE %s", s)
	}
	mustContain(t, "midge.mk", mk, "MIDGE_OVERRIDE_SRCDIR")
	hash := read(t, "buildroot/package/midge/midge.hash")
	for _, line := range strings.Split(hash, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if len(f) != 3 || f[0] != "sha256" || len(f[1]) != 64 || f[2] != "midge-"+broker.Version+"-git4-go2.tar.gz" {
			t.Errorf("midge.hash: %q is not a sha256 line for this version's git+go tarball", line)
		}
	}
	mustContain(t, "docs/packaging.md", read(t, "docs/packaging.md"), "MIDGE_OVERRIDE_SRCDIR", "buildroot-hash.sh")
}

// What Buildroot does with the package, offline: a fresh clone (no
// vendor/), `go mod vendor` as its download post-process does, then its
// build command (-mod=vendor, GOPROXY=off, GOTOOLCHAIN=local) with
// MIDGE_LDFLAGS, MIDGE_TAGS and MIDGE_GO_ENV. The modules come from the
// local module cache.
func TestBuildrootDownloadAndBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the broker")
	}
	mk := read(t, "buildroot/package/midge/midge.mk")
	version := variable(t, "midge.mk", mk, "MIDGE_VERSION")
	ldflags := strings.ReplaceAll(variable(t, "midge.mk", mk, "MIDGE_LDFLAGS"), "$(MIDGE_VERSION)", version)
	tags := variable(t, "midge.mk", mk, "MIDGE_TAGS")
	goenv := strings.Fields(variable(t, "midge.mk", mk, "MIDGE_GO_ENV"))
	target := variable(t, "midge.mk", mk, "MIDGE_BUILD_TARGETS")

	abs, _ := filepath.Abs(root)
	src := filepath.Join(t.TempDir(), "midge-"+version)
	run := func(dir string, env []string, name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	if exec.Command("git", "-C", abs, "rev-parse", "--git-dir").Run() == nil {
		run(abs, nil, "git", "clone", "-q", "--no-hardlinks", abs, src)
	} else { // a source tree without git: its Go source, as a clone would have it
		for _, d := range []string{"cmd", "broker", "platform", "persist", "hw", "board-configs", "internal"} {
			if err := os.CopyFS(filepath.Join(src, d), os.DirFS(filepath.Join(abs, d))); err != nil {
				t.Fatal(err)
			}
		}
		for _, f := range []string{"go.mod", "go.sum"} {
			b, _ := os.ReadFile(filepath.Join(abs, f))
			os.WriteFile(filepath.Join(src, f), b, 0o644)
		}
	}
	if dirExists(filepath.Join(src, "vendor")) {
		t.Fatal("the repository carries vendor/: Buildroot would not vendor it")
	}
	run(src, []string{"GOFLAGS=-mod=mod", "GOPROXY=off"}, "go", "mod", "vendor")
	bin := filepath.Join(t.TempDir(), "midge")
	env := append([]string{"GOFLAGS=-mod=vendor", "GOPROXY=off", "GOTOOLCHAIN=local"}, goenv...)
	run(src, env, "go", "build", "-ldflags", ldflags, "-modcacherw", "-tags", tags, "-trimpath", "-buildvcs=false",
		"-o", bin, "midge/"+target)
	if out := run(src, nil, bin, "version"); !strings.Contains(out, version) {
		t.Errorf("midge version: %q, want %s", out, version)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s has an ELF interpreter: not the static binary", bin)
		}
	}
}
