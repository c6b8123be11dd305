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

func (b *Broker) registerBuiltinAuth() {}
