// Package auth holds midge's built-in authentication and authorisation:
// Mosquitto's password file ($6$, $7$, $argon2id$) and ACL file grammar.
package auth

import (
	"bytes"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Passwords is a parsed password file: user name to hash.
type Passwords struct {
	users    map[string]hash
	warnings []string
}

type hash struct {
	kind       string // "6", "7", "argon2id"
	iterations int
	salt, sum  []byte
	serverKey  []byte // scram-sha-256
	// argon2id parameters
	memory  uint32
	time    uint32
	threads uint8
}

// LoadPasswords reads a Mosquitto password file. Lines starting with '#'
// and lines without ':' are skipped, fields are trimmed, as Mosquitto does.
// An entry midge cannot use (another hash scheme, a plaintext password, an
// empty user name, hash parameters above the bounds) is skipped with a
// warning naming file and line (Warnings): that user cannot log in, and
// the others can. The error is only for a file that cannot be read.
func LoadPasswords(path string) (*Passwords, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParsePasswords(path, data)
}

// ParsePasswords parses password file content (name is for warnings). It
// never fails: what it cannot use it skips, with a warning.
func ParsePasswords(name string, data []byte) (*Passwords, error) {
	p := &Passwords{users: map[string]hash{}}
	for n, raw := range bytes.Split(data, []byte("\n")) {
		line := strings.TrimRight(string(raw), "\r")
		if strings.HasPrefix(line, "#") {
			continue
		}
		user, enc, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		user, enc = strings.TrimSpace(user), strings.TrimSpace(enc)
		if user == "" {
			p.warnings = append(p.warnings, fmt.Sprintf("%s:%d: empty user name; entry skipped", name, n+1))
			continue
		}
		h, err := parseHash(enc)
		if err != nil {
			p.warnings = append(p.warnings, fmt.Sprintf("%s:%d: user %q: %v; entry skipped, this user cannot log in", name, n+1, user, err))
			continue
		}
		p.users[user] = h
	}
	return p, nil
}

// Warnings are the entries the parse skipped, each naming file and line,
// for the log.
func (p *Passwords) Warnings() []string { return p.warnings }

func b64(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }

func parseHash(s string) (hash, error) {
	switch {
	case strings.HasPrefix(s, "$6$"):
		f := strings.Split(s, "$") // "", "6", salt, hash
		if len(f) != 4 {
			return hash{}, errors.New("bad $6$ hash")
		}
		salt, err1 := b64(f[2])
		sum, err2 := b64(f[3])
		if err1 != nil || err2 != nil || len(sum) != sha512.Size {
			return hash{}, errors.New("bad $6$ hash")
		}
		return hash{kind: "6", salt: salt, sum: sum}, nil
	case strings.HasPrefix(s, "$7$"):
		f := strings.Split(s, "$") // "", "7", iterations, salt, hash
		if len(f) != 5 {
			return hash{}, errors.New("bad $7$ hash")
		}
		it, err := strconv.Atoi(f[2])
		salt, err1 := b64(f[3])
		sum, err2 := b64(f[4])
		if err != nil || it < 1 || err1 != nil || err2 != nil || len(sum) != sha512.Size {
			return hash{}, errors.New("bad $7$ hash")
		}
		if it > MaxIterations {
			return hash{}, fmt.Errorf("$7$ iterations %d above the %d midge accepts", it, MaxIterations)
		}
		return hash{kind: "7", iterations: it, salt: salt, sum: sum}, nil
	case strings.HasPrefix(s, "$scram-sha-256$"):
		f := strings.Split(s, "$") // "", "scram-sha-256", iterations, salt, stored key, server key
		if len(f) != 6 {
			return hash{}, errors.New("bad $scram-sha-256$ entry")
		}
		it, err := strconv.Atoi(f[2])
		salt, err1 := b64(f[3])
		stored, err2 := b64(f[4])
		server, err3 := b64(f[5])
		if err != nil || it < 1 || err1 != nil || err2 != nil || err3 != nil {
			return hash{}, errors.New("bad $scram-sha-256$ entry")
		}
		if it > MaxIterations {
			return hash{}, fmt.Errorf("$scram-sha-256$ iterations %d above the %d midge accepts", it, MaxIterations)
		}
		return hash{kind: "scram-sha-256", iterations: it, salt: salt, sum: stored, serverKey: server}, nil
	case strings.HasPrefix(s, "$argon2id$"):
		// $argon2id$v=19$m=47104,t=1,p=1$<salt>$<hash>, unpadded base64
		f := strings.Split(s, "$")
		if len(f) != 6 || f[2] != "v=19" {
			return hash{}, errors.New("bad $argon2id$ hash")
		}
		var m, t, p uint32
		if _, err := fmt.Sscanf(f[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 || p > 255 {
			return hash{}, errors.New("bad $argon2id$ parameters")
		}
		if m > MaxArgon2Memory || t > MaxArgon2Time {
			return hash{}, fmt.Errorf("$argon2id$ m=%d,t=%d above the m=%d,t=%d midge accepts", m, t, MaxArgon2Memory, MaxArgon2Time)
		}
		salt, err1 := base64.RawStdEncoding.DecodeString(f[4])
		sum, err2 := base64.RawStdEncoding.DecodeString(f[5])
		if err1 != nil || err2 != nil || len(sum) < 4 || len(sum) > 64 {
			return hash{}, errors.New("bad $argon2id$ hash")
		}
		return hash{kind: "argon2id", memory: m, time: t, threads: uint8(p), salt: salt, sum: sum}, nil
	}
	return hash{}, errors.New("unknown hash format (want $6$, $7$ or $argon2id$)")
}

// Len is the number of users.
func (p *Passwords) Len() int { return len(p.users) }

// Fingerprint identifies user's entry, so a session can tell after a reload
// whether the entry it logged in with is still there unchanged.
func (p *Passwords) Fingerprint(user string) (uint64, bool) {
	h, ok := p.users[user]
	if !ok {
		return 0, false
	}
	f := fnv.New64a()
	fmt.Fprintf(f, "%s %d %d %d %d ", h.kind, h.iterations, h.memory, h.time, h.threads)
	f.Write(h.salt)
	f.Write(h.sum)
	f.Write(h.serverKey)
	return f.Sum64() | 1, true // never 0, which means "not by password"
}

// Check reports whether password is user's, comparing in constant time.
func (p *Passwords) Check(user string, password []byte) bool {
	h, ok := p.users[user]
	if !ok {
		return false
	}
	return subtle.ConstantTimeCompare(h.compute(password), h.sum) == 1
}

func (h hash) compute(password []byte) []byte {
	switch h.kind {
	case "6":
		s := sha512.New()
		s.Write(password)
		s.Write(h.salt)
		return s.Sum(nil)
	case "7":
		k, err := pbkdf2.Key(sha512.New, string(password), h.salt, h.iterations, sha512.Size)
		if err != nil {
			return nil
		}
		return k
	case "argon2id":
		return argon2.IDKey(password, h.salt, h.time, h.memory, h.threads, uint32(len(h.sum)))
	case "scram-sha-256":
		salted, err := pbkdf2.Key(sha256.New, string(password), h.salt, h.iterations, sha256.Size)
		if err != nil {
			return nil
		}
		return SCRAMFromSalted(sha256.New, salted, h.salt, h.iterations).StoredKey
	}
	return nil
}

// Hash methods midge passwd writes (mosquitto_passwd -H).
const (
	SHA512       = "sha512"
	SHA512PBKDF2 = "sha512-pbkdf2"
	Argon2id     = "argon2id"
	SCRAMSHA256  = "scram-sha-256" // midge only: for SCRAM-SHA-256 logins
)

// PBKDF2Iterations is what midge passwd uses for $7$ (Mosquitto 2.1's
// default; 2.0 wrote 101).
const PBKDF2Iterations = 1000

// The most a password file entry may ask of one login check: each check
// runs on the event loop, and a copied entry with huge parameters must not
// let any client who names its user exhaust a router's memory or stall
// the broker. Mosquitto's own defaults (m=47104, 101 or 1000 iterations)
// are well inside.
const (
	MaxIterations   = 1_000_000
	MaxArgon2Memory = 256 * 1024 // KiB
	MaxArgon2Time   = 64
)

// Argon2 parameters for $argon2id$ hashes midge writes: 8 MiB and 3 passes,
// so one check costs a 64 MB router 8 MiB for tens of milliseconds, where
// Mosquitto's 46 MiB would take most of its free memory.
const (
	Argon2Memory  = 8 * 1024 // KiB
	Argon2Time    = 3
	Argon2Threads = 1
)

// Encode hashes password with method, in Mosquitto's format.
func Encode(method string, password []byte) (string, error) {
	switch method {
	case SHA512:
		salt := random(12)
		h := hash{kind: "6", salt: salt}
		return "$6$" + base64.StdEncoding.EncodeToString(salt) + "$" + base64.StdEncoding.EncodeToString(h.compute(password)), nil
	case SHA512PBKDF2, "":
		salt := random(12) // 2.0's readers require 12 bytes; 2.1 accepts 12 or 64
		h := hash{kind: "7", iterations: PBKDF2Iterations, salt: salt}
		return fmt.Sprintf("$7$%d$%s$%s", PBKDF2Iterations, base64.StdEncoding.EncodeToString(salt),
			base64.StdEncoding.EncodeToString(h.compute(password))), nil
	case SCRAMSHA256:
		return EncodeSCRAM256(password, 4096)
	case Argon2id:
		salt := random(16)
		sum := argon2.IDKey(password, salt, Argon2Time, Argon2Memory, Argon2Threads, 32)
		return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", Argon2Memory, Argon2Time, Argon2Threads,
			base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(sum)), nil
	}
	return "", fmt.Errorf("unknown hash method %q (sha512, sha512-pbkdf2, argon2id)", method)
}

func random(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
