package app

import (
	"bytes"
	"log"
	"strings"
	"testing"
	"time"
)

// A flood of errors writes a few lines and how many were left out.
func TestErrorLogLimitsAFlood(t *testing.T) {
	var buf bytes.Buffer
	defer log.SetOutput(log.Writer())
	log.SetOutput(&buf)
	var l errorLog
	for i := 0; i < 1000; i++ {
		l.printf("app: GET /: database down (%d)", i)
	}
	time.Sleep(1100 * time.Millisecond) // the second ends: the count is written
	l.printf("app: GET /: database down (again)")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != errorBurst+2 {
		t.Fatalf("%d lines for 1001 errors:\n%s", len(lines), buf.String())
	}
	if !strings.Contains(lines[errorBurst], "995 more errors") || !strings.Contains(lines[errorBurst+1], "(again)") {
		t.Errorf("lines:\n%s", buf.String())
	}
}
