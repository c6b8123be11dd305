package broker

import (
	"testing"
	"time"

	"midge/broker/config"
	"midge/broker/packet"
)

// With no $SYS subscriber, a $SYS period computes and sends nothing.
func TestSysIdleWithoutSubscribers(t *testing.T) {
	h := newHarness(t)
	h.b.cfg.SysInterval = config.Duration(time.Second)
	c := h.conn("c", packet.Version311)
	h.subscribe(c, "#", 0) // '#' does not match $SYS
	sent := h.b.stats.PacketsSent
	h.b.startSys()
	h.b.onSys()
	h.b.endTurn()
	if h.b.sys.last != nil || h.b.stats.PacketsSent != sent || h.drain(c) != 0 {
		t.Fatal("$SYS was computed or sent with no subscriber")
	}
	h.subscribe(c, "$SYS/broker/uptime", 0)
	h.b.onSys()
	h.b.endTurn()
	if h.drain(c) == 0 {
		t.Fatal("nothing sent to a $SYS subscriber")
	}
}
