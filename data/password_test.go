package data_test

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

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
// hash is as costly to refuse as a bcrypt one. This is checked as a ratio
// of the CPU time the checking thread used, not of the wall-clock time,
// which counts the waits for a core on a busy machine: a refusal that
// skipped bcrypt would cost about 10,000 times less.
func TestCheckPasswordCostsOneBcryptAlways(t *testing.T) {
	bc, _ := data.HashPassword("secret")
	legacy := data.LegacyHash("secret", []byte{9})
	costOf := func(stored string) time.Duration {
		return threadCPU(t, func() { data.CheckPassword(stored, "wrong") })
	}
	ref := min(costOf(bc), costOf(bc), costOf(bc)) // the least a real comparison costs here
	for _, stored := range []string{"", legacy, "garbage"} {
		if d := costOf(stored); d < ref/10 {
			t.Errorf("refusing against %q cost %v of CPU, a bcrypt refusal %v: it skipped the dummy comparison", stored, d, ref)
		}
	}
}

// threadCPU returns the CPU time the calling thread spends in f, which is
// locked to it: the goroutine's own work, not the time it waited for a
// core nor any other goroutine's.
func threadCPU(t *testing.T, f func()) time.Duration {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var a, b unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &a); err != nil {
		t.Fatalf("thread CPU time: %v", err)
	}
	f()
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &b); err != nil {
		t.Fatalf("thread CPU time: %v", err)
	}
	return time.Duration(b.Nano() - a.Nano())
}

// BenchmarkCheckPassword measures what one login's password check costs
// in each scheme (the figure in docs/security.md).
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
