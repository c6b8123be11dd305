package broker

import (
	"errors"

	"midge/broker/packet"
)

// Authenticator is an MQTT 5 enhanced authentication method (§4.12),
// named by the Authentication Method property. Begin starts one exchange
// for a client (its user name is the one in CONNECT, if any); the broker then passes each Authentication Data the client
// sends to the exchange's Step until it reports done or fails. Methods run
// on the event loop and must not block.
type Authenticator interface {
	Method() string
	Begin(c Client) AuthExchange
}

// AuthExchange is one client's authentication conversation.
type AuthExchange interface {
	// Step consumes the client's data and returns the data to send back.
	// done reports success; an error refuses the client (CONNACK or
	// DISCONNECT with Not authorized, or the error's reason code when it is
	// a *packet.Error).
	Step(data []byte) (reply []byte, done bool, err error)
}

// RegisterAuth makes an enhanced authentication method available. Call it
// before Serve.
func (b *Broker) RegisterAuth(a Authenticator) {
	if b.auth == nil {
		b.auth = make(map[string]Authenticator)
	}
	b.auth[a.Method()] = a
}

var errAuthFailed = &refusal{packet.NotAuthorized, "authentication failed"}

func authCode(err error) packet.ReasonCode {
	var pe *packet.Error
	if errors.As(err, &pe) {
		return pe.Code
	}
	return packet.NotAuthorized
}

// authState is a connection's enhanced authentication: the method named in
// CONNECT, the exchange in progress, and the CONNECT kept while it runs.
type authState struct {
	_      [0]func() // not comparable: no equality function in the binary
	user   string    // the user an exchange authenticated, if it says
	method string
	x      AuthExchange
	req    *connectReq // the CONNECT waiting for the exchange to end
}

// sendAuth sends an AUTH packet with the connection's method.
func (c *conn) sendAuth(code packet.ReasonCode, data []byte) {
	var d packet.Disconnect
	d.Reason = code
	d.Props.Set(packet.PropAuthMethod)
	d.Props.AuthMethod = []byte(c.authS().method)
	if data != nil {
		d.Props.Set(packet.PropAuthData)
		d.Props.AuthData = data
	}
	c.send(packet.AppendDisconnect(c.b.scratch[:0], packet.AUTH, &d, c.version))
}

var (
	errAuthUnexpected = &packet.FieldError{Packet: packet.AUTH, Field: "no authentication in progress", Err: packet.ErrProtocol}
	errAuthMethodDiff = &packet.FieldError{Packet: packet.AUTH, Field: "authentication method differs from CONNECT", Err: packet.ErrProtocol}
)

// handleAuth continues an authentication exchange: the one a CONNECT
// started, or a re-authentication (reason 0x19) of a connected client.
func (c *conn) handleAuth(d *packet.Disconnect) error {
	b := c.b
	st := c.authS()
	if st == nil {
		return errAuthUnexpected // [MQTT-4.12.0-?] AUTH without a method in CONNECT
	}
	if string(d.Props.AuthMethod) != st.method {
		return errAuthMethodDiff // [MQTT-4.12.0-5]
	}
	switch {
	case d.Reason == packet.ReAuthenticate && c.state == stateConnected && st.x == nil:
		st.x = b.auth[st.method].Begin(c.sess.client())
	case d.Reason == packet.ContinueAuthentication && st.x != nil:
	default:
		return &packet.FieldError{Packet: packet.AUTH, Field: "reason code", Err: packet.ErrProtocol}
	}
	reply, done, err := st.x.Step(d.Props.AuthData)
	if err != nil {
		st.x = nil
		if c.state == stateNew {
			return c.refuse(&refusal{authCode(err), err.Error()})
		}
		b.log.Noticef("Client %s failed re-authentication: %v.", c, err)
		c.sendDisconnect(authCode(err))
		c.b.disconnect(c, false)
		return nil
	}
	if !done {
		c.sendAuth(packet.ContinueAuthentication, reply)
		return nil
	}
	if c.state == stateNew {
		r := st.req
		c.authExchanged(r, reply)
		return c.refuse(c.admit(r)) // the CONNECT resumes where it waited
	}
	if u, ok := st.x.(interface{ AuthenticatedUser() string }); ok {
		st.user = u.AuthenticatedUser()
	}
	st.x = nil
	c.sendAuth(packet.Success, reply)
	return nil
}
