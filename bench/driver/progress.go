package driver

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/scalelab/scalelab/bench/loadgen"
)

// Progress says where a run is at every moment: stage k of n, the round,
// the phase (start, verify, prime, warm-up, measure, stop), the repeat,
// the live req/s of the load under way and an estimate of the time left
// for the whole run. A full lab runs for minutes with long stretches in
// which no result line is printed (starting a stage, verifying it,
// warming it up); without it, the terminal looks hung.
//
// It has two views. On a terminal, one line redrawn in place
// (schollz/progressbar, as seed and load use), the driver's own lines
// printed above it (see Writer). Elsewhere (a CI log, a pipe), a plain
// line at every phase change and, while a load runs, one at most every
// PlainEvery with its req/s: a log that shows progress without drowning
// the results.
//
// The driver calls it at phase boundaries only; a nil *Progress does
// nothing, so the driver runs the same without one (tests, bench.Load).
type Progress struct {
	mu    sync.Mutex
	w     io.Writer
	bar   *progressbar.ProgressBar
	clock func() time.Time

	// The plan: measurements (stages × rounds) and what each one takes.
	total, rounds, repeats int
	planned                time.Duration
	// Where the run is.
	started, lastDone time.Time
	done              int
	k, n              int
	stage, page       string
	round             int
	phase             Phase
	repeat            int
	rps               float64
	lastLine          time.Time
}

// Phase is what the driver is doing to the current stage.
type Phase string

// The phases of a stage's measurement, in order.
const (
	PhaseStart   Phase = "start"
	PhaseVerify  Phase = "verify"
	PhasePrime   Phase = "prime"
	PhaseWarmUp  Phase = "warm-up"
	PhaseMeasure Phase = "measure"
	PhaseStop    Phase = "stop"
)

// PlainEvery is the least time between two plain lines of one load's
// live req/s.
const PlainEvery = 5 * time.Second

// startOverhead is a guess of what starting, verifying and stopping a
// stage take, for the estimate before the first stage is done.
const startOverhead = 3 * time.Second

// NewPlainProgress prints plain progress lines to w (a log); clock is
// time.Now, or a fake one in tests.
func NewPlainProgress(w io.Writer, clock func() time.Time) *Progress {
	if clock == nil {
		clock = time.Now
	}
	return &Progress{w: w, clock: clock}
}

// NewTerminalProgress draws the progress as one line redrawn in place on
// w, a terminal.
func NewTerminalProgress(w io.Writer) *Progress {
	p := NewPlainProgress(w, nil)
	p.bar = progressbar.NewOptions(1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetWidth(15),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionShowDescriptionAtLineEnd(),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionThrottle(100*time.Millisecond),
	)
	return p
}

// Writer is w with the terminal's progress line taken away while a line
// is written and drawn again after, so that the driver's lines and the
// progress line do not mix. Without a terminal view it is w.
func (p *Progress) Writer(w io.Writer) io.Writer {
	if p == nil || p.bar == nil {
		return w
	}
	return progressWriter{p: p, w: w}
}

type progressWriter struct {
	p *Progress
	w io.Writer
}

func (pw progressWriter) Write(b []byte) (int, error) {
	pw.p.mu.Lock()
	defer pw.p.mu.Unlock()
	pw.p.bar.Clear()
	n, err := pw.w.Write(b)
	if pw.p.stage != "" && pw.p.done < pw.p.total { // nothing to show before the first stage and after the last
		pw.p.bar.RenderBlank()
	}
	return n, err
}

// Plan starts the run: stages measured in rounds, each measurement of
// repeats loads of duration after a warm-up of at most warmup.
func (p *Progress) Plan(stages, rounds, repeats int, warmup, duration time.Duration) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total, p.n, p.rounds, p.repeats = stages*rounds, stages, rounds, repeats
	p.planned = openDuration + warmup + time.Duration(repeats)*duration + startOverhead
	p.started = p.clock()
	p.lastDone = p.started
	if p.bar != nil {
		p.bar.ChangeMax(p.total)
	}
}

// Stage says the run moves on to stage key, the k-th of the plan (from
// 1), in round (from 1).
func (p *Progress) Stage(k int, key string, round int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.k, p.stage, p.round, p.page = k, key, round, ""
	p.phase, p.repeat, p.rps = PhaseStart, 0, 0
	p.show(true)
}

// Page says which of stage 0's pages is measured now.
func (p *Progress) Page(page string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.page = page
}

// Phase says the current stage enters phase.
func (p *Progress) Phase(ph Phase) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if ph == p.phase && p.repeat == 0 {
		return // Stage has said it (start), or a baseline's next page
	}
	p.phase, p.rps, p.repeat = ph, 0, 0
	p.show(true)
}

// Measure says the repeat-th measurement (from 1) of the current stage
// starts.
func (p *Progress) Measure(repeat int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.phase, p.repeat, p.rps = PhaseMeasure, repeat, 0
	p.show(true)
}

// Live is the load under way, about once a second
// (bench.LoadOptions.OnProgress): its req/s since it started.
func (p *Progress) Live(lp loadgen.Progress) {
	if p == nil || lp.Elapsed <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rps = float64(lp.Requests) / lp.Elapsed.Seconds()
	p.show(false)
}

// StageDone says one measurement of the plan (a stage in a round) is over.
func (p *Progress) StageDone() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	p.lastDone = p.clock()
	if p.bar != nil {
		p.bar.Set(p.done)
	}
}

// Finish takes the terminal's progress line away at the end of the run.
func (p *Progress) Finish() {
	if p == nil || p.bar == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.bar.Clear()
}

// Left is the estimate of the time the run still needs: the measurements
// left times the mean a finished one took (before the first, the plan's
// own durations), less what the current one has already taken.
func (p *Progress) Left() time.Duration {
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.left()
}

func (p *Progress) left() time.Duration {
	per := p.planned
	if p.done > 0 {
		per = p.lastDone.Sub(p.started) / time.Duration(p.done)
	}
	left := time.Duration(p.total-p.done)*per - p.clock().Sub(p.lastDone)
	return max(0, left).Round(time.Second)
}

// Line is where the run is, on one line: "stage 3 [5/9], round 1/3:
// measure, repeat 1/1, 7012 req/s; about 4m10s left".
func (p *Progress) Line() string {
	if p == nil {
		return ""
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.line()
}

func (p *Progress) line() string {
	s := "stage " + p.stage
	if p.page != "" {
		s += " " + p.page
	}
	s += fmt.Sprintf(" [%d/%d]", p.k, p.n)
	if p.rounds > 1 {
		s += fmt.Sprintf(", round %d/%d", p.round, p.rounds)
	}
	s += ": " + string(p.phase)
	if p.phase == PhaseMeasure && p.repeat > 0 {
		s += fmt.Sprintf(", repeat %d/%d", p.repeat, p.repeats)
	}
	if p.rps > 0 {
		s += fmt.Sprintf(", %.0f req/s", p.rps)
	}
	return s + fmt.Sprintf("; about %s left", p.left())
}

// show draws the line: on a terminal always; in plain mode at a phase
// change, or during a load once per PlainEvery.
func (p *Progress) show(change bool) {
	if p.bar != nil {
		p.bar.Describe(p.line())
		return
	}
	now := p.clock()
	if !change && now.Sub(p.lastLine) < PlainEvery {
		return
	}
	p.lastLine = now
	fmt.Fprintf(p.w, "progress [%s] %s\n", now.Sub(p.started).Round(time.Second), p.line())
}
