//go:build !noauth

package broker

import (
	"os"
	"path/filepath"
	"testing"

	"midge/broker/config"
)

// With an ACL file loaded, every publication is checked for write and
// every delivery for read; that still allocates nothing.
func TestQoS0PathWithACLAllocatesNothing(t *testing.T) {
	qos0Allocs(t, withACL(t))
}

// withACL loads an ACL with deny, grant and %c pattern rules.
func withACL(t testing.TB) func(*config.Config) {
	acl := filepath.Join(t.TempDir(), "acl")
	os.WriteFile(acl, []byte("topic deny sensors/secret/#\ntopic read #\npattern write sensors/+/%c\npattern write sensors/kitchen/temp\npattern write bench/%c\ntopic write bench/x\n"), 0o600)
	return func(c *config.Config) { c.ACLFile = acl }
}

// The fan-out with every delivery checked against the ACL, to compare with
// BenchmarkQoS0FanOut.
func BenchmarkQoS0FanOutACL(b *testing.B) { benchFanOut(b, withACL(b)) }
