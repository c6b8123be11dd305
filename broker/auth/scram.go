package auth

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	gohash "hash"
	"strconv"
	"strings"
)

// SCRAM (RFC 5802, RFC 7677) as an MQTT 5 enhanced authentication method:
// the client never sends its password, only a proof, and the broker proves
// it knows the credentials too. SCRAM-SHA-512 uses the password file's $7$
// entries as they are (a $7$ hash is PBKDF2-HMAC-SHA512, SCRAM's salted
// password); SCRAM-SHA-256 uses $scram-sha-256$ entries written by
// `midge passwd -H scram-sha-256` (a midge extension Mosquitto does not read).

// SCRAMCredentials are what the server keeps for one user.
type SCRAMCredentials struct {
	Salt       []byte
	Iterations int
	StoredKey  []byte
	ServerKey  []byte
}

// SCRAMHash returns the hash for a mechanism name.
func SCRAMHash(method string) (func() gohash.Hash, bool) {
	switch method {
	case "SCRAM-SHA-256":
		return sha256.New, true
	case "SCRAM-SHA-512":
		return sha512.New, true
	}
	return nil, false
}

func hmacSum(h func() gohash.Hash, key []byte, msg string) []byte {
	m := hmac.New(h, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// SCRAMFromSalted derives the stored keys from a salted password.
func SCRAMFromSalted(h func() gohash.Hash, salted, salt []byte, iterations int) SCRAMCredentials {
	clientKey := hmacSum(h, salted, "Client Key")
	d := h()
	d.Write(clientKey)
	return SCRAMCredentials{Salt: salt, Iterations: iterations, StoredKey: d.Sum(nil), ServerKey: hmacSum(h, salted, "Server Key")}
}

// SCRAMCredentialsFor finds the credentials of user for method in the
// password file.
func (p *Passwords) SCRAMCredentialsFor(method, user string) (SCRAMCredentials, bool) {
	hsh, ok := p.users[user]
	if !ok {
		return SCRAMCredentials{}, false
	}
	switch {
	case method == "SCRAM-SHA-512" && hsh.kind == "7":
		return SCRAMFromSalted(sha512.New, hsh.sum, hsh.salt, hsh.iterations), true
	case method == "SCRAM-SHA-256" && hsh.kind == "scram-sha-256":
		return SCRAMCredentials{Salt: hsh.salt, Iterations: hsh.iterations, StoredKey: hsh.sum, ServerKey: hsh.serverKey}, true
	}
	return SCRAMCredentials{}, false
}

// EncodeSCRAM256 writes a $scram-sha-256$ entry:
// $scram-sha-256$<iterations>$<salt>$<stored key>$<server key> (base64).
func EncodeSCRAM256(password []byte, iterations int) (string, error) {
	salt := random(16)
	salted, err := pbkdf2.Key(sha256.New, string(password), salt, iterations, sha256.Size)
	if err != nil {
		return "", err
	}
	c := SCRAMFromSalted(sha256.New, salted, salt, iterations)
	e := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("$scram-sha-256$%d$%s$%s$%s", iterations, e(salt), e(c.StoredKey), e(c.ServerKey)), nil
}

// SCRAMServer is one server-side exchange.
type SCRAMServer struct {
	Hash   func() gohash.Hash
	Lookup func(user string) (SCRAMCredentials, bool)

	step       int
	nonce      string
	clientBare string
	server1    string
	cred       SCRAMCredentials
	User       string // the authenticated user once done
}

var errSCRAM = errors.New("SCRAM authentication failed")

// Step implements one round: client-first → server-first, client-final →
// server-final (done).
func (s *SCRAMServer) Step(data []byte) ([]byte, bool, error) {
	s.step++
	msg := string(data)
	switch s.step {
	case 1:
		// gs2 header: no channel binding, no authzid.
		if !strings.HasPrefix(msg, "n,,") {
			return nil, false, errSCRAM
		}
		s.clientBare = msg[3:]
		attrs := scramAttrs(s.clientBare)
		user, cnonce := attrs["n"], attrs["r"]
		if user == "" || cnonce == "" {
			return nil, false, errSCRAM
		}
		user = strings.NewReplacer("=2C", ",", "=3D", "=").Replace(user)
		cred, ok := s.Lookup(user)
		if !ok {
			// Answer as for a real user, with a salt derived from the name,
			// so the reply does not tell which users exist.
			d := s.Hash()
			d.Write([]byte("midge-scram-unknown:" + user))
			cred = SCRAMCredentials{Salt: d.Sum(nil)[:16], Iterations: 4096}
		}
		s.cred, s.User = cred, user
		s.nonce = cnonce + base64.RawStdEncoding.EncodeToString(random(18))
		s.server1 = "r=" + s.nonce + ",s=" + base64.StdEncoding.EncodeToString(cred.Salt) + ",i=" + strconv.Itoa(cred.Iterations)
		return []byte(s.server1), false, nil
	case 2:
		attrs := scramAttrs(msg)
		i := strings.LastIndex(msg, ",p=")
		if i < 0 || attrs["r"] != s.nonce || attrs["c"] != "biws" || len(s.cred.StoredKey) == 0 {
			return nil, false, errSCRAM
		}
		proof, err := base64.StdEncoding.DecodeString(attrs["p"])
		if err != nil {
			return nil, false, errSCRAM
		}
		authMsg := s.clientBare + "," + s.server1 + "," + msg[:i]
		sig := hmacSum(s.Hash, s.cred.StoredKey, authMsg)
		if len(proof) != len(sig) {
			return nil, false, errSCRAM
		}
		clientKey := make([]byte, len(sig))
		for k := range sig {
			clientKey[k] = proof[k] ^ sig[k]
		}
		d := s.Hash()
		d.Write(clientKey)
		if subtle.ConstantTimeCompare(d.Sum(nil), s.cred.StoredKey) != 1 {
			return nil, false, errSCRAM
		}
		return []byte("v=" + base64.StdEncoding.EncodeToString(hmacSum(s.Hash, s.cred.ServerKey, authMsg))), true, nil
	}
	return nil, false, errSCRAM
}

func scramAttrs(msg string) map[string]string {
	m := map[string]string{}
	for _, part := range strings.Split(msg, ",") {
		if k, v, ok := strings.Cut(part, "="); ok && len(k) == 1 {
			m[k] = v
		}
	}
	return m
}

// AuthenticatedUser is the user a finished exchange authenticated.
func (s *SCRAMServer) AuthenticatedUser() string { return s.User }
