//go:build !noauth

package main

import (
	"midge/broker/auth"
	"midge/broker/config"
)

// checkPasswordFiles reads the password files cfg names, for --test-config:
// the entries the broker will skip (warnings, each naming file and line)
// and the files it cannot read (errors: the broker would not start).
func checkPasswordFiles(cfg *config.Config) (warnings, errs []string) {
	seen := map[string]bool{}
	for i := range cfg.Listeners {
		f := cfg.ListenerSecurity(i).PasswordFile
		if f == "" || seen[f] {
			continue
		}
		seen[f] = true
		p, err := auth.LoadPasswords(f)
		if err != nil {
			errs = append(errs, "password_file: "+err.Error())
			continue
		}
		warnings = append(warnings, p.Warnings()...)
	}
	return warnings, errs
}
