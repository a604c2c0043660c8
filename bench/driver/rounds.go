package driver

import (
	"context"
	"fmt"

	"github.com/scalelab/scalelab/bench/record"
)

// Interleaved rounds: with Repeat N and more than one stage, the run
// measures every stage once (round 1), then every stage again (round 2),
// and so on, each stage started, primed and warmed up afresh in every
// round as in its first. A minute in which the shared machine is busy then
// lands on one repeat of several stages, not on every repeat of one stage,
// and the stages' medians are compared on the same footing.
//
// Round 1 does everything a stage's measurement does (verification, the
// sweep, the capacity search, ab and wrk); the later rounds only measure
// again, once, and add their repeat to round 1's result.

// interleaved says whether a plan is measured in rounds: several stages,
// several repeats, and no fault (a fault run is one measurement).
func interleaved(o Options, plan []Stage) bool {
	return len(plan) > 1 && o.Repeat > 1 && o.Fault == nil && len(o.Crossover) == 0
}

// benchRounds measures the plan in o.Repeat rounds (see above), saving the
// record after each stage of each round, and records the order in which
// the measurements were taken.
func benchRounds(ctx context.Context, o Options, plan []Stage, ds Dataset, rec *runRecord) ([]error, error) {
	var failed []error
	done := map[string]bool{} // stages whose round 1 succeeded
	for round := 1; round <= o.Repeat; round++ {
		for k, st := range plan {
			if ctx.Err() != nil {
				return failed, nil // the record keeps what was measured
			}
			if round > 1 && !done[st.Key()] {
				o.Progress.StageDone() // skipped: its round 1 failed
				continue
			}
			o.Progress.Stage(k+1, st.Key(), round)
			err := benchRound(ctx, roundOptions(o, round), st, ds, rec, round)
			o.Progress.StageDone()
			if err == nil && round == 1 {
				done[st.Key()] = true
			}
			if err != nil && ctx.Err() == nil {
				fmt.Fprintf(o.Stdout, "stage %s, round %d, failed: %v\n", st.Key(), round, err)
				failed = append(failed, err)
			}
			if err := rec.save(); err != nil {
				return failed, err
			}
		}
	}
	printHeader(o)
	for _, r := range rec.run.Results {
		printResult(o, rec.run, r)
	}
	return failed, nil
}

// roundOptions are the options of one round: one measurement; after the
// first round, no verification (the stage passed it in round 1) and none
// of the extras that round 1 took.
func roundOptions(o Options, round int) Options {
	o.Repeat = 1
	if round > 1 {
		o.SkipVerify, o.Sweep, o.Capacity, o.Tools = true, nil, nil, nil
	}
	return o
}

// benchRound measures st once for round and adds its results to the
// run's record: round 1's as new results, later rounds' into them. It
// prints one line per measurement; the table's rows come at the end.
func benchRound(ctx context.Context, o Options, st Stage, ds Dataset, rec *runRecord, round int) error {
	results, err := BenchStage(ctx, o, st, rec.dir, ds)
	run := rec.run
	run.Settings.Order = append(run.Settings.Order, fmt.Sprintf("%s#%d", st.Key(), round))
	for _, r := range results {
		fmt.Fprintf(o.Stdout, "  round %d of %d: stage %s %s %s %.0f req/s\n", round, run.Settings.Repeat, st.Key(), r.Page, r.Tool, r.RPS)
		x := findResult(run, r)
		if round == 1 || x == nil {
			run.Results = append(run.Results, r)
			continue
		}
		if merr := addRound(x, r); merr != nil && err == nil {
			err = merr
		}
	}
	return err
}

// findResult is the run's result that a later round's r adds to: the same
// stage, variant, page and tool, not a point of a sweep.
func findResult(run *Run, r Result) *Result {
	for i := range run.Results {
		x := &run.Results[i]
		if x.Key() == r.Key() && x.Page == r.Page && x.Tool == r.Tool && !x.Sweep && !r.Sweep {
			return x
		}
	}
	return nil
}

// addRound adds one more measurement of a stage (r, one repeat) to its
// result so far (x): the repeats, their records and totals, the check of
// lost writes and where the time went, then the medians and latencies of
// all the repeats together.
func addRound(x *Result, r Result) error {
	n := float64(len(x.RPSRuns))
	x.Warmups = append(x.Warmups, r.Warmups...)
	for _, rec := range r.Records {
		addRecord(x, rec)
	}
	if r.Writes != nil {
		if x.Writes == nil {
			x.Writes = &WriteCheck{}
		}
		x.Writes.Add(r.Writes)
	}
	x.Where = addWhere(x.Where, r.Where, n, float64(len(r.RPSRuns)), x.Requests)
	return summarise(x)
}

// addWhere adds w (measured over nb repeats) to sum (over na repeats):
// CPU-seconds (the machine's, outsiders' and steal too) and the noisy and
// re-measured counts add up, CPU per request is recomputed over all
// requests, and the per-view counts are the mean over every repeat.
func addWhere(sum, w *record.Where, na, nb float64, requests int64) *record.Where {
	if w == nil {
		return sum
	}
	if sum == nil {
		c := *w
		return &c
	}
	for k, v := range w.CPUS {
		sum.CPUS[k] += v
	}
	sum.MachineS += w.MachineS
	sum.OutsideCPUS += w.OutsideCPUS
	sum.StealS += w.StealS
	sum.Noisy += w.Noisy
	sum.Remeasured += w.Remeasured
	total := whereSum{Where: *sum, requests: requests}
	total.finish() // CPU per request over every request
	*sum = total.Where
	mean := func(a, b float64) float64 { return (a*na + b*nb) / (na + nb) }
	if sum.SQLPerView >= 0 && w.SQLPerView >= 0 {
		sum.SQLPerView = mean(sum.SQLPerView, w.SQLPerView)
	} else {
		sum.SQLPerView = -1
		if sum.Note == "" {
			sum.Note = w.Note
		}
	}
	sum.MCGetsPerView = mean(sum.MCGetsPerView, w.MCGetsPerView)
	sum.MCHitsPerView = mean(sum.MCHitsPerView, w.MCHitsPerView)
	sum.MCSetsPerView = mean(sum.MCSetsPerView, w.MCSetsPerView)
	return sum
}
