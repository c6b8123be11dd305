package broker

import (
	"errors"
	"time"

	"midge/broker/wheel"
	"midge/hw"
)

// hardware is the watchdog, systemd notification and LEDs, all driven from
// the loop's own tick, so a stuck loop stops petting and the board resets.
type hardware struct {
	watchdogs []hw.Watchdog
	notifier  *hw.Notifier
	ind       *hw.Indicator
	timer     wheel.Timer
	period    time.Duration
	lastPet   time.Time
	stalled   bool
}

func (b *Broker) openHardware(opts Options) {
	h := &hardware{notifier: hw.NewNotifier()}
	hc := b.cfg.Hardware
	if opts.Watchdog != nil {
		h.watchdogs = append(h.watchdogs, opts.Watchdog)
	} else if hc.Watchdog != "" {
		w, err := hw.OpenWatchdog(hc.Watchdog, hc.WatchdogTimeout.D())
		switch {
		case errors.Is(err, hw.ErrNotPresent):
			b.log.Noticef("Watchdog %s: not present, skipped.", hc.Watchdog)
		case err != nil:
			b.log.Errorf("Watchdog %s: %v (running without it)", hc.Watchdog, err)
		default:
			b.log.Noticef("Watchdog %s (%s): timeout %v.", hc.Watchdog, w.Identity, w.Timeout())
			if w.TimeoutErr != nil {
				// Still armed: petted at a fraction of the driver's timeout.
				b.log.Warnf("Watchdog %s: timeout %v not set (%v); the driver's %v is in force.", hc.Watchdog, w.Requested, w.TimeoutErr, w.Timeout())
			}
			if w.LastReset {
				b.log.Warnf("The last boot was caused by the watchdog (%s).", hc.Watchdog)
			}
			h.watchdogs = append(h.watchdogs, w)
		}
	}
	if iv := h.notifier.WatchdogInterval(); iv > 0 {
		h.watchdogs = append(h.watchdogs, hw.SystemdWatchdog{N: h.notifier})
	}
	var ind hw.Indicator
	for _, l := range []struct {
		spec string
		dst  *hw.LED
	}{{hc.LEDStatus, &ind.Status}, {hc.LEDActivity, &ind.Activity}} {
		if l.spec == "" {
			continue
		}
		led, err := hw.OpenLED(l.spec, hc.LEDRoot)
		switch {
		case errors.Is(err, hw.ErrNotPresent):
			b.log.Noticef("LED %s: not present, skipped.", l.spec)
		case err != nil:
			b.log.Errorf("LED %s: %v (running without it)", l.spec, err)
		default:
			*l.dst = led
		}
	}
	if ind.Status != nil || ind.Activity != nil {
		h.ind = &ind
	}
	// Pet at a third of the shortest timeout (systemd asks for half).
	h.period = time.Second
	for _, w := range h.watchdogs {
		if t := w.Timeout() / 3; t > 0 && t < h.period {
			h.period = t
		}
		if p, ok := w.(interface{ PetInterval() time.Duration }); ok {
			h.period = min(h.period, p.PetInterval()) // 500 ms when the driver does not say
		}
	}
	if h.ind != nil {
		h.period = min(h.period, 100*time.Millisecond)
	}
	h.timer.Owner = wheel.Func(b.hwTick)
	b.hw = h
}

func (b *Broker) startHardware() {
	h := b.hw
	if h == nil {
		return
	}
	h.notifier.Notify("READY=1\nSTATUS=serving")
	if len(h.watchdogs) > 0 || h.ind != nil {
		b.hwTick()
	}
}

// hwTick pets the watchdogs, but only while the loop (this tick) and the
// persistence writer are making progress, and updates the LEDs.
func (b *Broker) hwTick() {
	h := b.hw
	b.wheel.Schedule(&h.timer, b.now, h.period)
	stalled := b.storeStalled(max(10*time.Second, 3*h.period))
	if stalled != h.stalled {
		h.stalled = stalled
		if stalled {
			b.log.Errorf("Persistence writer stalled: no longer petting the watchdog.")
		} else {
			b.log.Noticef("Persistence writer progressing again.")
		}
	}
	if !stalled && b.now.Sub(h.lastPet) >= h.period-h.period/10 {
		h.lastPet = b.now
		for _, w := range h.watchdogs {
			w.Pet()
		}
	}
	if h.ind != nil {
		if b.persistFailing() {
			h.ind.SetPattern(hw.Fault)
		} else {
			h.ind.SetPattern(hw.Healthy)
		}
		h.ind.Tick(b.now)
	}
}

// blink notes message activity for the activity LED.
func (b *Broker) blink() {
	if b.hw != nil && b.hw.ind != nil {
		b.hw.ind.Blink(b.now)
	}
}

func (b *Broker) closeHardware() {
	h := b.hw
	if h == nil {
		return
	}
	h.notifier.Notify("STOPPING=1")
	for _, w := range h.watchdogs {
		// A clean shutdown disarms the watchdog when the driver allows.
		if err := w.Close(true); errors.Is(err, hw.ErrStillArmed) {
			b.log.Errorf("Watchdog: %v (in %v).", err, w.Timeout())
		}
	}
	if h.ind != nil {
		h.ind.Halt()
	}
}
