package broker

import "midge/broker/config"

// Reload validates next and applies its reloadable fields atomically on the
// loop; fields that need a restart keep their values and are logged. On any
// error nothing changes.
func (b *Broker) Reload(next *config.Config) error {
	if err := next.Validate(); err != nil {
		b.log.Errorf("reload refused, keeping the running configuration:\n%v", err)
		return err
	}
	b.reloading.Lock()
	defer b.reloading.Unlock()
	var cur *config.Config
	var lns []*listener
	if !b.Call(func() { cur, lns = b.cfg, b.listeners }) {
		return errStop
	}
	merged, restart := cur.Reload(next) // b.cfg changes only here, under the lock
	secs, warnings, err := loadSecurity(merged)
	if err != nil {
		b.log.Errorf("reload refused, keeping the running configuration: %v", err)
		return err
	}
	for _, w := range warnings {
		b.log.Warnf("%s", w)
	}
	b.reloadTLS(lns, merged.Listeners)
	if !b.Call(func() {
		for i, l := range b.listeners {
			l.sec = secs[i]
			l.cfg = merged.Listeners[i] // its reloadable fields
		}
		b.recheck()
		b.armTokenSweep()
		b.cfg = merged
		b.log.setKinds(merged.Log.Types, b.log.verbose)
		b.log.setDests(merged.Log.Dest)
		if b.cfg.SysInterval > 0 {
			b.wheel.Schedule(&b.sys.timer, b.now, b.cfg.SysInterval.D())
		} else {
			b.wheel.Stop(&b.sys.timer)
		}
	}) {
		return errStop
	}
	for _, n := range next.Notes {
		b.log.Warnf("%s", n)
	}
	for _, k := range restart {
		b.log.Warnf("reload: %s changed but needs a restart; keeping the running value", k)
	}
	b.log.Noticef("Configuration reloaded from %s.", next.Source)
	return nil
}
