package data_test

import (
	"strings"
	"testing"
	"time"

	"github.com/scalelab/scalelab/data"
)

func TestCheckPassword(t *testing.T) {
	legacy := data.LegacyHash("secret", []byte{1, 2, 3, 4})
	old := "sha256" + strings.TrimPrefix(legacy, data.LegacyScheme) // as seeded before the rename
	bc, err := data.HashPassword("secret")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(legacy, "sha256-legacy$") || !strings.HasPrefix(bc, "$2a$10$") {
		t.Fatalf("stored forms %q and %q do not say their scheme", legacy, bc)
	}
	for _, tc := range []struct {
		name              string
		stored, password  string
		wantOK, wantUpgrd bool
	}{
		{"bcrypt", bc, "secret", true, false},
		{"bcrypt, wrong password", bc, "Secret", false, false},
		{"bcrypt, empty password", bc, "", false, false},
		{"legacy", legacy, "secret", true, true},
		{"legacy as first seeded", old, "secret", true, true},
		{"legacy, wrong password", legacy, "secret ", false, false},
		{"unknown user (no hash)", "", "secret", false, false},
		{"no scheme", "plain", "plain", false, false},
		{"bad salt", "sha256-legacy$zz$00", "x", false, false},
		{"unknown scheme", "md5$01020304$" + legacy[len(legacy)-64:], "secret", false, false},
		{"truncated bcrypt", bc[:20], "secret", false, false},
	} {
		ok, upgrade := data.CheckPassword(tc.stored, tc.password)
		if ok != tc.wantOK || upgrade != tc.wantUpgrd {
			t.Errorf("%s: CheckPassword = %v, %v; want %v, %v", tc.name, ok, upgrade, tc.wantOK, tc.wantUpgrd)
		}
	}
	if _, err := data.HashPassword(strings.Repeat("x", 73)); err == nil {
		t.Error("HashPassword accepted a password bcrypt would truncate")
	}
}

// Every check costs one bcrypt comparison: an unknown user or a legacy
// hash is as slow to refuse as a bcrypt one. This is checked as a ratio of
// CPU work, not as a speed: a legacy refusal that skipped bcrypt would be
// about 10,000 times faster.
func TestCheckPasswordCostsOneBcryptAlways(t *testing.T) {
	bc, _ := data.HashPassword("secret")
	legacy := data.LegacyHash("secret", []byte{9})
	timeOf := func(stored string) time.Duration {
		start := time.Now()
		data.CheckPassword(stored, "wrong")
		return time.Since(start)
	}
	ref := min(timeOf(bc), timeOf(bc), timeOf(bc)) // the least a real comparison costs here
	for _, stored := range []string{"", legacy, "garbage"} {
		if d := timeOf(stored); d < ref/10 {
			t.Errorf("refusing against %q took %v, a bcrypt refusal %v: it skipped the dummy comparison", stored, d, ref)
		}
	}
}

// BenchmarkCheckPassword measures what one login's password check costs
// in each scheme (the figure in the README).
func BenchmarkCheckPassword(b *testing.B) {
	bc, _ := data.HashPassword("pw-user000001")
	for _, s := range []struct{ name, stored string }{
		{"bcrypt", bc},
		{"legacy", data.LegacyHash("pw-user000001", []byte{1, 2, 3, 4, 5, 6, 7, 8})},
		{"unknown-user", ""},
	} {
		b.Run(s.name, func(b *testing.B) {
			for b.Loop() {
				data.CheckPassword(s.stored, "pw-user000001")
			}
		})
	}
	b.Run("hash", func(b *testing.B) {
		for b.Loop() {
			data.HashPassword("pw-user000001")
		}
	})
}
