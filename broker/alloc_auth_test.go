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
	acl := filepath.Join(t.TempDir(), "acl")
	os.WriteFile(acl, []byte("topic deny sensors/secret/#\ntopic read #\npattern write sensors/+/%c\npattern write sensors/kitchen/temp\n"), 0o600)
	qos0Allocs(t, func(c *config.Config) { c.ACLFile = acl })
}
