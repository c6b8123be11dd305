package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func b64u(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// sign makes a token with alg over claims using key.
func sign(t *testing.T, alg, kid string, claims map[string]any, key any) string {
	h, _ := json.Marshal(map[string]string{"alg": alg, "typ": "JWT", "kid": kid})
	c, _ := json.Marshal(claims)
	in := b64u(h) + "." + b64u(c)
	d := sha256.Sum256([]byte(in))
	var sig []byte
	switch k := key.(type) {
	case []byte:
		m := hmac.New(sha256.New, k)
		m.Write([]byte(in))
		sig = m.Sum(nil)
	case *rsa.PrivateKey:
		sig, _ = rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, d[:])
	case *ecdsa.PrivateKey:
		r, s, _ := ecdsa.Sign(rand.Reader, k, d[:])
		sig = append(pad32(r.Bytes()), pad32(s.Bytes())...)
	case ed25519.PrivateKey:
		sig = ed25519.Sign(k, []byte(in))
	case nil:
	}
	return in + "." + b64u(sig)
}

func pemFile(t *testing.T, dir, name string, pub any) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600)
	return p
}

func TestJWTAlgorithms(t *testing.T) {
	dir := t.TempDir()
	now := float64(time.Now().Unix())
	good := map[string]any{"sub": "dev1", "exp": now + 600, "publish": []string{"devices/dev1/#"}}
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, dk, _ := ed25519.GenerateKey(rand.Reader)
	secret := []byte("a shared secret of at least thirty-two bytes")
	os.WriteFile(filepath.Join(dir, "secret"), secret, 0o600)
	cases := []struct {
		name, alg string
		file      string
		key       any
	}{
		{"HS256", "HS256", filepath.Join(dir, "secret"), secret},
		{"RS256", "RS256", pemFile(t, dir, "rsa.pem", &rk.PublicKey), rk},
		{"ES256", "ES256", pemFile(t, dir, "ec.pem", &ek.PublicKey), ek},
		{"EdDSA", "EdDSA", pemFile(t, dir, "ed.pem", dk.Public()), dk},
	}
	for _, c := range cases {
		j, err := LoadJWT(c.file)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		cl, err := j.Verify(sign(t, c.alg, "", good, c.key))
		if err != nil || cl.Subject != "dev1" {
			t.Fatalf("%s: good token refused: %v", c.name, err)
		}
		if !cl.Allows([]byte("devices/dev1/t"), true) || cl.Allows([]byte("devices/dev2/t"), true) || !cl.Allows([]byte("anything"), false) {
			t.Fatalf("%s: claim topic rules", c.name)
		}
		expired := map[string]any{"sub": "dev1", "exp": now - 3600}
		if _, err := j.Verify(sign(t, c.alg, "", expired, c.key)); err == nil {
			t.Fatalf("%s: expired token accepted", c.name)
		}
		early := map[string]any{"sub": "dev1", "nbf": now + 3600}
		if _, err := j.Verify(sign(t, c.alg, "", early, c.key)); err == nil {
			t.Fatalf("%s: token before nbf accepted", c.name)
		}
		if _, err := j.Verify(sign(t, "none", "", good, nil)); err == nil {
			t.Fatalf("%s: alg none accepted", c.name)
		}
	}
	// Wrong key, and an algorithm that does not fit the key.
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	j, _ := LoadJWT(cases[1].file)
	if _, err := j.Verify(sign(t, "RS256", "", good, other)); err == nil {
		t.Fatal("token signed by another key accepted")
	}
	if _, err := j.Verify(sign(t, "HS256", "", good, secret)); err == nil {
		t.Fatal("HS256 accepted against an RSA key")
	}
}

func TestJWKS(t *testing.T) {
	ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	jwks := map[string]any{"keys": []map[string]string{
		{"kty": "EC", "kid": "ec1", "crv": "P-256", "x": b64u(pad32(ek.X.Bytes())), "y": b64u(pad32(ek.Y.Bytes()))},
		{"kty": "RSA", "kid": "rsa1", "n": b64u(rk.N.Bytes()), "e": b64u(big.NewInt(int64(rk.E)).Bytes())},
	}}
	data, _ := json.Marshal(jwks)
	p := filepath.Join(t.TempDir(), "jwks.json")
	os.WriteFile(p, data, 0o600)
	j, err := LoadJWT(p)
	if err != nil {
		t.Fatal(err)
	}
	claims := map[string]any{"sub": "x", "exp": float64(time.Now().Unix() + 60)}
	if _, err := j.Verify(sign(t, "ES256", "ec1", claims, ek)); err != nil {
		t.Fatalf("EC key from JWKS: %v", err)
	}
	if _, err := j.Verify(sign(t, "RS256", "rsa1", claims, rk)); err != nil {
		t.Fatalf("RSA key from JWKS: %v", err)
	}
	if _, err := j.Verify(sign(t, "RS256", "ec1", claims, rk)); err == nil {
		t.Fatal("kid of another key type accepted")
	}
}
