package config

import (
	"fmt"
	"strings"
)

// tls12Suites are the TLS 1.2 cipher suites Go's TLS offers as secure, by
// OpenSSL name (what mosquitto.conf's `ciphers` holds) and IANA name.
// Go does not let TLS 1.3 suites be chosen: all three are always offered.
var tls12Suites = map[string]string{
	"ECDHE-ECDSA-AES128-GCM-SHA256": "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
	"ECDHE-RSA-AES128-GCM-SHA256":   "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
	"ECDHE-ECDSA-AES256-GCM-SHA384": "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
	"ECDHE-RSA-AES256-GCM-SHA384":   "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
	"ECDHE-ECDSA-CHACHA20-POLY1305": "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
	"ECDHE-RSA-CHACHA20-POLY1305":   "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
	"ECDHE-ECDSA-AES128-SHA":        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
	"ECDHE-ECDSA-AES256-SHA":        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
	"ECDHE-RSA-AES128-SHA":          "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
	"ECDHE-RSA-AES256-SHA":          "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
}

// CipherSuiteName is the IANA name of a TLS 1.2 suite named either way,
// and whether Go offers it.
func CipherSuiteName(name string) (string, bool) {
	if iana, ok := tls12Suites[name]; ok {
		return iana, true
	}
	for _, iana := range tls12Suites {
		if iana == name {
			return iana, true
		}
	}
	return "", false
}

// importCiphers turns an OpenSSL cipher list ("ECDHE-RSA-AES128-GCM-SHA256:
// HIGH:!aNULL") into the suites midge can name: the explicit ones Go
// offers. Keywords, exclusions and suites Go lacks (DHE, CCM, RSA key
// exchange) are reported; none usable keeps Go's defaults.
func importCiphers(list string) (suites, skipped []string) {
	for _, n := range strings.FieldsFunc(list, func(r rune) bool { return r == ':' || r == ',' || r == ' ' }) {
		if _, ok := CipherSuiteName(n); ok {
			suites = append(suites, n)
		} else {
			skipped = append(skipped, n)
		}
	}
	return suites, skipped
}

func validCiphers(names []string) error {
	for _, n := range names {
		if _, ok := CipherSuiteName(n); !ok {
			return fmt.Errorf("%q is not a TLS 1.2 suite Go offers (ECDHE with AES-GCM, ChaCha20-Poly1305 or AES-CBC-SHA, by OpenSSL or IANA name)", n)
		}
	}
	return nil
}
