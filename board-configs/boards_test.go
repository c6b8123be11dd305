package boardconfigs

import (
	"os"
	"path/filepath"
	"testing"

	"midge/broker/config"
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
