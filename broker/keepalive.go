package broker

import (
	"time"

	"midge/broker/packet"
	"midge/broker/wheel"
)

// Connection deadlines: the CONNECT timeout, keep alive (1.5 x the
// negotiated interval) and the linger limit of a closing connection.

// onTimer is the connection's one timer: connect timeout before CONNECT,
// keep alive after, and the linger limit while closing.
func (c *conn) OnTimer(*wheel.Timer) {
	b := c.b
	switch c.state {
	case stateNew:
		b.log.Noticef("Client %s did not send CONNECT in time, closing.", c.from())
		c.destroy()
	case stateConnected:
		if c.keepAlive == 0 {
			return
		}
		idle := time.Duration(b.clock() - c.lastRecv)
		if idle >= c.keepAlive {
			b.log.Noticef("Client %s has exceeded timeout, disconnecting.", c)
			c.sendDisconnect(packet.KeepAliveTimeout)
			c.b.disconnect(c, false)
			return
		}
		b.wheel.Schedule(&c.timer, b.now, c.keepAlive-idle)
	case stateClosing:
		c.destroy()
	}
}
