package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"strings"
	"time"
)

// JWT verifies JSON Web Tokens given as the CONNECT password: HS256 with a
// shared secret, RS256, ES256 or EdDSA with a public key (PEM) or the keys
// of a JWKS file. "alg": "none" and an algorithm that does not fit the key
// are refused; exp and nbf are honoured (on the wall clock: a board without
// an RTC refuses tokens until its clock is set).
type JWT struct {
	keys   map[string]any // kid -> key ("" = the only key)
	Leeway time.Duration
	now    func() time.Time
}

// Claims are what a verified token says that midge uses.
type Claims struct {
	Subject   string   `json:"sub"`
	ExpiresAt *float64 `json:"exp"`
	NotBefore *float64 `json:"nbf"`
	// Optional topic rules: when present, PUBLISH and SUBSCRIBE are limited
	// to these filters (on top of any ACL file).
	Publish   []string `json:"publish"`
	Subscribe []string `json:"subscribe"`
	// Until is when the token stops being valid (exp plus the leeway);
	// zero when it has no exp.
	Until time.Time `json:"-"`
}

// LoadJWT reads the verification key: a PEM public key or certificate, a
// JWKS file (JSON with "keys"), or any other file as an HS256 secret.
func LoadJWT(path string) (*JWT, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseJWT(path, data)
}

// ParseJWT reads verification key content (path is for errors).
func ParseJWT(path string, data []byte) (*JWT, error) {
	var err error
	j := &JWT{keys: map[string]any{}, Leeway: 30 * time.Second, now: time.Now}
	trimmed := strings.TrimSpace(string(data))
	switch {
	case strings.HasPrefix(trimmed, "{"):
		if err := j.loadJWKS(data); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	case strings.HasPrefix(trimmed, "-----BEGIN"):
		b, _ := pem.Decode(data)
		if b == nil {
			return nil, fmt.Errorf("%s: bad PEM", path)
		}
		var key any
		if b.Type == "CERTIFICATE" {
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			key = c.PublicKey
		} else if key, err = x509.ParsePKIXPublicKey(b.Bytes); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		j.keys[""] = key
	default:
		if len(trimmed) < 32 {
			return nil, fmt.Errorf("%s: an HS256 secret needs at least 32 bytes", path)
		}
		j.keys[""] = []byte(trimmed)
	}
	return j, nil
}

func (j *JWT) loadJWKS(data []byte) error {
	var set struct {
		Keys []struct {
			Kty, Kid, Crv, N, E, X, Y, K string
		} `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return err
	}
	b64 := base64.RawURLEncoding.DecodeString
	for _, k := range set.Keys {
		switch k.Kty {
		case "RSA":
			n, err1 := b64(k.N)
			e, err2 := b64(k.E)
			if err1 != nil || err2 != nil {
				return errors.New("bad RSA key")
			}
			j.keys[k.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		case "EC":
			x, err1 := b64(k.X)
			y, err2 := b64(k.Y)
			if err1 != nil || err2 != nil || k.Crv != "P-256" {
				return errors.New("bad EC key (P-256 only)")
			}
			raw := append([]byte{4}, append(pad32(x), pad32(y)...)...)
			pk, err := ecdsa.ParseUncompressedPublicKey(ellipticP256(), raw)
			if err != nil {
				return err
			}
			j.keys[k.Kid] = pk
		case "OKP":
			x, err := b64(k.X)
			if err != nil || k.Crv != "Ed25519" || len(x) != ed25519.PublicKeySize {
				return errors.New("bad OKP key (Ed25519 only)")
			}
			j.keys[k.Kid] = ed25519.PublicKey(x)
		case "oct":
			s, err := b64(k.K)
			if err != nil {
				return errors.New("bad oct key")
			}
			j.keys[k.Kid] = s
		}
	}
	if len(j.keys) == 0 {
		return errors.New("no usable keys")
	}
	return nil
}

func pad32(b []byte) []byte {
	if len(b) >= 32 {
		return b
	}
	return append(make([]byte, 32-len(b)), b...)
}

// LooksLikeJWT reports whether a password has a JWT's three parts.
func LooksLikeJWT(p []byte) bool {
	return strings.Count(string(p), ".") == 2 && len(p) > 20
}

// Verify checks a token's signature and times and returns its claims.
func (j *JWT) Verify(token string) (*Claims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a JWT")
	}
	dec := base64.RawURLEncoding.DecodeString
	hb, err1 := dec(parts[0])
	pb, err2 := dec(parts[1])
	sig, err3 := dec(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return nil, errors.New("bad base64url")
	}
	var h struct{ Alg, Kid string }
	if err := json.Unmarshal(hb, &h); err != nil {
		return nil, errors.New("bad header")
	}
	key, ok := j.keys[h.Kid]
	if !ok && len(j.keys) == 1 {
		for _, k := range j.keys {
			key, ok = k, true
		}
	}
	if !ok {
		return nil, fmt.Errorf("unknown key id %q", h.Kid)
	}
	signed := []byte(parts[0] + "." + parts[1])
	digest := sha256.Sum256(signed)
	switch k := key.(type) {
	case []byte:
		if h.Alg != "HS256" {
			return nil, fmt.Errorf("algorithm %q does not fit an HMAC key", h.Alg)
		}
		m := hmac.New(sha256.New, k)
		m.Write(signed)
		if !hmac.Equal(m.Sum(nil), sig) {
			return nil, errors.New("bad signature")
		}
	case *rsa.PublicKey:
		if h.Alg != "RS256" || rsa.VerifyPKCS1v15(k, crypto.SHA256, digest[:], sig) != nil {
			return nil, errors.New("bad signature or algorithm")
		}
	case *ecdsa.PublicKey:
		if h.Alg != "ES256" || len(sig) != 64 ||
			!ecdsa.Verify(k, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
			return nil, errors.New("bad signature or algorithm")
		}
	case ed25519.PublicKey:
		if (h.Alg != "EdDSA" && h.Alg != "Ed25519") || !ed25519.Verify(k, signed, sig) {
			return nil, errors.New("bad signature or algorithm")
		}
	default:
		return nil, errors.New("unsupported key")
	}
	var c Claims
	if err := json.Unmarshal(pb, &c); err != nil {
		return nil, errors.New("bad claims")
	}
	now := j.now()
	if c.ExpiresAt != nil && now.After(time.Unix(int64(*c.ExpiresAt), 0).Add(j.Leeway)) {
		return nil, errors.New("token expired")
	}
	if c.NotBefore != nil && now.Add(j.Leeway).Before(time.Unix(int64(*c.NotBefore), 0)) {
		return nil, errors.New("token not valid yet")
	}
	if c.ExpiresAt != nil {
		c.Until = time.Unix(int64(*c.ExpiresAt), 0).Add(j.Leeway)
	}
	return &c, nil
}

// Allows reports whether claims permit publishing (or subscribing) on a
// topic or filter; no rule of that kind means no restriction.
func (c *Claims) Allows(topicOrFilter []byte, publish bool) bool {
	rules := c.Subscribe
	if publish {
		rules = c.Publish
	}
	if rules == nil {
		return true
	}
	for _, r := range rules {
		if Match(r, topicOrFilter) || (!publish && MatchFilter(r, string(topicOrFilter))) {
			return true
		}
	}
	return false
}
