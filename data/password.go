package data

import (
	"crypto/subtle"
	"encoding/hex"
	"strings"
)

// CheckPassword reports whether password matches the stored hash. The
// comparison takes the same time whether it fails early or late.
func CheckPassword(stored, password string) bool {
	scheme, rest, ok := strings.Cut(stored, "$")
	if !ok || scheme != "sha256" {
		return false
	}
	saltHex, _, ok := strings.Cut(rest, "$")
	if !ok {
		return false
	}
	salt, err := hex.DecodeString(saltHex)
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(HashPassword(password, salt)), []byte(stored)) == 1
}
