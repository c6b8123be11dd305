//go:build noauth

package broker

import "errors"

// Built with the noauth tag: no password or ACL files (the smallest images).
type authFiles struct{}

// AuthCompiled reports whether password and ACL files are compiled in.
const AuthCompiled = false

type noClaims struct{}

type sessionClaims = *noClaims

func (af *authFiles) checkJWT([]byte) (sessionClaims, bool, error) { return nil, false, nil }

func loadAuthFiles(passwordFile, aclFile, jwtFile string) (*authFiles, error) {
	if passwordFile != "" || aclFile != "" || jwtFile != "" {
		return nil, errors.New("password_file/acl_file: not compiled into this build (noauth)")
	}
	return nil, nil
}

func (af *authFiles) hasPasswords() bool                  { return false }
func (af *authFiles) hasACL() bool                        { return false }
func (af *authFiles) checkPassword(string, []byte) bool   { return false }
func (af *authFiles) allowed(*session, []byte, bool) bool { return true }
func (af *authFiles) allowedFilter(*session, []byte) bool { return true }

func claimSubject(sessionClaims) string { return "" }

func (b *Broker) registerBuiltinAuth() {}
