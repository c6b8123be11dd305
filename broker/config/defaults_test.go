//go:build !notoml

package config

import (
	"reflect"
	"testing"
)

func TestDefaultLiteralMatchesDefaultTOML(t *testing.T) {
	parsed, err := parseTOML(defaultTOML, "")
	if err != nil {
		t.Fatal(err)
	}
	if lit := defaultLiteral(); !reflect.DeepEqual(parsed, lit) {
		t.Fatalf("default.toml and defaultLiteral differ:\n%+v\n%+v", parsed, lit)
	}
}
