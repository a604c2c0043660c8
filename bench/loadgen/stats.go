package loadgen

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/scalelab/scalelab/bench/record"
)

// errKind is why a request failed.
type errKind int

const (
	errConnect errKind = iota // the connection could not be opened
	errTimeout                // no complete answer within Options.Timeout
	errReset                  // the server closed or reset the connection mid-request
	err5xx                    // the server answered with a 5xx status
	errOther                  // anything else, such as a malformed response
	nErrKinds
)

var errKindNames = [nErrKinds]string{"connect", "timeout", "reset", "5xx", "other"}

// classify maps an I/O error of an established connection to its kind.
func classify(err error) errKind {
	var ne net.Error
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return errTimeout
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, net.ErrClosed):
		return errReset
	}
	return errOther
}

// runState is what the workers of one run share.
type runState struct {
	// ctx ends the run: the caller's context, also cancelled when the
	// run gives up on an unreachable server.
	ctx    context.Context
	cancel context.CancelFunc
	opts   *Options
	start  time.Time
	// end is when a run with a Duration stops; zero without one.
	end time.Time

	issued atomic.Int64 // requests started, against Options.Requests
	// lastConnected is when (since start) a connection was last made; with
	// lastOK (the last response) it says when the server was last reached:
	// a run that reaches nothing for GiveUpAfter gives up.
	lastConnected atomic.Int64
	// gaveUp is set, with why, when the run gave up.
	gaveUp     atomic.Bool
	gaveUpWhy  error
	gaveUpOnce sync.Once

	visits atomic.Uint64 // workload visits started

	// lastOK is when (since start) the latest complete response came, and
	// longestGap the longest time without one so far: a server that stops
	// answering for a while shows here even when its seconds average out.
	// The epoll engine's single loop updates them uncontended; the conn
	// engine's workers share them, so the gap is the run's, not one
	// connection's (which would include its own waiting).
	lastOK, longestGap atomic.Int64

	// live totals, for the progress line only.
	liveRequests, livePageViews, liveErrors atomic.Int64

	// mu guards the merged results below, which workers add to.
	mu        sync.Mutex
	hist      *record.Hist
	timeline  []record.Second
	status    [600]int64
	errs      [nErrKinds]int64
	requests  int64
	pageViews int64
	late      int64
	bytesIn   int64
	bytesOut  int64
}

func newRunState(ctx context.Context, opts *Options) *runState {
	r := &runState{opts: opts, start: time.Now(), hist: record.NewHist()}
	r.ctx, r.cancel = context.WithCancel(ctx)
	if opts.Duration > 0 {
		r.end = r.start.Add(opts.Duration)
	}
	return r
}

// connected notes that at t (since the start) a connection was made.
// Responses are noted by responded, for the longest gap too.
func (r *runState) connected(t time.Duration) { r.lastConnected.Store(int64(t)) }

// unreachable is told of a connect that failed at t with err. When no
// connection was made and no response came for Options.GiveUpAfter, it
// ends the run: a server that is not there must not be tried forever.
func (r *runState) unreachable(t time.Duration, err error) {
	last := max(r.lastConnected.Load(), r.lastOK.Load())
	if t-time.Duration(last) < r.opts.GiveUpAfter {
		return
	}
	r.gaveUpOnce.Do(func() {
		r.gaveUpWhy = err
		r.gaveUp.Store(true)
		r.cancel()
	})
}

// responded notes a complete response at t (since the start), keeping
// the longest gap between responses. lastOK only moves forward, so a worker
// that reports a slightly earlier t after another does not count a gap.
func (r *runState) responded(t time.Duration) {
	for {
		prev := r.lastOK.Load()
		if int64(t) <= prev {
			return
		}
		if r.lastOK.CompareAndSwap(prev, int64(t)) {
			r.noteGap(t - time.Duration(prev))
			return
		}
	}
}

// noteGap raises the longest gap to gap if it is longer.
func (r *runState) noteGap(gap time.Duration) {
	for {
		prev := r.longestGap.Load()
		if int64(gap) <= prev || r.longestGap.CompareAndSwap(prev, int64(gap)) {
			return
		}
	}
}

// take claims one request of the Options.Requests budget; false when spent.
func (r *runState) take() bool {
	return r.opts.Requests == 0 || r.issued.Add(1) <= r.opts.Requests
}

// startProgress calls Options.Progress every second until stopped.
func (r *runState) startProgress() (stop func()) {
	if r.opts.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				r.opts.Progress(Progress{
					Elapsed:   time.Since(r.start),
					Requests:  r.liveRequests.Load(),
					PageViews: r.livePageViews.Load(),
					Errors:    r.liveErrors.Load(),
				})
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// results copies the merged counts into res.
func (r *runState) results(res *record.Results, elapsed time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	res.Seconds = elapsed.Seconds()
	res.Requests, res.PageViews, res.Late = r.requests, r.pageViews, r.late
	res.BytesRead, res.BytesWritten = r.bytesIn, r.bytesOut
	res.Latency.Hist = r.hist
	// A second in which nothing came back and nothing failed was never
	// written by a worker; the timeline holds it anyway, as a zero, up to
	// the last whole second of the run, so that a stall at the end of a run
	// is not a shorter timeline.
	for len(r.timeline) < int(elapsed/time.Second) {
		r.timeline = append(r.timeline, record.Second{T: len(r.timeline), Hist: record.NewTimelineHist()})
	}
	res.Timeline = r.timeline
	// The wait from the last response to the end counts as a gap: a run
	// whose server stopped answering for good ends on its longest one.
	r.noteGap(elapsed - time.Duration(r.lastOK.Load()))
	res.LongestGapMs = float64(r.longestGap.Load()) / float64(time.Millisecond)
	res.Status = map[string]int64{}
	for code, n := range r.status {
		if n > 0 {
			res.Status[strconv.Itoa(code)] = n
		}
	}
	res.Errors = map[string]int64{}
	for k, n := range r.errs {
		res.Errors[errKindNames[k]] = n
	}
}

// recorder accumulates one worker's measurements without locks; it adds
// them to the run's when a second of the timeline ends and at close. It
// allocates nothing per request.
type recorder struct {
	run       *runState
	hist      *record.Hist
	status    [600]int64
	errs      [nErrKinds]int64
	requests  int64
	pageViews int64
	late      int64
	bytesIn   int64
	bytesOut  int64

	// The current second of the timeline.
	sec                   int
	secHist               *record.Hist
	secReq, secPV, secErr int64
	secDirty              bool
}

func newRecorder(run *runState) *recorder {
	return &recorder{run: run, hist: record.NewHist(), secHist: record.NewTimelineHist()}
}

// at moves the timeline to the second that holds t (time since the start).
func (w *recorder) at(t time.Duration) {
	if s := int(t / time.Second); s != w.sec {
		w.flushSecond()
		w.sec = s
	}
	w.secDirty = true
}

// ok records a complete response that took lat, finished at t.
func (w *recorder) ok(t, lat time.Duration, status int, page bool) {
	w.at(t)
	w.run.responded(t)
	w.hist.Record(lat)
	w.secHist.Record(lat)
	w.requests++
	w.secReq++
	w.run.liveRequests.Add(1)
	if page {
		w.pageViews++
		w.secPV++
		w.run.livePageViews.Add(1)
	}
	if status >= 0 && status < len(w.status) {
		w.status[status]++
	}
	if status >= 500 {
		w.errs[err5xx]++
		w.secErr++
		w.run.liveErrors.Add(1)
	}
}

// fail records a request that got no complete response.
func (w *recorder) fail(t time.Duration, kind errKind) {
	w.at(t)
	w.errs[kind]++
	w.secErr++
	w.run.liveErrors.Add(1)
}

// flushSecond adds the current second to the run's timeline.
func (w *recorder) flushSecond() {
	if !w.secDirty {
		return
	}
	r := w.run
	r.mu.Lock()
	for len(r.timeline) <= w.sec {
		r.timeline = append(r.timeline, record.Second{T: len(r.timeline), Hist: record.NewTimelineHist()})
	}
	s := &r.timeline[w.sec]
	s.Requests += w.secReq
	s.PageViews += w.secPV
	s.Errors += w.secErr
	s.Hist.Merge(w.secHist)
	r.mu.Unlock()
	w.secHist.Reset()
	w.secReq, w.secPV, w.secErr, w.secDirty = 0, 0, 0, false
}

// close adds everything the worker measured to the run's results.
func (w *recorder) close() {
	w.flushSecond()
	r := w.run
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hist.Merge(w.hist)
	for i, n := range w.status {
		r.status[i] += n
	}
	for i, n := range w.errs {
		r.errs[i] += n
	}
	r.requests += w.requests
	r.pageViews += w.pageViews
	r.late += w.late
	r.bytesIn += w.bytesIn
	r.bytesOut += w.bytesOut
}
