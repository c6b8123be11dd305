package broker_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"midge/broker"
	"midge/broker/config"
	"midge/hw"
	"midge/internal/testutil"
)

// The watchdog is petted from the loop's tick only: a loop that stalls stops
// the petting (so the board would reset), and petting resumes after.
func TestStalledLoopStopsPettingTheWatchdog(t *testing.T) {
	fake := hw.NewFakeWatchdog(300 * time.Millisecond)
	cfg := config.Default()
	cfg.Listeners[0].Port = 0
	b, err := broker.NewWithOptions(cfg, broker.NewLogger(nil, nil), broker.Options{Watchdog: fake})
	if err != nil {
		t.Fatal(err)
	}
	go b.Serve()
	defer b.Close()
	next := func(timeout time.Duration) (time.Time, bool) {
		select {
		case p := <-fake.Pets:
			return p, true
		case <-time.After(timeout):
			return time.Time{}, false
		}
	}
	for i := 0; i < 3; i++ {
		if _, ok := next(time.Second); !ok {
			t.Fatal("watchdog not petted")
		}
	}
	for len(fake.Pets) > 0 {
		<-fake.Pets
	}
	stallStart := time.Now()
	b.Do(func() { time.Sleep(1200 * time.Millisecond) }) // a wedged handler
	time.Sleep(50 * time.Millisecond)
	for len(fake.Pets) > 0 {
		<-fake.Pets
	}
	p, ok := next(3 * time.Second)
	if !ok {
		t.Fatal("petting did not resume after the stall")
	}
	if gap := p.Sub(stallStart); gap < time.Second {
		t.Fatalf("petted %v into a 1.2 s stall", gap)
	}
	b.Close()
	if !fake.ClosedOK {
		t.Fatal("a clean shutdown did not close the watchdog cleanly")
	}
}

// Missing hardware is skipped with a log line; LEDs in a fake sysfs tree are
// driven by the loop.
func TestHardwareFromConfig(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "status"), 0o755)
	os.WriteFile(filepath.Join(root, "status", "brightness"), []byte("0"), 0o644)
	os.WriteFile(filepath.Join(root, "status", "trigger"), []byte("[none]"), 0o644)
	var logs strings.Builder
	log := broker.NewLogger(nil, []string{"all"})
	log.SetOutput(&syncWriter{b: &logs})
	cfg := config.Default()
	cfg.Listeners[0].Port = 0
	cfg.Hardware.Watchdog = filepath.Join(root, "no-watchdog")
	cfg.Hardware.LEDStatus = "status"
	cfg.Hardware.LEDActivity = "sysfs:missing"
	cfg.Hardware.LEDRoot = root
	b, err := broker.NewWithOptions(cfg, log, broker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	go b.Serve()
	defer b.Close()
	testutil.Eventually(t, 2*time.Second, "heartbeat on the status LED", func() bool {
		v, _ := os.ReadFile(filepath.Join(root, "status", "brightness"))
		return string(v) == "1"
	})
	b.Close()
	for _, want := range []string{"no-watchdog: not present, skipped", "LED sysfs:missing: not present, skipped"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}
