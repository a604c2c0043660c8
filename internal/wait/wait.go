// Package wait lets a test wait for an event rather than for a time: it
// polls a condition until it holds. A sleep long enough for the event on
// an idle machine is too short on a busy one, and needlessly long on a
// fast one; a poll waits exactly as long as the event takes.
package wait

import (
	"testing"
	"time"
)

// Hang bounds every wait. It is there to fail a test that would otherwise
// hang, not to say how fast anything must happen, so it is many times
// longer than any awaited event takes even on a machine whose cores are
// all busy (the slowest, a private PostgreSQL's restart, takes seconds).
const Hang = 2 * time.Minute

// every is the polling interval: short next to the events awaited, long
// enough that polling costs the busy machine nothing.
const every = 20 * time.Millisecond

// Until polls cond until it holds or Hang has passed, and says whether it
// held.
func Until(cond func() bool) bool {
	deadline := time.Now().Add(Hang)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(every)
	}
	return true
}

// For is Until that fails the test, saying what it waited for, if cond
// did not come to hold.
func For(t testing.TB, what string, cond func() bool) {
	t.Helper()
	if !Until(cond) {
		t.Fatalf("still waiting for %s after %s (a hang)", what, Hang)
	}
}
