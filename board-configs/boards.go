// Package boardconfigs embeds the board files: one TOML file per supported
// board, in midge's configuration schema, applied under the user's own
// settings (`midge --board NAME`, or `board = "NAME"` in the config).
package boardconfigs

import (
	"embed"
	"sort"
	"strings"

	"midge/broker/config"
)

//go:embed *.toml
var files embed.FS

func init() { config.Boards = Lookup }

// Lookup returns the board file for name.
func Lookup(name string) ([]byte, bool) {
	data, err := files.ReadFile(name + ".toml")
	return data, err == nil
}

// Names lists the boards.
func Names() []string {
	ents, _ := files.ReadDir(".")
	var names []string
	for _, e := range ents {
		names = append(names, strings.TrimSuffix(e.Name(), ".toml"))
	}
	sort.Strings(names)
	return names
}
