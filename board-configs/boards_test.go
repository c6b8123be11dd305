package boardconfigs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"midge/broker/config"
	"midge/hw"
)

// Every board file loads and validates, and sits under the user's settings.
func TestEveryBoardLoads(t *testing.T) {
	names := Names()
	want := []string{"beaglebone", "generic-x86_64", "openwrt-ath79", "openwrt-ramips-mt7621",
		"raspberrypi-3", "raspberrypi-4", "raspberrypi-5", "raspberrypi-zero", "riscv64-generic"}
	if len(names) != len(want) {
		t.Fatalf("boards %v", names)
	}
	for _, n := range names {
		c, err := config.LoadWithBoard("", n)
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if c.Board != n || c.MaxConnections <= 0 || c.MemoryLimit <= 0 || c.Persistence.Dir == "" {
			t.Fatalf("%s: %+v", n, c)
		}
	}
	dir := t.TempDir()
	user := filepath.Join(dir, "midge.toml")
	os.WriteFile(user, []byte("board = \"openwrt-ath79\"\nmax_connections = 50\n"), 0o644)
	c, err := config.Load(user)
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxConnections != 50 || c.MemoryLimit != 8388608 || c.Persistence.SegmentBytes != 262144 {
		t.Fatalf("user settings must win over the board's: %+v", c)
	}
	conf := filepath.Join(dir, "mosquitto.conf")
	os.WriteFile(conf, []byte("listener 1883\nmax_queued_messages 7\n"), 0o644)
	c, err = config.LoadWithBoard(conf, "openwrt-ramips-mt7621")
	if err != nil || c.MaxQueuedMessages != 7 || c.MemoryLimit != 16777216 {
		t.Fatalf("%v %+v", err, c)
	}
	if _, err := config.LoadWithBoard("", "no-such-board"); err == nil {
		t.Fatal("unknown board accepted")
	}
}

// Every LED a board file names parses (no "unknown kind"), is absent from
// an empty tree (skipped, not a failure), and opens when its name exists.
func TestBoardLEDSpecs(t *testing.T) {
	for _, n := range Names() {
		c, err := config.LoadWithBoard("", n)
		if err != nil {
			t.Fatal(err)
		}
		for _, spec := range []string{c.Hardware.LEDStatus, c.Hardware.LEDActivity} {
			if spec == "" {
				continue
			}
			empty := hw.LEDRoots{Sysfs: t.TempDir(), DeviceTree: t.TempDir()}
			if _, err := hw.OpenLEDAt(spec, empty); err != hw.ErrNotPresent {
				t.Errorf("%s: %q on a board without it: %v", n, spec, err)
			}
			for _, choice := range strings.Split(spec, ",") {
				name := strings.TrimPrefix(strings.TrimSpace(choice), "sysfs:")
				if strings.HasPrefix(name, "dt:") || strings.HasPrefix(name, "gpio:") {
					continue
				}
				root := t.TempDir()
				os.MkdirAll(filepath.Join(root, name), 0o755)
				os.WriteFile(filepath.Join(root, name, "brightness"), []byte("0"), 0o644)
				l, err := hw.OpenLEDAt(spec, hw.LEDRoots{Sysfs: root, DeviceTree: empty.DeviceTree})
				if err != nil || l.Name() != "sysfs:"+name {
					t.Errorf("%s: %q with only %s present: %v %v", n, spec, name, l, err)
				}
			}
		}
	}
}
