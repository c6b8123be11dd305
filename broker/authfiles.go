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
}

// AuthCompiled reports whether password and ACL files are compiled in.
const AuthCompiled = true

func loadAuthFiles(passwordFile, aclFile string) (*authFiles, error) {
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
	return af, nil
}

func (af *authFiles) hasPasswords() bool { return af != nil && af.passwords != nil }
func (af *authFiles) hasACL() bool       { return af != nil && af.acl != nil }

func (af *authFiles) checkPassword(user string, password []byte) bool {
	return af.passwords.Check(user, password)
}

func (af *authFiles) allowed(s *session, topic []byte, write bool) bool {
	if af == nil || af.acl == nil {
		return true
	}
	access := auth.Read
	if write {
		access = auth.Write
	}
	return af.acl.Allowed(s.id, s.user, s.anonymous, string(topic), access)
}

func (af *authFiles) allowedFilter(s *session, filter []byte) bool {
	if af == nil || af.acl == nil {
		return true
	}
	return af.acl.AllowedFilter(s.id, s.user, s.anonymous, string(filter))
}
