// Package passwords hashes and verifies passwords and checks them against
// Gatehouse's rules.
//
// New hashes are argon2id in the PHC string format. Older PHC hashes
// (bcrypt, as other identity providers export them) still verify, and
// Verify says when a hash should be replaced at the next sign-in.
package passwords

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Params are argon2id's cost parameters.
type Params struct {
	Memory      uint32 // KiB
	Iterations  uint32
	Parallelism uint8
	SaltLen     uint32
	KeyLen      uint32
}

// DefaultParams are OWASP's minimum for argon2id: 19 MiB, two passes, one lane.
var DefaultParams = Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLen: 16, KeyLen: 32}

// ErrMalformedHash is returned for a stored hash Gatehouse cannot read.
var ErrMalformedHash = errors.New("passwords: malformed hash")

// Hash returns the argon2id PHC string of password.
func Hash(p Params, password string) (string, error) {
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLen)
	b64 := base64.RawStdEncoding.EncodeToString
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Iterations, p.Parallelism, b64(salt), b64(key)), nil
}

// Verify reports whether password matches the PHC string hash, and whether
// the hash should be replaced by one made with want (another algorithm, or
// weaker parameters).
func Verify(want Params, hash, password string) (ok, rehash bool, err error) {
	switch {
	case strings.HasPrefix(hash, "$argon2id$"):
		p, salt, key, err := parseArgon2id(hash)
		if err != nil {
			return false, false, err
		}
		got := argon2.IDKey([]byte(password), salt, p.Iterations, p.Memory, p.Parallelism, uint32(len(key)))
		ok := subtle.ConstantTimeCompare(got, key) == 1
		weaker := p.Memory < want.Memory || p.Iterations < want.Iterations || p.Parallelism < want.Parallelism
		return ok, ok && weaker, nil
	case strings.HasPrefix(hash, "$2a$"), strings.HasPrefix(hash, "$2b$"), strings.HasPrefix(hash, "$2y$"):
		err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(password))
		if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
			return false, false, nil
		}
		if err != nil {
			return false, false, ErrMalformedHash
		}
		return true, true, nil
	}
	return false, false, ErrMalformedHash
}

// Supported reports whether Verify can read hash; seeds use it to refuse a
// password_hash Gatehouse could never verify.
func Supported(hash string) bool {
	if strings.HasPrefix(hash, "$argon2id$") {
		_, _, _, err := parseArgon2id(hash)
		return err == nil
	}
	_, err := bcrypt.Cost([]byte(hash))
	return err == nil
}

func parseArgon2id(hash string) (Params, []byte, []byte, error) {
	// $argon2id$v=19$m=19456,t=2,p=1$salt$key
	parts := strings.Split(hash, "$")
	if len(parts) != 6 {
		return Params{}, nil, nil, ErrMalformedHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return Params{}, nil, nil, ErrMalformedHash
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Iterations, &p.Parallelism); err != nil {
		return Params{}, nil, nil, ErrMalformedHash
	}
	// Bound the cost a stored hash can make us pay.
	if p.Memory == 0 || p.Memory > 1<<21 || p.Iterations == 0 || p.Iterations > 64 || p.Parallelism == 0 {
		return Params{}, nil, nil, ErrMalformedHash
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 {
		return Params{}, nil, nil, ErrMalformedHash
	}
	return p, salt, key, nil
}
