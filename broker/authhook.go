package broker

import (
	"fmt"
	"net/netip"

	"midge/broker/config"
	"midge/broker/packet"
)

// Client is who an AuthHook decides about.
type Client struct {
	_         [0]func() // not comparable: no equality function in the binary
	ID        string
	Username  string         // "" when the client gave none
	Anonymous bool           // connected without a user name
	Listener  int            // index in Config.Listeners of the listener it (last) connected on
	Remote    netip.AddrPort // zero for a session whose client is offline
}

// Decision is an AuthHook's answer.
type Decision uint8

const (
	Defer Decision = iota // no opinion: the next hook decides
	Allow
	Deny
)

// Access is what a client asks to do with a topic.
type Access uint8

const (
	AccessPublish   Access = iota + 1 // publish to a topic name (a will's topic too, at CONNECT)
	AccessSubscribe                   // subscribe to a filter (a shared one without "$share/<group>/")
	AccessReceive                     // be sent a message of a topic name (retained ones too)
)

// AuthHook decides who may connect and what they may do. The broker asks
// the hooks added with AddAuthHook in order, then the built-in ones its
// configuration enables (a JWT verifier, the password file, the ACL file);
// the first answer other than Defer decides. When every hook defers, a
// client without a user name is let in when allow_anonymous says so, one
// with a user name only when allow_anonymous is true, and every topic
// access is allowed.
//
// Hooks run on the event loop: they must not block, and must not keep
// password or topic, which are views into the broker's buffers. Enhanced
// authentication (the AUTH exchange) is an Authenticator; a client it
// authenticated, or a certificate did, is not asked about again.
type AuthHook interface {
	// Authenticate decides a CONNECT's user name and password (password is
	// nil when the client sent none).
	Authenticate(c Client, password []byte) Decision
	// Authorize decides one access to a topic name or filter.
	Authorize(c Client, a Access, topic []byte) Decision
}

// AddAuthHook adds h to the chain of every listener, after the hooks added
// before it and ahead of the built-in ones. Call it before Serve, or on the
// loop (Broker.Call).
func (b *Broker) AddAuthHook(h AuthHook) { b.hooks = append(b.hooks, h) }

// hook is a chain element: a built-in one sees the session (a JWT's claims)
// and may give the authentication a user name and claims.
type hook interface {
	authenticate(c Client, password []byte, r *authResult) Decision
	authorize(s *session, c Client, a Access, topic []byte) Decision
}

// authResult is what a successful authentication adds to the client.
type authResult struct {
	_ [0]func() // not comparable: no equality function in the binary

	claims   sessionClaims
	username string // the user name a token named, for a client that gave none
	cred     uint64 // the password file entry that matched (0: none)
}

// security is what the clients of one listener are checked against:
// Mosquitto's security options, shared by all listeners unless they set
// their own (per_listener_settings).
type security struct {
	config.Security
	authn []hook // built-ins that judge credentials
	authz []hook // built-ins that judge topic access
	files *authFiles
}

// loadSecurity builds each listener's security for cfg; listeners with the
// same files share them. Nothing is changed on error.
func loadSecurity(cfg *config.Config) ([]*security, []string, error) {
	out := make([]*security, len(cfg.Listeners))
	byFiles := map[[3]string]*authFiles{}
	var warnings []string
	for i := range cfg.Listeners {
		sc := cfg.ListenerSecurity(i)
		key := [3]string{sc.PasswordFile, sc.ACLFile, sc.JWTKeyFile}
		af, ok := byFiles[key]
		if !ok {
			var err error
			if af, err = loadAuthFiles(sc.PasswordFile, sc.ACLFile, sc.JWTKeyFile); err != nil {
				if l := &cfg.Listeners[i]; l.PasswordFile != nil || l.ACLFile != nil || l.JWTKeyFile != nil {
					return nil, nil, fmt.Errorf("listener[%d] (port %d): %w", i, l.Port, err) // its own files
				}
				return nil, nil, err
			}
			byFiles[key] = af
			warnings = append(warnings, af.warnings()...)
		}
		sec := &security{Security: sc, files: af}
		sec.authn, sec.authz = af.hooks()
		out[i] = sec
	}
	return out, warnings, nil
}

// sec is the security a session is checked against: its listener's.
func (b *Broker) sec(s *session) *security { return b.listeners[s.lnIdx].sec }

func (s *session) client() Client {
	c := Client{ID: s.id, Username: s.user(), Anonymous: s.anonymous, Listener: int(s.lnIdx)}
	if s.conn != nil {
		c.Remote = s.conn.remote
	}
	return c
}

// authenticate asks the hooks added by the embedding program about a
// CONNECT's credentials.
func (b *Broker) authenticate(c Client, password []byte) Decision {
	for _, h := range b.hooks {
		if d := h.Authenticate(c, password); d != Defer {
			return d
		}
	}
	return Defer
}

// authenticateWith asks built-in hooks (off the loop too: they only read
// files loaded before).
func authenticateWith(hooks []hook, c Client, password []byte, r *authResult) Decision {
	for _, h := range hooks {
		if d := h.authenticate(c, password, r); d != Defer {
			return d
		}
	}
	return Defer
}

// allowed runs the chain for one topic access of a session; with no hooks
// it costs a length check.
func (b *Broker) allowed(s *session, a Access, topic []byte) bool {
	sec := b.sec(s)
	if len(b.hooks) == 0 && len(sec.authz) == 0 {
		return true
	}
	c := s.client()
	for _, h := range b.hooks {
		if d := h.Authorize(c, a, topic); d != Defer {
			return d == Allow
		}
	}
	for _, h := range sec.authz {
		if d := h.authorize(s, c, a, topic); d != Defer {
			return d == Allow
		}
	}
	return true
}

// recheck ends, after a reload, the connections the new security options
// no longer let in, as Mosquitto does: anonymous clients where anonymous
// access was turned off, and clients whose password file entry was removed
// or changed. Clients let in by a certificate, a token, an AUTH exchange or
// a hook stay; topic access is checked against the new rules from now on.
func (b *Broker) recheck() {
	b.disconnectWhere(packet.AdministrativeAction, func(s *session, sec *security) string {
		switch {
		case s.anonymous && !sec.AllowAnonymous:
			return "the reload turned anonymous access off"
		case s.cred() != 0 && !sec.files.credValid(s.user(), s.cred()):
			return "the reload found its password file entry gone or changed"
		}
		return ""
	})
}

// disconnectWhere ends the connection of every connected client for which
// why gives a reason: logged, and told code (5.0).
func (b *Broker) disconnectWhere(code packet.ReasonCode, why func(*session, *security) string) {
	for _, c := range b.conns {
		if c == nil || c.state != stateConnected || c.sess == nil {
			continue
		}
		if r := why(c.sess, c.ln.sec); r != "" {
			b.log.Noticef("Client %s disconnected: %s.", c.sess.id, r)
			c.sendDisconnect(code)
			c.b.disconnect(c, false)
		}
	}
}

// credentialChecks reports whether any hook judges credentials, so failed
// logins are worth counting.
func (b *Broker) credentialChecks(sec *security) bool {
	return len(b.hooks) > 0 || len(sec.authn) > 0
}
