//go:build nopersist

package broker

import (
	"time"

	"midge/broker/topic"
	"midge/persist"
)

// Built with the nopersist tag: persistence is not compiled in. A
// configuration that enables it gets a warning and an alarm, and the broker
// runs in memory.

// Persistence reports whether persistence is compiled in.
const Persistence = false

type store struct{}

func (b *Broker) openStore() {
	if b.cfg.Persistence.Enabled {
		b.log.Warnf("persistence: not compiled into this build (nopersist); running in memory")
		b.storeAlarm = "persistence not compiled in"
	}
}

func (b *Broker) startStore()                              {}
func (b *Broker) closeStore()                              {}
func (b *Broker) storeSession(*session)                    {}
func (b *Broker) storeSessionDel(*session)                 {}
func (b *Broker) storeSub(*session, string, topic.Options) {}
func (b *Broker) storeSubDel(*session, string)             {}
func (b *Broker) storeRetain(*message)                     {}
func (b *Broker) storeRetainDel([]byte)                    {}
func (b *Broker) storeDelivery(*session, *delivery)        {}
func (b *Broker) storeDeliveryDel(*session, *delivery)     {}
func (b *Broker) storeSent(*session, *delivery)            {}
func (b *Broker) storeInbound(*session, uint16, bool)      {}
func (b *Broker) storeSeq() uint64                         { return 0 }
func (b *Broker) storeFull() bool                          { return false }
func (c *conn) sendAfterStore(pkt []byte, _ uint64)        { c.send(pkt) }
func (b *Broker) Compact()                                 {}
func (b *Broker) PersistStats() (persist.Stats, bool)      { return persist.Stats{}, false }
func (b *Broker) persistStats() (persist.Stats, bool)      { return persist.Stats{}, false }
func (b *Broker) persistAlarm() string                     { return b.storeAlarm }
func (b *Broker) storeFlush()                              {}
func (b *Broker) persistFailing() bool                     { return false }
func (b *Broker) storeStalled(time.Duration) bool          { return false }
