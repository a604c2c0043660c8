package app

import (
	"bytes"
	"log"
	"strings"
	"testing"
	"time"
)

// A flood of errors writes a few lines and how many were left out, when
// the second ends. The clock is fake, so that the 1,000 errors fall in one
// second however long the loop takes, and the second's end is an event
// the test makes happen rather than a sleep.
func TestErrorLogLimitsAFlood(t *testing.T) {
	var buf bytes.Buffer
	defer log.SetOutput(log.Writer())
	log.SetOutput(&buf)
	start := time.Date(2007, 2, 23, 12, 0, 0, 0, time.UTC)
	now := start
	var flushes []func()
	var delays []time.Duration
	l := errorLog{
		now: func() time.Time { return now },
		after: func(d time.Duration, f func()) {
			delays = append(delays, d)
			flushes = append(flushes, f)
		},
	}
	for i := 0; i < 1000; i++ {
		l.printf("app: GET /: database down (%d)", i)
		now = now.Add(500 * time.Microsecond) // 1,000 errors in half a second
	}
	// The first error left out (the sixth, 2.5 ms in) set the count to be
	// written when the second ends.
	if len(flushes) != 1 || delays[0] != time.Second-2500*time.Microsecond {
		t.Fatalf("%d flushes set, after %v; want one, when the second ends", len(flushes), delays)
	}
	if n := strings.Count(buf.String(), "\n"); n != errorBurst {
		t.Fatalf("%d lines for 1,000 errors in a second, want %d:\n%s", n, errorBurst, buf.String())
	}
	now = start.Add(time.Second)
	flushes[0]()
	now = start.Add(1100 * time.Millisecond)
	l.printf("app: GET /: database down (again)")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != errorBurst+2 {
		t.Fatalf("%d lines for 1001 errors:\n%s", len(lines), buf.String())
	}
	if !strings.Contains(lines[errorBurst], "995 more errors") || !strings.Contains(lines[errorBurst+1], "(again)") {
		t.Errorf("lines:\n%s", buf.String())
	}
	if len(flushes) != 1 {
		t.Errorf("an error in a new second, written in full, set another flush")
	}
}
