package app

import (
	"log"
	"sync"
	"time"
)

// errorBurst is how many error lines a second the site writes in full.
const errorBurst = 5

// errorLog writes the site's error lines, at most errorBurst a second: a
// database that is down fails every request, and a line per failure would
// flood the log (and the disk under it) at thousands of lines a second. The
// lines beyond are counted, and the count is written when the second ends.
type errorLog struct {
	mu      sync.Mutex
	window  time.Time // when the current second began
	written int       // lines written in it
	dropped int       // lines counted, not written

	// now and after are time.Now and time.AfterFunc unless a test sets a
	// fake clock: what the limit writes must not depend on how long the
	// test's loop of errors takes on the machine it runs on.
	now   func() time.Time
	after func(time.Duration, func())
}

func (l *errorLog) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if l.now != nil {
		now = l.now()
	}
	if now.Sub(l.window) >= time.Second {
		l.window, l.written = now, 0
	}
	if l.written < errorBurst {
		l.written++
		log.Printf(format, args...)
		return
	}
	if l.dropped == 0 {
		if l.after != nil {
			l.after(l.window.Add(time.Second).Sub(now), l.flush)
		} else {
			time.AfterFunc(l.window.Add(time.Second).Sub(now), l.flush)
		}
	}
	l.dropped++
}

func (l *errorLog) flush() {
	l.mu.Lock()
	n := l.dropped
	l.dropped = 0
	l.mu.Unlock()
	if n > 0 {
		log.Printf("app: %d more errors in that second, not shown", n)
	}
}
