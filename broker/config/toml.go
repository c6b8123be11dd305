//go:build !notoml

package config

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// TOMLSupported reports whether this build reads TOML files.
const TOMLSupported = true

func defaultConfig() (*Config, error) { return parseTOML(defaultTOML, "") }

// peek reads the keys that change how the rest of a file is applied: its
// board, and whether it sets allow_anonymous at all.
func peek(data []byte) (board string, anonSet bool) {
	var p struct {
		Board          string `toml:"board"`
		AllowAnonymous *bool  `toml:"allow_anonymous"`
	}
	toml.Unmarshal(data, &p)
	return p.Board, p.AllowAnonymous != nil
}

// decodeOver decodes TOML data over c; unknown keys are errors.
func decodeOver(c *Config, data []byte, name string) error {
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		return tomlError(name, data, err)
	}
	return nil
}

// parseTOML decodes data over the defaults; unknown keys are errors.
func parseTOML(data []byte, path string) (*Config, error) {
	c := &Config{}
	if path != "" {
		c = Default()
		c.Listeners, c.LocalOnly = nil, false
	}
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		return nil, tomlError(path, data, err)
	}
	if path != "" && len(c.Listeners) == 0 {
		c.Listeners, c.LocalOnly = Default().Listeners, true
	}
	for i := range c.Listeners {
		if c.Listeners[i].Protocol == "" {
			c.Listeners[i].Protocol = "mqtt"
		}
	}
	c.Source = path
	return c, nil
}

func tomlError(path string, data []byte, err error) error {
	name := path
	if name == "" {
		name = "<default>"
	}
	var sm *toml.StrictMissingError
	if errors.As(err, &sm) {
		var msgs []string
		for _, e := range sm.Errors {
			row, _ := e.Position()
			msgs = append(msgs, fmt.Sprintf("%s:%d: unknown key %q", name, row, strings.Join(e.Key(), ".")))
		}
		return errors.New(strings.Join(msgs, "\n"))
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, _ := de.Position()
		return fmt.Errorf("%s:%d: %s: %v", name, row, strings.Join(de.Key(), "."), de.Error())
	}
	return fmt.Errorf("%s: %v", name, err)
}

// TOML renders c as a TOML file (used by `midge convert`).
func (c *Config) TOML() ([]byte, error) {
	return toml.Marshal(c)
}
