package data

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// Stored passwords say how they were hashed, so that two schemes can live
// in one users table:
//
//	$2a$10$…                              bcrypt (its own self-describing
//	                                      format: version, cost, salt, hash)
//	sha256-legacy$<salt hex>$<hash hex>   the seed's fast scheme, one round
//	                                      of SHA-256 over salt || password
//
// The seed writes the legacy scheme because bcrypt for 100,000 users would
// take hours (0.13–0.23 s each measured on the 2-core VM, busy) against a
// few seconds; a successful
// login with a legacy hash replaces it with a bcrypt one (see
// CheckPassword's upgrade). "sha256$" is the same legacy scheme as written
// by seeds before it was renamed, and is read the same way.
const (
	LegacyScheme = "sha256-legacy"
	oldLegacy    = "sha256"
)

// PasswordCost is the bcrypt cost of new hashes: bcrypt.DefaultCost (10),
// a tenth of a second or more of one core per hash or check
// (BenchmarkCheckPassword). Tests of other packages may lower it; nothing
// else should.
var PasswordCost = bcrypt.DefaultCost

// dummyHash is a bcrypt hash (cost 10) of a password nobody has. A login
// for a user that does not exist, or whose hash is a legacy one, is
// checked against it as well, so that every login costs one bcrypt
// comparison and its time does not tell which names exist. It is a
// constant so that a CGI process (one per request) does not pay a hash at
// start-up.
const dummyHash = "$2a$10$WbH1Gl3EG0xYJPsncOexFud./COrCGNCOToC1WA3w/KYpVUxIY.aS"

// HashPassword returns the stored form of a new password: a bcrypt hash
// at PasswordCost. bcrypt refuses passwords over 72 bytes.
func HashPassword(password string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), PasswordCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// LegacyHash returns the seed's fast stored form of a password with the
// given salt (the legacy scheme; see LegacyScheme).
func LegacyHash(password string, salt []byte) string {
	h := sha256.New()
	h.Write(salt)
	h.Write([]byte(password))
	return LegacyScheme + "$" + hex.EncodeToString(salt) + "$" + hex.EncodeToString(h.Sum(nil))
}

// IsLegacy reports whether a stored hash uses the seed's fast scheme.
func IsLegacy(stored string) bool {
	scheme, _, _ := strings.Cut(stored, "$")
	return scheme == LegacyScheme || scheme == oldLegacy
}

// CheckPassword reports whether password matches the stored hash, and
// whether the stored hash should be replaced by HashPassword(password)
// (it matched a legacy hash). An empty or unreadable stored hash (an
// unknown user) never matches.
//
// Every call costs one bcrypt comparison, whatever the outcome: a legacy
// or missing hash is also compared against a dummy bcrypt hash. The
// legacy comparison itself takes the same time whether it fails early or
// late (crypto/subtle).
func CheckPassword(stored, password string) (ok, upgrade bool) {
	if strings.HasPrefix(stored, "$2") {
		return bcrypt.CompareHashAndPassword([]byte(stored), []byte(password)) == nil, false
	}
	bcrypt.CompareHashAndPassword([]byte(dummyHash), []byte(password))
	match := checkLegacy(stored, password)
	return match, match
}

// checkLegacy reports whether password matches a legacy stored hash, in
// time that does not depend on where the two differ.
func checkLegacy(stored, password string) bool {
	if !IsLegacy(stored) {
		return false
	}
	_, rest, _ := strings.Cut(stored, "$")
	saltHex, _, ok := strings.Cut(rest, "$")
	if !ok {
		return false
	}
	salt, err := hex.DecodeString(saltHex)
	if err != nil {
		return false
	}
	_, want, _ := strings.Cut(LegacyHash(password, salt), "$")
	return subtle.ConstantTimeCompare([]byte(want), []byte(rest)) == 1
}
