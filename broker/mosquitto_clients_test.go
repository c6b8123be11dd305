package broker_test

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"midge/internal/testutil"
)

// Debian's mosquitto_pub and mosquitto_sub against midge, for 3.1.1 and 5.0.
func TestMosquittoClients(t *testing.T) {
	pubBin := testutil.Need(t, "mosquitto_pub")
	subBin := testutil.Need(t, "mosquitto_sub")
	_, addr := testutil.StartBroker(t, nil)
	port := testutil.Port(addr)
	run := func(ctx context.Context, bin string, args ...string) *exec.Cmd {
		return exec.CommandContext(ctx, bin, append([]string{"-h", "127.0.0.1", "-p", port}, args...)...)
	}
	for _, v := range []string{"mqttv311", "mqttv5"} {
		t.Run(v, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			// Retained first, so the subscriber gets it on subscribe.
			if out, err := run(ctx, pubBin, "-V", v, "-t", "m/"+v+"/ret", "-m", "kept", "-r", "-q", "1").CombinedOutput(); err != nil {
				t.Fatalf("retained publish: %v %s", err, out)
			}
			var out bytes.Buffer
			sub := run(ctx, subBin, "-V", v, "-t", "m/"+v+"/#", "-q", "2", "-v", "-C", "4", "-i", "sub-"+v)
			sub.Stdout = &out
			if err := sub.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(300 * time.Millisecond)
			for q := 0; q <= 2; q++ {
				msg := "qos" + string(rune('0'+q))
				if o, err := run(ctx, pubBin, "-V", v, "-t", "m/"+v+"/x", "-m", msg, "-q", string(rune('0'+q))).CombinedOutput(); err != nil {
					t.Fatalf("publish: %v %s", err, o)
				}
			}
			if err := sub.Wait(); err != nil {
				t.Fatalf("mosquitto_sub: %v (got %q)", err, out.String())
			}
			want := "m/" + v + "/ret kept\nm/" + v + "/x qos0\nm/" + v + "/x qos1\nm/" + v + "/x qos2\n"
			if out.String() != want {
				t.Fatalf("got %q want %q", out.String(), want)
			}
			// Clear the retained message with an empty payload.
			run(ctx, pubBin, "-V", v, "-t", "m/"+v+"/ret", "-n", "-r").Run()
			o, _ := run(ctx, subBin, "-V", v, "-t", "m/"+v+"/ret", "-W", "1").CombinedOutput()
			if strings.Contains(string(o), "kept") {
				t.Fatalf("retained message not cleared: %q", o)
			}
		})
	}
	t.Run("will on kill", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var out bytes.Buffer
		watch := run(ctx, subBin, "-t", "w/dead", "-C", "1")
		watch.Stdout = &out
		watch.Start()
		victim := run(ctx, subBin, "-t", "nothing", "--will-topic", "w/dead", "--will-payload", "bye", "-i", "victim")
		victim.Start()
		time.Sleep(400 * time.Millisecond)
		victim.Process.Signal(syscall.SIGKILL)
		victim.Wait()
		if err := watch.Wait(); err != nil || out.String() != "bye\n" {
			t.Fatalf("will not delivered: %v %q", err, out.String())
		}
	})
}
