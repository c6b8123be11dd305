//go:build noauth

package broker

import "errors"

// Built with the noauth tag: no password, ACL or JWT files (the smallest
// images). Hooks added with AddAuthHook still work.
type authFiles struct{}

// AuthCompiled reports whether password and ACL files are compiled in.
const AuthCompiled = false

type noClaims struct{}

type sessionClaims = *noClaims

func loadAuthFiles(passwordFile, aclFile, jwtFile string) (*authFiles, error) {
	if passwordFile != "" || aclFile != "" || jwtFile != "" {
		return nil, errors.New("password_file/acl_file/jwt_key_file: not compiled into this build (noauth)")
	}
	return nil, nil
}

func (af *authFiles) hooks() (authn, authz []hook) { return nil, nil }

func (af *authFiles) credValid(string, uint64) bool { return true }

func (af *authFiles) warnings() []string { return nil }

func (b *Broker) armTokenSweep() {}

func (b *Broker) registerBuiltinAuth() {}

// No built-in credential checks: nothing waits for a verifier.
type pendingLogin struct{}

type verifyJob struct{}

func (b *Broker) startVerifier()                                         {}
func (c *conn) verifyAsync(*security, Client, []byte, *connectReq) error { return nil }
func (c *conn) pendingLogin() *pendingLogin                              { return nil }
func (c *conn) loginWait() bool                                          { return false }
func (c *conn) holdInput([]byte) bool                                    { return true }
