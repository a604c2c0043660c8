package bench

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/scalelab/scalelab/bench/record"
)

// "How fast is fast enough?" The talk's question, answered the way
// capacity is planned: the highest steady arrival rate a server sustains
// while a latency percentile stays under a goal and nothing fails.

// SLO is a latency goal: Percentile (e.g. 99) of the latency under Max.
type SLO struct {
	Percentile float64
	Max        time.Duration
}

// ParseSLO reads "p99=100ms", "p99.9=1s", "p50=20ms".
func ParseSLO(s string) (SLO, error) {
	k, v, ok := strings.Cut(strings.TrimSpace(s), "=")
	if !ok || !strings.HasPrefix(k, "p") {
		return SLO{}, fmt.Errorf("%w: latency goal %q: want pNN=DURATION, e.g. p99=100ms", ErrUsage, s)
	}
	p, err := strconv.ParseFloat(k[1:], 64)
	if err != nil || p <= 0 || p >= 100 {
		return SLO{}, fmt.Errorf("%w: latency goal %q: the percentile must be between 0 and 100", ErrUsage, s)
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return SLO{}, fmt.Errorf("%w: latency goal %q: %q is not a positive duration", ErrUsage, s, v)
	}
	return SLO{Percentile: p, Max: d}, nil
}

func (s SLO) String() string { return fmt.Sprintf("p%g=%s", s.Percentile, s.Max) }

// CapacityOptions say what to search. Load is the template of every step
// (targets, workload, connections as the most requests in flight); its Rate
// and Duration are set by the search.
type CapacityOptions struct {
	Load LoadOptions
	SLO  SLO
	// Start is the first rate tried (requests or, with a workload, page
	// views per second); zero means 10.
	Start float64
	// Step is each trial's duration; zero means 3 s. Confirm is the final
	// run's at the rate found; zero means 3 × Step.
	Step, Confirm time.Duration
	// Precision ends the bisection when the bracket is this narrow
	// (relative); zero means 0.05.
	Precision float64
	// Progress, if set, is told each trial as it ends.
	Progress func(Trial)
	// Run, if set, runs one trial at rate for d and returns its record in
	// place of an open-loop Load with the template. It exists so the search
	// itself can be tested against a model whose capacity is known exactly,
	// which no real server on a shared machine has; nil means the real load.
	Run func(ctx context.Context, rate float64, d time.Duration) (*record.Record, error)
}

// Trial is one step of the search, and Capacity its answer; both are
// part of a run's record.
type (
	Trial    = record.Trial
	Capacity = record.Capacity
)

// FindCapacity searches the capacity: it doubles the rate from Start
// until a trial misses the goal (or halves it until one meets it), bisects
// the bracket to Precision, and confirms the rate found with a longer run
// (stepping down 10% at a time if the confirmation fails).
func FindCapacity(ctx context.Context, o CapacityOptions) (*Capacity, error) {
	if o.SLO.Max <= 0 {
		return nil, fmt.Errorf("%w: no latency goal", ErrUsage)
	}
	start, step, confirm, precision := o.Start, o.Step, o.Confirm, o.Precision
	if start <= 0 {
		start = 10
	}
	if step <= 0 {
		step = 3 * time.Second
	}
	if confirm <= 0 {
		confirm = 3 * step
	}
	if precision <= 0 {
		precision = 0.05
	}
	run := o.Run
	if run == nil {
		run = func(ctx context.Context, rate float64, d time.Duration) (*record.Record, error) {
			lo := o.Load
			lo.Rate, lo.Duration, lo.Requests, lo.Out, lo.Progress = rate, d, 0, "", false
			return Load(ctx, lo)
		}
	}
	c := &Capacity{SLO: o.SLO.String()}
	try := func(rate float64, d time.Duration, confirming bool) (bool, error) {
		rec, err := run(ctx, rate, d)
		if err != nil {
			return false, fmt.Errorf("capacity trial at %g/s for %s: %w", rate, d, err)
		}
		if err := ctx.Err(); err != nil {
			return false, err
		}
		t := trialOf(rec, rate, o.SLO)
		t.Confirm = confirming
		c.Trials = append(c.Trials, t)
		if o.Progress != nil {
			o.Progress(t)
		}
		return t.Pass, nil
	}
	// Bracket the capacity: lo meets the goal, hi misses it. Down from
	// Start until a rate passes, or up (doubling) until one fails.
	var lo, hi float64
	for rate := start; ; rate = max(1, rate/2) {
		pass, err := try(rate, step, false)
		if err != nil {
			return c, err
		}
		if pass {
			lo = rate
			break
		}
		hi = rate
		if rate <= 1 {
			return c, nil // nothing met the goal
		}
	}
	for i := 0; hi == 0 && i < 20; i++ {
		pass, err := try(2*lo, step, false)
		if err != nil {
			return c, err
		}
		if pass {
			lo *= 2
		} else {
			hi = 2 * lo
		}
	}
	if hi == 0 {
		c.Rate, c.AtLeast = lo, true
		finish(c)
		return c, nil
	}
	for (hi-lo)/hi > precision {
		mid := (lo + hi) / 2
		pass, err := try(mid, step, false)
		if err != nil {
			return c, err
		}
		if pass {
			lo = mid
		} else {
			hi = mid
		}
	}
	for lo >= 1 {
		pass, err := try(lo, confirm, true)
		if err != nil {
			return c, err
		}
		if pass {
			c.Rate = lo
			break
		}
		lo *= 0.9
	}
	finish(c)
	return c, nil
}

// finish fills the achieved rate and pages per day from the trials.
func finish(c *Capacity) {
	c.PagesPerDay = c.Rate * 86400
	for _, t := range c.Trials {
		if t.Rate == c.Rate && t.Pass {
			c.AchievedRPS = t.Achieved
		}
	}
}

// trialOf judges one open-loop record against the goal.
func trialOf(rec *record.Record, rate float64, slo SLO) Trial {
	r := rec.Results
	t := Trial{Rate: rate, Achieved: r.RequestsPerS, Errors: r.ErrorsTotal}
	if h := r.Latency.Hist; h != nil && h.Histogram != nil && h.TotalCount() > 0 {
		t.LatencyMs = float64(h.ValueAtQuantile(slo.Percentile)) / 1000 // µs → ms
	}
	t.Pass = r.Requests > 0 && r.ErrorsTotal == 0 && t.LatencyMs <= float64(slo.Max)/float64(time.Millisecond)
	return t
}
