package workload

import (
	"sync"

	"github.com/scalelab/scalelab/bench/loadgen"
)

// WriteLog records the comments a run posted and how each was answered,
// so that afterwards the database can be asked whether every write the
// site acknowledged is there, once, and none it refused is (see
// bench/driver's write check). It is safe for concurrent use.
type WriteLog struct {
	mu     sync.Mutex
	writes []*Write
}

// Write is one comment posted.
type Write struct {
	Photo int
	Body  string
	// Status is the HTTP status of the answer; zero while none came (the
	// request failed, timed out, or the run ended first).
	Status int
	// Answered is true once the request ended, with or without a status.
	Answered bool
}

// Acknowledged reports whether the site said the comment was taken: a 2xx,
// or the 3xx redirect to the photo page a form POST answers with.
func (w Write) Acknowledged() bool { return w.Status >= 200 && w.Status < 400 }

func (l *WriteLog) add(photo int, body string) *Write {
	w := &Write{Photo: photo, Body: body}
	l.mu.Lock()
	l.writes = append(l.writes, w)
	l.mu.Unlock()
	return w
}

func (l *WriteLog) answer(w *Write, r *loadgen.Response) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w.Answered = true
	if r != nil {
		w.Status = r.Status
	}
}

// Writes returns a copy of the log.
func (l *WriteLog) Writes() []Write {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Write, len(l.writes))
	for i, w := range l.writes {
		out[i] = *w
	}
	return out
}
