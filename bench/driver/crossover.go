package driver

import (
	"context"
	"fmt"
	"time"

	"github.com/scalelab/scalelab/bench"
)

// CrossoverCosts are the app's costs per request at which a crossover run
// (lab --crossover) measures its stages: from Go as it is, through the
// talk's Python (about 7 ms), to beyond it, evenly on a log scale.
var CrossoverCosts = []time.Duration{0, 100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2 * time.Millisecond, 4 * time.Millisecond, 8 * time.Millisecond}

// checkCrossover checks a crossover run's options: the run sets the app's
// cost itself, one measurement at each, and nothing else is measured.
func (o *Options) checkCrossover() error {
	if len(o.Crossover) == 0 {
		return nil
	}
	switch {
	case o.AppCosts.PerRequest > 0:
		return bench.Usagef("--crossover measures each stage at app costs from 0 to %s itself: drop --app-cpu", o.Crossover[len(o.Crossover)-1])
	case o.Fault != nil || len(o.Sweep) > 0 || o.Capacity != nil || len(o.Tools) > 0:
		return bench.Usagef("--crossover measures throughput alone: drop --fault, --sweep, --capacity and --tool")
	}
	return nil
}

// benchCrossover measures every stage of the plan at each of o.Crossover's
// app costs, the costs in the outer loop so that a cost's stages are
// measured close together in time (a busy minute on a shared machine falls
// on one cost, not on one stage). The results at cost 0 are the stages'
// main results; the others are marked as crossover points.
func benchCrossover(ctx context.Context, o Options, plan []Stage, ds Dataset, rec *runRecord) ([]error, error) {
	printHeader(o)
	var failed []error
	for round, cost := range o.Crossover {
		// One stage at one cost is an ordinary measurement with the app
		// modelled.
		co := o
		co.AppCosts.PerRequest, co.Crossover = cost, nil
		if cost == 0 {
			fmt.Fprintln(o.Stdout, "the app as it is (Go):")
		} else {
			fmt.Fprintf(o.Stdout, "the app modelled at %s of CPU a request:\n", cost)
		}
		for k, st := range plan {
			if ctx.Err() != nil {
				return failed, nil
			}
			o.Progress.Stage(k+1, st.Key(), round+1)
			results, err := BenchStage(ctx, co, st, rec.dir, ds)
			o.Progress.StageDone()
			for i := range results {
				results[i].Crossover = cost > 0
			}
			rec.run.Results = append(rec.run.Results, results...)
			for _, r := range results {
				printResult(o, rec.run, r)
			}
			if err != nil {
				if ctx.Err() != nil {
					return failed, nil
				}
				fmt.Fprintf(o.Stdout, "stage %s at app cost %s failed: %v\n", st.Key(), cost, err)
				failed = append(failed, err)
			}
			if err := rec.save(); err != nil {
				return failed, err
			}
		}
	}
	return failed, nil
}
