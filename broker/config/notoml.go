//go:build notoml

package config

import "errors"

// TOMLSupported reports whether this build reads TOML files. Builds tagged
// notoml (the smallest images) read mosquitto.conf only; their defaults
// are defaultLiteral, which a test keeps equal to default.toml.
const TOMLSupported = false

var errNoTOML = errors.New("this build (notoml) reads mosquitto.conf files only")

func defaultConfig() (*Config, error)           { return defaultLiteral(), nil }
func peek([]byte) (string, bool)                { return "", false }
func decodeOver(*Config, []byte, string) error  { return errNoTOML }
func parseTOML([]byte, string) (*Config, error) { return nil, errNoTOML }
func (c *Config) TOML() ([]byte, error)         { return nil, errNoTOML }
