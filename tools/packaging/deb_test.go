package packaging

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"midge/broker"
)

// need finds a tool: in CI a missing one is a failure, elsewhere a skip.
func need(t *testing.T, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is needed: %v", tool, err)
		}
		t.Skipf("no %s", tool)
	}
	return p
}

func debArch(t *testing.T) string {
	switch runtime.GOARCH {
	case "amd64", "arm64":
		return runtime.GOARCH
	case "arm":
		return "armhf"
	}
	t.Skipf("no Debian package for %s", runtime.GOARCH)
	return ""
}

// buildDeb runs `make deb`'s script for one architecture.
func buildDeb(t *testing.T, arch string) string {
	t.Helper()
	need(t, "dpkg-deb")
	out := t.TempDir()
	cmd := exec.Command("tools/packaging/deb.sh")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "OUT="+out, "ARCHES="+arch)
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("deb.sh: %v\n%s", err, b)
	}
	deb := filepath.Join(out, "midge_"+broker.Version+"-1_"+arch+".deb")
	if strings.TrimSpace(string(b)) != filepath.Join(out, filepath.Base(deb)) {
		t.Fatalf("deb.sh printed %q", b)
	}
	return deb
}

func output(t *testing.T, name string, args ...string) string {
	t.Helper()
	b, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, b)
	}
	return string(b)
}

// The package's metadata and contents, for the armhf build (Raspberry Pi OS).
func TestDebianPackage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the package")
	}
	mk := read(t, "Makefile")
	mustContain(t, "Makefile", mk, "\ndeb:\n\ttools/packaging/deb.sh\n")
	deb := buildDeb(t, "armhf")
	info := output(t, "dpkg-deb", "--field", deb, "Package", "Version", "Architecture", "Maintainer", "Depends")
	mustContain(t, "control", info, "Package: midge\n", "Version: "+broker.Version+"-1\n", "Architecture: armhf\n",
		"Maintainer: midge maintainers <", "Depends: adduser | passwd\n")
	contents := output(t, "dpkg-deb", "--contents", deb)
	for _, want := range []string{" root/root ", "./usr/bin/midge\n", "./usr/bin/midge-pub -> midge", "./etc/midge/midge.toml\n",
		"./usr/lib/systemd/system/midge.service\n"} {
		if !strings.Contains(contents, want) {
			t.Errorf("the package lacks %q:\n%s", want, contents)
		}
	}
	if strings.Contains(contents, "drwx------") {
		t.Errorf("a directory of mode 0700 in the package:\n%s", contents)
	}
	dir := t.TempDir()
	output(t, "dpkg-deb", "--control", deb, dir)
	if b, _ := os.ReadFile(filepath.Join(dir, "conffiles")); string(b) != "/etc/midge/midge.toml\n" {
		t.Errorf("conffiles %q", b)
	}
	for _, s := range []string{"postinst", "prerm", "postrm"} {
		b, err := os.ReadFile(filepath.Join(dir, s))
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		if strings.Contains(text, "/etc/midge") && s != "postinst" {
			t.Errorf("%s touches /etc/midge (dpkg owns the conffile)", s)
		}
		if strings.Contains(text, "> /etc") || strings.Contains(text, "cp ") {
			t.Errorf("%s writes into /etc", s)
		}
		// systemctl and deb-systemd-invoke only when systemd runs.
		for _, l := range strings.Split(text, "\n") {
			if (strings.Contains(l, "systemctl ") || strings.Contains(l, "deb-systemd-invoke ")) && !strings.Contains(text, "[ -d /run/systemd/system ]") {
				t.Errorf("%s: %q without a check that systemd runs", s, l)
			}
		}
		if sc, err := exec.LookPath("shellcheck"); err == nil {
			if b, err := exec.Command(sc, "-s", "sh", filepath.Join(dir, s)).CombinedOutput(); err != nil {
				t.Errorf("shellcheck %s:\n%s", s, b)
			}
		}
	}
	// The binary is the static one.
	x := filepath.Join(t.TempDir(), "x")
	output(t, "dpkg-deb", "-x", deb, x)
	if f := output(t, "sh", "-c", "od -An -c -N 4 "+x+"/usr/bin/midge"); !strings.Contains(f, "E   L   F") {
		t.Errorf("/usr/bin/midge is not ELF: %s", f)
	}
}

// dpkg -i, run as midge, config kept across a reinstall, dpkg -r, dpkg -P:
// this changes the machine (a package, a user), so it runs only as root and
// with CI=true or MIDGE_DEB_INSTALL_TEST=1; in CI it must run.
func TestDebianInstallRemovePurge(t *testing.T) {
	ci := os.Getenv("CI") == "true"
	if !ci && os.Getenv("MIDGE_DEB_INSTALL_TEST") != "1" {
		t.Skip("installs a package: set MIDGE_DEB_INSTALL_TEST=1 (as root) to run it outside CI")
	}
	if os.Geteuid() != 0 {
		t.Fatal("the install test needs root")
	}
	need(t, "dpkg")
	if exec.Command("dpkg", "-s", "midge").Run() == nil {
		t.Fatal("a midge package is installed already: not touching it")
	}
	deb := buildDeb(t, debArch(t))
	t.Cleanup(func() { exec.Command("dpkg", "-P", "midge").Run() })

	output(t, "dpkg", "-i", deb)
	u, err := user.Lookup("midge")
	if err != nil {
		t.Fatalf("no midge user after dpkg -i: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	st, err := os.Stat("/var/lib/midge")
	if err != nil || st.Sys().(*syscall.Stat_t).Uid != uint32(uid) {
		t.Fatalf("/var/lib/midge not midge's: %v", err)
	}

	// The installed binary, as midge, with the installed configuration on a
	// free loopback port (and its log on stderr: a container has no syslog).
	conf, err := os.ReadFile("/etc/midge/midge.toml")
	if err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	text := strings.Replace(string(conf), "port = 1883", "port = "+strconv.Itoa(port), 1)
	text = strings.Replace(text, `dest = ["syslog"]`, `dest = ["stderr"]`, 1)
	if !strings.Contains(text, "port = "+strconv.Itoa(port)) || !strings.Contains(text, `dest = ["stderr"]`) {
		t.Fatalf("the installed configuration changed shape:\n%s", conf)
	}
	cdir, _ := os.MkdirTemp("", "midge-deb")
	defer os.RemoveAll(cdir)
	os.Chmod(cdir, 0o755)
	cfile := filepath.Join(cdir, "midge.toml")
	os.WriteFile(cfile, []byte(text), 0o644)
	var stderr bytes.Buffer
	cmd := exec.Command("/usr/bin/midge", "-c", cfile)
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	if err := connack(port, done); err != nil {
		cmd.Process.Kill()
		<-done
		t.Fatalf("midge as midge: %v\n%s", err, stderr.String())
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("midge exited with %v on SIGTERM\n%s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("midge did not stop on SIGTERM")
	}
	// It wrote its store as midge.
	entries, _ := os.ReadDir("/var/lib/midge")
	if len(entries) == 0 {
		t.Errorf("midge wrote nothing into /var/lib/midge")
	}

	// A user's edit survives a reinstall.
	edited := string(conf) + "\n# edited by the user\n"
	os.WriteFile("/etc/midge/midge.toml", []byte(edited), 0o644)
	output(t, "dpkg", "-i", deb)
	if b, _ := os.ReadFile("/etc/midge/midge.toml"); string(b) != edited {
		t.Errorf("reinstalling overwrote the user's /etc/midge/midge.toml")
	}

	output(t, "dpkg", "-r", "midge")
	for _, p := range []string{"/usr/bin/midge", "/usr/bin/midge-pub", "/usr/lib/systemd/system/midge.service"} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s left after dpkg -r", p)
		}
	}
	if _, err := os.Stat("/etc/midge/midge.toml"); err != nil {
		t.Errorf("dpkg -r removed the conffile: %v", err)
	}
	output(t, "dpkg", "-P", "midge")
	for _, p := range []string{"/etc/midge", "/var/lib/midge", "/etc/systemd/system/multi-user.target.wants/midge.service",
		"/etc/systemd/system/midge.service", "/var/lib/systemd/deb-systemd-helper-enabled/midge.service.dsh-also",
		"/var/lib/systemd/deb-systemd-helper-masked/midge.service"} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s left after dpkg -P", p)
		}
	}
	if _, err := user.Lookup("midge"); err == nil {
		t.Errorf("the midge user is left after dpkg -P")
	}
	if _, err := user.LookupGroup("midge"); err == nil {
		t.Errorf("the midge group is left after dpkg -P")
	}
	if exec.Command("dpkg", "-s", "midge").Run() == nil {
		t.Errorf("dpkg still knows midge after dpkg -P")
	}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// connack sends an MQTT 3.1.1 CONNECT (client "t") until midge answers
// with CONNACK 0 or exits.
func connack(port int, exited chan error) error {
	connect := []byte{0x10, 0x0d, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, 1, 't'}
	deadline := time.Now().Add(15 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			exited <- err
			return fmt.Errorf("midge exited: %v", err)
		default:
		}
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
		if err != nil {
			last = err
			time.Sleep(50 * time.Millisecond)
			continue
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Write(connect)
		buf := make([]byte, 4)
		_, err = io.ReadFull(c, buf)
		c.Close()
		if err == nil && bytes.Equal(buf, []byte{0x20, 2, 0, 0}) {
			return nil
		}
		last = err
	}
	return last
}
