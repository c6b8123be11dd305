//go:build !noauth

package broker

import (
	"fmt"

	"midge/broker/auth"
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

// checkJWT verifies a password that is a JWT; handled reports whether a JWT
// verifier took it.
func (af *authFiles) checkJWT(password []byte) (claims *auth.Claims, handled bool, err error) {
	if af == nil || af.jwt == nil || !auth.LooksLikeJWT(password) {
		return nil, false, nil
	}
	c, err := af.jwt.Verify(string(password))
	return c, true, err
}

func (af *authFiles) hasPasswords() bool { return af != nil && af.passwords != nil }

// sessionClaims is what a session keeps from its token (topic rules).
type sessionClaims = *auth.Claims

func (af *authFiles) hasACL() bool { return af != nil && af.acl != nil }

func (af *authFiles) checkPassword(user string, password []byte) bool {
	return af.passwords.Check(user, password)
}

func (af *authFiles) allowed(s *session, topic []byte, write bool) bool {
	if c := s.claims(); c != nil && write && !c.Allows(string(topic), true) {
		return false
	}
	if af == nil || af.acl == nil {
		return true
	}
	access := auth.Read
	if write {
		access = auth.Write
	}
	return af.acl.Allowed(s.id, s.user(), s.anonymous, string(topic), access)
}

func (af *authFiles) allowedFilter(s *session, filter []byte) bool {
	if c := s.claims(); c != nil && !c.Allows(string(filter), false) {
		return false
	}
	if af == nil || af.acl == nil {
		return true
	}
	return af.acl.AllowedFilter(s.id, s.user(), s.anonymous, string(filter))
}

// claimSubject is the token's "sub" claim.
func claimSubject(c sessionClaims) string {
	if c == nil {
		return ""
	}
	return c.Subject
}

// scramAuth offers SCRAM-SHA-256 and SCRAM-SHA-512 (MQTT 5 enhanced
// authentication) with the credentials of the password file in force.
type scramAuth struct {
	b      *Broker
	method string
}

func (a scramAuth) Method() string { return a.method }

func (a scramAuth) Begin(clientID, username string) AuthExchange {
	h, _ := auth.SCRAMHash(a.method)
	return &auth.SCRAMServer{Hash: h, Lookup: func(user string) (auth.SCRAMCredentials, bool) {
		if !a.b.authz.hasPasswords() {
			return auth.SCRAMCredentials{}, false
		}
		return a.b.authz.passwords.SCRAMCredentialsFor(a.method, user)
	}}
}

func (b *Broker) registerBuiltinAuth() {
	for _, m := range []string{"SCRAM-SHA-256", "SCRAM-SHA-512"} {
		b.RegisterAuth(scramAuth{b: b, method: m})
	}
}
