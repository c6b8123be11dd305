//go:build !noauth

package broker

import (
	"fmt"
	"time"

	"midge/broker/auth"
	"midge/broker/packet"
	"midge/broker/wheel"
)

// authFiles are the password and ACL files in force; reload swaps them
// whole, so a broken file on SIGHUP keeps the old ones.
type authFiles struct {
	passwords *auth.Passwords
	acl       *auth.ACL
	jwt       *auth.JWT
}

// AuthCompiled reports whether password and ACL files are compiled in.
const AuthCompiled = true

func loadAuthFiles(passwordFile, aclFile, jwtFile string) (*authFiles, error) {
	af := &authFiles{}
	var err error
	if passwordFile != "" {
		if af.passwords, err = auth.LoadPasswords(passwordFile); err != nil {
			return nil, fmt.Errorf("password_file: %w", err)
		}
	}
	if aclFile != "" {
		if af.acl, err = auth.LoadACL(aclFile); err != nil {
			return nil, fmt.Errorf("acl_file: %w", err)
		}
	}
	if jwtFile != "" {
		if af.jwt, err = auth.LoadJWT(jwtFile); err != nil {
			return nil, fmt.Errorf("jwt_key_file: %w", err)
		}
	}
	return af, nil
}

// hooks are the built-in chain elements the files enable: a JWT verifier
// (a token judges credentials and its claims limit topics), the password
// file, the ACL file.
func (af *authFiles) hooks() (authn, authz []hook) {
	if af.jwt != nil {
		authn = append(authn, jwtHook{af.jwt})
		authz = append(authz, jwtHook{af.jwt})
	}
	if af.passwords != nil {
		authn = append(authn, passwordHook{af.passwords})
	}
	if af.acl != nil {
		authz = append(authz, aclHook{af.acl})
	}
	return authn, authz
}

// warnings are the password file entries the load skipped.
func (af *authFiles) warnings() []string {
	if af == nil || af.passwords == nil {
		return nil
	}
	return af.passwords.Warnings()
}

func (af *authFiles) hasPasswords() bool { return af != nil && af.passwords != nil }

// sessionClaims is what a session keeps from its token (topic rules).
type sessionClaims = *auth.Claims

// jwtHook verifies a password that is a JWT; other passwords it defers.
type jwtHook struct{ j *auth.JWT }

func (h jwtHook) authenticate(c Client, password []byte, r *authResult) Decision {
	if !auth.LooksLikeJWT(password) {
		return Defer
	}
	claims, err := h.j.Verify(string(password))
	if err != nil {
		return Deny
	}
	r.claims, r.username = claims, claims.Subject
	return Allow
}

// authorize applies a token's topic rules: they only ever narrow.
func (jwtHook) authorize(s *session, _ Client, a Access, topic []byte) Decision {
	c := s.claims()
	switch {
	case c == nil || a == AccessReceive:
		return Defer
	case !c.Allows(topic, a == AccessPublish):
		return Deny
	}
	return Defer
}

// passwordHook checks a user name and password against the password file;
// a client without a user name it defers.
type passwordHook struct{ p *auth.Passwords }

func (h passwordHook) authenticate(c Client, password []byte, r *authResult) Decision {
	if c.Anonymous {
		return Defer
	}
	if h.p.Check(c.Username, password) {
		r.cred, _ = h.p.Fingerprint(c.Username)
		return Allow
	}
	return Deny
}

// credValid reports whether user's password file entry is still cred.
func (af *authFiles) credValid(user string, cred uint64) bool {
	if !af.hasPasswords() {
		return false
	}
	fp, ok := af.passwords.Fingerprint(user)
	return ok && fp == cred
}

func (passwordHook) authorize(*session, Client, Access, []byte) Decision { return Defer }

// aclHook grants what the ACL file grants and denies everything else.
type aclHook struct{ a *auth.ACL }

func (aclHook) authenticate(Client, []byte, *authResult) Decision { return Defer }

func (h aclHook) authorize(_ *session, c Client, a Access, topic []byte) Decision {
	var ok bool
	switch a {
	case AccessPublish:
		ok = h.a.Allowed(c.ID, c.Username, c.Anonymous, topic, auth.Write)
	case AccessReceive:
		ok = h.a.Allowed(c.ID, c.Username, c.Anonymous, topic, auth.Read)
	default:
		ok = h.a.AllowedFilter(c.ID, c.Username, c.Anonymous, topic)
	}
	if ok {
		return Allow
	}
	return Deny
}

// tokenSweep is how often connections are checked for expired tokens.
const tokenSweep = time.Second

// armTokenSweep runs sweepTokens while any listener verifies JWTs.
func (b *Broker) armTokenSweep() {
	b.tokens.Owner = wheel.Func(b.sweepTokens)
	for _, l := range b.listeners {
		if l.sec.files != nil && l.sec.files.jwt != nil {
			b.wheel.Schedule(&b.tokens, b.now, tokenSweep)
			return
		}
	}
	b.wheel.Stop(&b.tokens)
}

// sweepTokens ends the connections whose token expired: a token's exp
// bounds the connection it opened, not only the login (5.0 clients get
// DISCONNECT 0xA0 Maximum connect time).
func (b *Broker) sweepTokens() {
	b.wheel.Schedule(&b.tokens, b.now, tokenSweep)
	b.disconnectWhere(packet.MaximumConnectTime, func(s *session, _ *security) string {
		if cl := s.claims(); cl != nil && !cl.Until.IsZero() && b.now.After(cl.Until) {
			return "its token expired"
		}
		return ""
	})
}

// scramAuth offers SCRAM-SHA-256 and SCRAM-SHA-512 (MQTT 5 enhanced
// authentication) with the credentials of the password file in force.
type scramAuth struct {
	b      *Broker
	method string
}

func (a scramAuth) Method() string { return a.method }

func (a scramAuth) Begin(c Client) AuthExchange {
	h, _ := auth.SCRAMHash(a.method)
	return &auth.SCRAMServer{Hash: h, Lookup: func(user string) (auth.SCRAMCredentials, bool) {
		af := a.b.listeners[c.Listener].sec.files
		if !af.hasPasswords() {
			return auth.SCRAMCredentials{}, false
		}
		return af.passwords.SCRAMCredentialsFor(a.method, user)
	}}
}

func (b *Broker) registerBuiltinAuth() {
	for _, m := range []string{"SCRAM-SHA-256", "SCRAM-SHA-512"} {
		b.RegisterAuth(scramAuth{b: b, method: m})
	}
}
