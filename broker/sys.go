package broker

import (
	"bytes"
	"math"
	"runtime"
	"strconv"
	"time"

	"midge/broker/wheel"
)

// $SYS topics, with Mosquitto's names, published every sys_interval while
// at least one client subscribes to a $SYS filter. Nothing is computed or
// sent while no one listens. A value is sent when it changed, and every
// value is sent once after a new $SYS subscription.
type sysState struct {
	timer   wheel.Timer
	subs    int               // subscriptions whose filter starts with $SYS
	last    map[string]string // last value sent per topic
	force   bool              // send everything next time
	prev    loopStats         // counters at the previous tick
	prevAt  time.Time
	loads   map[string]*[3]float64 // 1, 5 and 15 minute averages per load topic
	heapMax uint64
}

func isSysFilter(f []byte) bool { return bytes.HasPrefix(f, []byte("$SYS")) }

// sysSubscribed notes a new or removed $SYS subscription.
func (b *Broker) sysSubscribed(delta int) {
	b.sys.subs += delta
	if delta > 0 && b.cfg.SysInterval > 0 {
		b.sys.force = true
		b.wheel.Schedule(&b.sys.timer, b.now, time.Millisecond) // next tick
	}
}

func (b *Broker) startSys() {
	b.sys.timer.Owner = wheel.Func(b.onSys)
	if b.cfg.SysInterval > 0 {
		b.wheel.Schedule(&b.sys.timer, b.now, b.cfg.SysInterval.D())
	}
}

func (b *Broker) onSys() {
	if b.cfg.SysInterval <= 0 {
		return
	}
	b.wheel.Schedule(&b.sys.timer, b.now, b.cfg.SysInterval.D())
	if b.sys.subs <= 0 {
		b.sys.prev, b.sys.prevAt = b.stats, time.Time{}
		return
	}
	b.publishSys()
}

func (b *Broker) publishSys() {
	st := &b.sys
	if st.last == nil {
		st.last = make(map[string]string)
		st.loads = make(map[string]*[3]float64)
	}
	k := b.Counters()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	st.heapMax = max(st.heapMax, ms.HeapAlloc)
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	i := func(v int) string { return strconv.Itoa(v) }
	sessions := len(b.sessions)
	vals := []struct{ topic, value string }{
		{"$SYS/broker/version", "midge version " + Version},
		{"$SYS/broker/uptime", i(int(b.Uptime()/time.Second)) + " seconds"},
		{"$SYS/broker/clients/connected", i(k.Connected)},
		{"$SYS/broker/clients/active", i(k.Connected)},
		{"$SYS/broker/clients/disconnected", i(sessions - k.Connected)},
		{"$SYS/broker/clients/inactive", i(sessions - k.Connected)},
		{"$SYS/broker/clients/maximum", i(k.MaxConnected)},
		{"$SYS/broker/clients/total", i(sessions)},
		{"$SYS/broker/messages/received", u(k.PacketsReceived)},
		{"$SYS/broker/messages/sent", u(k.PacketsSent)},
		{"$SYS/broker/messages/stored", i(k.RetainedMessages + b.queuedMessages())},
		{"$SYS/broker/store/messages/count", i(k.RetainedMessages + b.queuedMessages())},
		{"$SYS/broker/store/messages/bytes", i(k.Memory)},
		{"$SYS/broker/publish/messages/received", u(k.MsgsReceived)},
		{"$SYS/broker/publish/messages/sent", u(k.MsgsSent)},
		{"$SYS/broker/publish/messages/dropped", u(k.Dropped)},
		{"$SYS/broker/bytes/received", u(k.BytesReceived)},
		{"$SYS/broker/bytes/sent", u(k.BytesSent)},
		{"$SYS/broker/retained messages/count", i(k.RetainedMessages)},
		{"$SYS/broker/subscriptions/count", i(k.Subscriptions)},
		{"$SYS/broker/heap/current", u(ms.HeapAlloc)},
		{"$SYS/broker/heap/maximum", u(st.heapMax)},
		{"$SYS/broker/midge/goroutines", i(runtime.NumGoroutine())},
		{"$SYS/broker/midge/memory/used", i(k.Memory)},
		{"$SYS/broker/midge/memory/limit", i(k.MemoryLimit)},
		{"$SYS/broker/midge/memory/released", u(k.MemoryReleases)},
		{"$SYS/broker/midge/memory/retained", i(k.RetainedBytes)},
		{"$SYS/broker/midge/malformed", u(k.Malformed)},
	}
	for r, name := range dropNames {
		vals = append(vals, struct{ topic, value string }{"$SYS/broker/midge/drops/" + name, u(k.Drops[r])})
	}
	if ps, ok := b.persistStats(); ok {
		amp := "0"
		if ps.PayloadBytes > 0 {
			amp = strconv.FormatFloat(float64(ps.BytesWritten)/float64(ps.PayloadBytes), 'f', 2, 64)
		}
		for _, v := range [][2]string{{"bytes_written", u(ps.BytesWritten)}, {"fsyncs", u(ps.Fsyncs)},
			{"records", u(ps.Records)}, {"compactions", u(ps.Compactions)}, {"store_bytes", strconv.FormatInt(ps.StoreBytes, 10)},
			{"write_amplification", amp}} {
			vals = append(vals, struct{ topic, value string }{"$SYS/broker/midge/persist/" + v[0], v[1]})
		}
	}
	if alarm := b.persistAlarm(); alarm != "" || b.cfg.Persistence.Enabled {
		if alarm == "" {
			alarm = "ok"
		}
		vals = append(vals, struct{ topic, value string }{"$SYS/broker/midge/persist/alarm", alarm})
	}
	for n, l := range b.listeners {
		name := strconv.Itoa(int(l.addr.Port()))
		if l.path != "" {
			name = "unix" + strconv.Itoa(n)
		}
		vals = append(vals, struct{ topic, value string }{"$SYS/broker/midge/listeners/" + name + "/connections", i(k.ListenerConnections[n])})
	}
	// Load averages: per-minute rates smoothed over 1, 5 and 15 minutes.
	if !st.prevAt.IsZero() {
		dt := b.now.Sub(st.prevAt).Minutes()
		if dt > 0 {
			for _, l := range []struct {
				name     string
				now, was uint64
			}{
				{"messages/received", k.PacketsReceived, st.prev.PacketsReceived},
				{"messages/sent", k.PacketsSent, st.prev.PacketsSent},
				{"publish/received", k.MsgsReceived, st.prev.MsgsReceived},
				{"publish/sent", k.MsgsSent, st.prev.MsgsSent},
				{"publish/dropped", k.Dropped, st.prev.Dropped},
				{"bytes/received", k.BytesReceived, st.prev.BytesReceived},
				{"bytes/sent", k.BytesSent, st.prev.BytesSent},
				{"connections", uint64(k.Total), uint64(st.prev.Total)},
			} {
				rate := float64(l.now-l.was) / dt
				avg := st.loads[l.name]
				if avg == nil {
					avg = &[3]float64{rate, rate, rate}
					st.loads[l.name] = avg
				}
				for j, period := range []float64{1, 5, 15} {
					f := math.Exp(-dt / period)
					avg[j] = avg[j]*f + rate*(1-f)
					vals = append(vals, struct{ topic, value string }{
						"$SYS/broker/load/" + l.name + "/" + []string{"1min", "5min", "15min"}[j],
						strconv.FormatFloat(avg[j], 'f', 2, 64)})
				}
			}
		}
	}
	st.prev, st.prevAt = k.loopStats, b.now
	force := st.force
	st.force = false
	for _, v := range vals {
		if !force && st.last[v.topic] == v.value {
			continue
		}
		st.last[v.topic] = v.value
		b.route([]byte(v.topic), []byte(v.value), 0, false, nil, nil, nil)
	}
}

func (b *Broker) queuedMessages() int {
	n := 0
	for _, s := range b.sessions {
		n += s.queue.len() + len(s.inflight)
	}
	return n
}
