package config

import (
	"reflect"
	"strings"
)

// Reload returns the configuration to run after a reload: c with every
// field tagged `reload:"yes"` taken from next, and the keys of the fields
// that differ in next but need a restart (they keep c's values). Tables of
// a list (listeners) take their reloadable fields from next only while the
// list keeps its length.
func (c *Config) Reload(next *Config) (*Config, []string) {
	out := *c
	out.Notes = next.Notes
	var restart []string
	merge(reflect.ValueOf(&out).Elem(), reflect.ValueOf(next).Elem(), "", &restart)
	return &out, restart
}

// tomlKey is a field's full TOML key under prefix ("" for fields that are
// not in the file).
func tomlKey(f reflect.StructField, prefix string) string {
	key := strings.Split(f.Tag.Get("toml"), ",")[0]
	if key == "" || key == "-" {
		return ""
	}
	if prefix != "" {
		key = prefix + "." + key
	}
	return key
}

func merge(dst, src reflect.Value, prefix string, restart *[]string) {
	t := dst.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		key := tomlKey(f, prefix)
		if key == "" {
			continue
		}
		d, s := dst.Field(i), src.Field(i)
		switch {
		case f.Tag.Get("reload") == "yes":
			d.Set(s)
		case f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(Duration(0)):
			merge(d, s, key, restart)
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct && d.Len() == s.Len():
			// The same tables (listeners): their reloadable fields apply,
			// any other change needs a restart and is reported once.
			out := reflect.MakeSlice(f.Type, d.Len(), d.Len())
			var inner []string
			for j := 0; j < out.Len(); j++ {
				out.Index(j).Set(d.Index(j))
				merge(out.Index(j), s.Index(j), key, &inner)
			}
			if len(inner) > 0 {
				*restart = append(*restart, key)
			}
			d.Set(out)
		case !reflect.DeepEqual(d.Interface(), s.Interface()):
			*restart = append(*restart, key)
		}
	}
}

// ReloadableKeys lists the keys a reload applies (for docs and tests).
func ReloadableKeys() []string {
	var keys []string
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			key := tomlKey(f, prefix)
			if key == "" {
				continue
			}
			switch {
			case f.Tag.Get("reload") == "yes":
				keys = append(keys, key)
			case f.Type.Kind() == reflect.Struct:
				walk(f.Type, key)
			case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
				walk(f.Type.Elem(), key) // "listener.password_file": every listener's
			}
		}
	}
	walk(reflect.TypeOf(Config{}), "")
	return keys
}
