package packaging

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// openWrtSource checks what Build/Prepare copies and how it is built:
// every midge package the binary links, the embedded files (golang-build.sh
// copies only Go sources unless told), vendor/ only when present, modules
// otherwise fetched as the feed's other Go packages do.
func openWrtSource(t *testing.T, mk string) {
	t.Helper()
	trees := strings.Fields(variable(t, "Makefile", mk, "MIDGE_TREES"))
	copied := map[string]bool{}
	for _, d := range trees {
		copied[d] = true
		if !dirExists(root + "/" + d) {
			t.Errorf("MIDGE_TREES names %s, which does not exist", d)
		}
	}
	cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{len .EmbedFiles}}", "./cmd/midge")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	embeds := false
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, n, _ := strings.Cut(line, " ")
		if !strings.HasPrefix(pkg, "midge/") {
			continue
		}
		top, _, _ := strings.Cut(strings.TrimPrefix(pkg, "midge/"), "/")
		if !copied[top] {
			t.Errorf("the binary links %s, but Build/Prepare does not copy %s/", pkg, top)
		}
		embeds = embeds || n != "0"
	}
	if embeds && variable(t, "Makefile", mk, "GO_PKG_INSTALL_ALL") != "1" {
		t.Errorf("midge embeds files that golang-build.sh would not copy: set GO_PKG_INSTALL_ALL:=1")
	}
	mustContain(t, "Makefile", mk, "$(wildcard $(MIDGE_SRC)/vendor)")
	if regexp.MustCompile(`(?m)^\s*\$\(CP\)[^\n]*\$\(MIDGE_SRC\)/vendor`).MatchString(mk) {
		t.Errorf("Build/Prepare copies vendor/ unconditionally")
	}
	if regexp.MustCompile(`(?m)^GO_PKG_LDFLAGS\s*[:+]?=.*-[sw]\b`).MatchString(mk) {
		t.Errorf("GO_PKG_LDFLAGS has -s -w, which OpenWrt's strip makes redundant")
	}
	if m := variable(t, "Makefile", mk, "PKG_MAINTAINER"); !regexp.MustCompile(`^[^<>]+ <[^@<>\s]+@[^@<>\s]+>$`).MatchString(m) {
		t.Errorf("PKG_MAINTAINER %q is not \"Name <email>\"", m)
	}
	if variable(t, "Makefile", mk, "GO_PKG_INSTALL_BIN_PATH") != "/usr/sbin" {
		t.Errorf("the init script runs /usr/sbin/midge")
	}
	mustContain(t, "Makefile", mk, "GoPackage/Package/Install/Bin,$(1)", "dynamically linked against musl", "Go 1.26")
}
