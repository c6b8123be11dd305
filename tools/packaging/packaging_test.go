// Package packaging checks the Buildroot, OpenWrt, Debian and container
// packages: required variables, paths that exist in the repository, the
// version matching `midge version`, the files they install, and their init
// and maintainer scripts run with the system around them stubbed. What can
// be built offline here is built (the Buildroot download's vendoring and
// build command, the .deb, the image's build stage); the Debian package is
// installed, run and purged only as root in CI (deb_test.go).
package packaging

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	_ "midge/board-configs"
	"midge/broker"
	"midge/broker/config"
)

const root = "../.."

func read(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mustContain(t *testing.T, file, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("%s lacks %q", file, w)
		}
	}
}

func variable(t *testing.T, file, text, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `\s*:?=\s*(.*)$`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("%s: %s not set", file, name)
	}
	return strings.TrimSpace(m[1])
}

func TestBuildrootExternal(t *testing.T) {
	mustContain(t, "external.desc", read(t, "buildroot/external.desc"), "name: MIDGE")
	mustContain(t, "external.mk", read(t, "buildroot/external.mk"), "$(BR2_EXTERNAL_MIDGE_PATH)/package/*/*.mk")
	mustContain(t, "Config.in", read(t, "buildroot/Config.in"), `source "$BR2_EXTERNAL_MIDGE_PATH/package/midge/Config.in"`)
	cin := read(t, "buildroot/package/midge/Config.in")
	mustContain(t, "package Config.in", cin, "config BR2_PACKAGE_MIDGE", "depends on BR2_PACKAGE_HOST_GO_TARGET_ARCH_SUPPORTS",
		"select BR2_PACKAGE_HOST_GO")
	mk := read(t, "buildroot/package/midge/midge.mk")
	if v := variable(t, "midge.mk", mk, "MIDGE_VERSION"); v != broker.Version {
		t.Errorf("midge.mk version %s, midge version %s", v, broker.Version)
	}
	if v := variable(t, "midge.mk", mk, "MIDGE_GOMOD"); v != "midge" {
		t.Errorf("MIDGE_GOMOD %s", v)
	}
	target := variable(t, "midge.mk", mk, "MIDGE_BUILD_TARGETS")
	if _, err := os.Stat(filepath.Join(root, target, "main.go")); err != nil {
		t.Errorf("MIDGE_BUILD_TARGETS %s: %v", target, err)
	}
	mustContain(t, "midge.mk", mk, "CGO_ENABLED=0", "$(eval $(golang-package))", "midge/broker.Version=$(MIDGE_VERSION)")
	for _, f := range regexp.MustCompile(`\$\(BR2_EXTERNAL_MIDGE_PATH\)/(package/midge/[\w.]+)`).FindAllStringSubmatch(mk, -1) {
		if _, err := os.Stat(filepath.Join(root, "buildroot", f[1])); err != nil {
			t.Errorf("midge.mk installs %s, which does not exist", f[1])
		}
	}
	mustContain(t, "S50midge", read(t, "buildroot/package/midge/S50midge"), "start-stop-daemon", "-c $CONF", "HUP")
	if _, err := config.Load(filepath.Join(root, "packaging/midge.toml")); err != nil {
		t.Errorf("the shipped /etc/midge/midge.toml does not load: %v", err)
	}
}

func TestOpenWrtPackage(t *testing.T) {
	mk := read(t, "openwrt/midge/Makefile")
	if v := variable(t, "Makefile", mk, "PKG_VERSION"); v != broker.Version {
		t.Errorf("PKG_VERSION %s, midge version %s", v, broker.Version)
	}
	for name, want := range map[string]string{"PKG_NAME": "midge", "GO_PKG": "midge", "PKG_BUILD_DEPENDS": "golang/host"} {
		if v := variable(t, "Makefile", mk, name); v != want {
			t.Errorf("%s = %s, want %s", name, v, want)
		}
	}
	if pkg := variable(t, "Makefile", mk, "GO_PKG_BUILD_PKG"); !dirExists(filepath.Join(root, strings.TrimPrefix(pkg, "midge/"))) {
		t.Errorf("GO_PKG_BUILD_PKG %s does not exist", pkg)
	}
	mustContain(t, "Makefile", mk, "golang-package.mk", "$(GO_ARCH_DEPENDS)", "GoBinPackage,midge", "BuildPackage,midge",
		"/etc/config/midge", "./files/midge.init", "./files/midge.config")
	for _, d := range regexp.MustCompile(`\$\(MIDGE_SRC\)/([\w.-]+)`).FindAllStringSubmatch(mk, -1) {
		if d[1] == "vendor" {
			continue // made by `make vendor`, and optional
		}
		if _, err := os.Stat(filepath.Join(root, d[1])); err != nil {
			t.Errorf("Build/Prepare copies %s, which does not exist", d[1])
		}
	}
	openWrtSource(t, mk)
	ini := read(t, "openwrt/midge/files/midge.init")
	mustContain(t, "midge.init", ini, "USE_PROCD=1", "procd_set_param respawn", "procd_add_reload_trigger \"midge\"", "/usr/sbin/midge")
	mustContain(t, "midge.config", read(t, "openwrt/midge/files/midge.config"), "config midge 'main'")
}

func dirExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}
