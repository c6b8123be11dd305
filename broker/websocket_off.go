//go:build nows

package broker

// Built with the nows tag: no WebSocket listeners (New refuses them).

// WebSocketCompiled reports whether WebSocket listeners are compiled in.
const WebSocketCompiled = false

type wsState struct{}

const wsOpBinary = 0x2

func (c *conn) wsInput([]byte) ([]byte, bool) { return nil, false }
func (c *conn) writeFrame(byte, []byte)       {}
