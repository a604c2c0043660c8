package driver

import (
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/scalelab/scalelab/bench"
	"github.com/scalelab/scalelab/bench/record"
	"github.com/scalelab/scalelab/data"
	"github.com/scalelab/scalelab/infra"
	"github.com/scalelab/scalelab/internal/appcost"
	"github.com/scalelab/scalelab/internal/cpuset"
)

// Options say how to measure.
type Options struct {
	// Exe is the scalelab binary; its "serve" command runs each stage.
	Exe string
	// State is the lab's state folder; Lab its services.
	State string
	Lab   *infra.Lab
	// Users and Seed are the dataset's size and seed; the database is
	// seeded again when it holds another.
	Users int
	Seed  uint64
	// Connections (closed loop) or Rate (open loop, requests/s: then
	// Connections is set to 0 by Validate).
	Connections int
	Rate        float64
	// Duration of each measurement, Warmup before the first, Repeat
	// measurements per stage (the median is reported).
	Duration, Warmup time.Duration
	Repeat           int
	// Tools are foreign load tools to also run ("ab", "wrk").
	Tools []string
	// Results is the folder under which the run's folder is made.
	Results string
	// Stdout gets the table as it goes and progress messages; nil
	// discards them.
	Stdout io.Writer
	// SkipVerify measures without verifying first (--no-verify).
	SkipVerify bool
	// Capacity, if set, also searches each stage's capacity at this latency
	// goal (open loop) after its measurement; CapacityStep is each trial's
	// length.
	Capacity     *bench.SLO
	CapacityStep time.Duration
	// DatabaseURL and MemcachedServers are the lab's services, read to
	// count SQL statements and memcached operations per page view.
	DatabaseURL, MemcachedServers string
	// Sweep are connection counts at which each stage (not the
	// baselines) is measured again after its main measurement, closed
	// loop (--sweep 1,4,16,64,256): throughput against concurrency, where
	// each stage saturates. Empty: no sweep.
	Sweep []int
	// Fault, if set, is injected during the stage's measurement (one
	// measurement, no sweep or capacity search), and its effect recorded.
	Fault *Fault
	// Progress, if set, is told where the run is at every phase change
	// (a terminal's live line, or plain lines in a log); nil says nothing.
	Progress *Progress
	// AppCosts model a costlier app (--app-cpu, --app-start-cpu): every
	// stage of the site is served with them (stage 0's baselines, the
	// orders of magnitude of today's machine, are not), and they are
	// recorded in the run's settings and each result.
	AppCosts appcost.Costs
	// ClientCPUs, if set, are the CPUs the load generator (this process,
	// and ab and wrk, which it starts) runs on, and ServerCPUs the rest,
	// to which every server of the lab is pinned (--client-cpus; see
	// cpuset.Split).
	ClientCPUs, ServerCPUs cpuset.Set
	// Crossover, if set, are app costs per request at each of which every
	// stage is measured (lab --crossover, CrossoverCosts): when does a
	// load balancer pay?
	Crossover []time.Duration
}

// recordedCost is the app model as the record keeps it: nil for Go as it
// is, so that a default run's record is unchanged.
func (o *Options) recordedCost() *record.AppCost {
	if o.AppCosts.Zero() {
		return nil
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return &record.AppCost{PerRequestMs: ms(o.AppCosts.PerRequest), StartMs: ms(o.AppCosts.Start)}
}

// Validate checks the options and normalises them (Rate > 0 sets
// Connections to 0, a fault gets its defaults, a nil Stdout discards). It
// is the one check of the measurement's settings: "scalelab bench" and
// "scalelab lab" call it on their flags before anything starts, and
// RunStages again. Its errors match bench.ErrUsage, and their text, the
// message alone, names the flag to fix.
func (o *Options) Validate() error {
	if err := o.checkMeasurement(); err != nil {
		return err
	}
	return checkResults(o.Results)
}

// checkMeasurement is Validate without the results folder: what
// BenchStage, which writes none, needs.
func (o *Options) checkMeasurement() error {
	for _, check := range []func() error{o.checkLoad, o.checkExtras, o.checkFault, o.checkCrossover} {
		if err := check(); err != nil {
			return err
		}
	}
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	return nil
}

// checkLoad checks the dataset and the load of every measurement.
func (o *Options) checkLoad() error {
	switch {
	case o.Users < 1 || o.Users > data.MaxUsers:
		return bench.Usagef("--users must be between 1 and %d, got %d", data.MaxUsers, o.Users)
	case bench.CheckRate(o.Rate) != nil:
		return bench.CheckRate(o.Rate)
	case o.Connections < 1 && o.Rate == 0:
		return bench.Usagef("--connections must be 1 or more, got %d", o.Connections)
	case o.Duration <= 0:
		return bench.Usagef("--duration must be positive, got %s", o.Duration)
	case o.Warmup < 0:
		return bench.Usagef("--warmup must not be negative, got %s", o.Warmup)
	case o.Repeat < 1:
		return bench.Usagef("--repeat must be 1 or more, got %d", o.Repeat)
	case o.AppCosts.Check() != nil:
		return bench.Usagef("%v", o.AppCosts.Check())
	}
	if o.Rate > 0 {
		o.Connections = 0
	}
	return nil
}

// checkExtras checks what is measured besides the main measurement: the
// foreign tools, the sweep and the capacity search. Each is checked used
// or not, so that a typo is found before a server starts.
func (o *Options) checkExtras() error {
	for _, t := range o.Tools {
		if t != "ab" && t != "wrk" {
			return bench.Usagef("--tool takes ab or wrk, got %q", t)
		}
	}
	for _, c := range o.Sweep {
		if c < 1 {
			return bench.Usagef("--sweep takes connection counts of 1 or more, got %d", c)
		}
	}
	if o.CapacityStep <= 0 {
		return bench.Usagef("--capacity-step must be positive, got %s", o.CapacityStep)
	}
	return nil
}

// faultRecovery is the least time a fault run measures after the fault
// ends: the stage's recovery is part of the lesson.
const faultRecovery = 5 * time.Second

// checkFault checks a fault against the rest of the options: a fault run
// is one measurement long enough to see the stage recover, and stops only
// the lab's own services.
func (o *Options) checkFault() error {
	f := o.Fault
	if f == nil {
		return nil
	}
	if err := f.check(); err != nil {
		return err
	}
	if need := f.At + f.For + faultRecovery; o.Duration < need {
		return bench.Usagef("a fault at %s for %s needs --duration of at least %s (time to recover)", f.At, f.For, need)
	}
	if o.Repeat > 1 || len(o.Sweep) > 0 || o.Capacity != nil {
		return bench.Usagef("a fault run is one measurement: drop --repeat, --sweep and --find-capacity")
	}
	if o.Lab == nil || (f.Kind == "memcached-down" && o.Lab.MemcachedServers != "") || (f.Kind == "db-restart" && o.Lab.DatabaseURL != "") {
		return bench.Usagef("fault %s stops one of the lab's own services, not an external one (unset DATABASE_URL / MEMCACHED_SERVERS)", f.Kind)
	}
	return nil
}

// checkResults makes the results folder if needed and checks that a file
// can be written in it: an unwritable folder is found before anything
// starts, not after the measurements.
func checkResults(dir string) error {
	probe := filepath.Join(dir, ".scalelab-probe")
	err := os.MkdirAll(dir, 0o755)
	if err == nil {
		err = os.WriteFile(probe, []byte("probe\n"), 0o644)
		os.Remove(probe)
	}
	if err != nil {
		return bench.Usagef("results folder %s cannot be written (%v): choose another with --out", dir, err)
	}
	return nil
}
