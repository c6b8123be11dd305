package config

import (
	"path/filepath"
	"testing"
)

// FuzzMosquittoConf: any mosquitto.conf text gives a config or an error
// naming a line, never a panic.
func FuzzMosquittoConf(f *testing.F) {
	for _, s := range []string{
		"listener 1883\nallow_anonymous true\n",
		"port 1884\nbind_address 127.0.0.1\nmax_connections -1\n",
		"# c\nmax_packet_size 0x100\nsys_interval 010\nlog_dest stdout\nlog_type all\n",
		"listener 0 /tmp/sock\nprotocol websockets\npersistence true\nconnection b\naddress x:1\n",
		"max_inflight_messages 0\nmax_queued_messages -5\nauto_id_prefix  pre \r\n",
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ImportMosquitto(filepath.Join(dir, "fuzz.conf"), data)
		if err == nil {
			c.Validate()
			if _, err := c.TOML(); err != nil {
				t.Fatalf("imported config does not render: %v", err)
			}
		}
	})
}

// FuzzTOML: any TOML text gives a config or an error, never a panic.
func FuzzTOML(f *testing.F) {
	f.Add(DefaultTOML())
	f.Add([]byte("max_connections = 5\n[[listener]]\nport = 1\n[log]\ndest=[\"stdout\"]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if c, err := parseTOML(data, "fuzz.toml"); err == nil {
			c.Validate()
		}
	})
}
