package driver

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/scalelab/scalelab/bench/loadgen"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

// The plain view prints a line at every phase change with stage k of n,
// the round, the phase, the repeat, the live req/s at most every
// PlainEvery, and the time left: from the plan before a stage is done,
// from the stages done after.
func TestPlainProgress(t *testing.T) {
	var out bytes.Buffer
	clock := &fakeClock{t: time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)}
	p := NewPlainProgress(&out, clock.now)
	// 2 stages in 3 rounds of 1 repeat: 6 measurements of
	// 1 s prime + 1 s warm-up + 10 s + 3 s overhead = 15 s each.
	p.Plan(2, 3, 1, time.Second, 10*time.Second)
	p.Stage(1, "2", 1)
	p.Phase(PhaseStart)
	clock.advance(2 * time.Second)
	p.Phase(PhaseVerify)
	p.Phase(PhasePrime)
	p.Phase(PhaseWarmUp)
	p.Measure(1)
	for range 10 { // a live figure every second, shown every 5 s
		clock.advance(time.Second)
		p.Live(loadgen.Progress{Elapsed: time.Second, Requests: 700})
	}
	p.Phase(PhaseStop)
	clock.advance(8 * time.Second) // the first measurement took 20 s
	p.StageDone()
	p.Stage(2, "4", 1)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{
		"progress [0s] stage 2 [1/2], round 1/3: start; about 1m30s left",
		"progress [2s] stage 2 [1/2], round 1/3: verify; about 1m28s left",
		"progress [2s] stage 2 [1/2], round 1/3: prime; about 1m28s left",
		"progress [2s] stage 2 [1/2], round 1/3: warm-up; about 1m28s left",
		"progress [2s] stage 2 [1/2], round 1/3: measure, repeat 1/1; about 1m28s left",
		"progress [7s] stage 2 [1/2], round 1/3: measure, repeat 1/1, 700 req/s; about 1m23s left",
		"progress [12s] stage 2 [1/2], round 1/3: measure, repeat 1/1, 700 req/s; about 1m18s left",
		"progress [12s] stage 2 [1/2], round 1/3: stop; about 1m18s left",
		"progress [20s] stage 4 [2/2], round 1/3: start; about 1m40s left",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("progress lines:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if left := p.Left(); left != 100*time.Second {
		t.Errorf("left %s, want 1m40s (5 measurements of 20 s)", left)
	}
}

// A nil Progress, the driver's when nobody asked, does nothing.
func TestNilProgress(t *testing.T) {
	var p *Progress
	p.Plan(1, 1, 1, 0, time.Second)
	p.Stage(1, "2", 1)
	p.Phase(PhaseStart)
	p.Measure(1)
	p.Live(loadgen.Progress{Elapsed: time.Second, Requests: 1})
	p.StageDone()
	p.Finish()
	var b bytes.Buffer
	if w := p.Writer(&b); w != &b || p.Line() != "" || p.Left() != 0 {
		t.Error("a nil Progress changed something")
	}
}

// On a terminal the driver's lines are printed above the progress line:
// the line is cleared before each and drawn again after.
func TestTerminalProgressWriter(t *testing.T) {
	var term, out bytes.Buffer
	p := NewTerminalProgress(&term)
	p.Plan(1, 1, 1, 0, time.Second)
	p.Stage(1, "2", 1)
	w := p.Writer(&out)
	if _, err := w.Write([]byte("a result line\n")); err != nil {
		t.Fatal(err)
	}
	if out.String() != "a result line\n" {
		t.Errorf("the driver's line became %q", out.String())
	}
	if !strings.Contains(term.String(), "stage 2 [1/1]: start") {
		t.Errorf("the terminal shows %q, want the progress line", term.String())
	}
}
