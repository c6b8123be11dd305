//go:build noauth

package main

import "midge/broker/config"

// checkPasswordFiles: builds without password files have none to check.
func checkPasswordFiles(*config.Config) (warnings, errs []string) { return nil, nil }
