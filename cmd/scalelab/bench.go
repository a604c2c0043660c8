package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/scalelab/scalelab/bench"
	"github.com/scalelab/scalelab/bench/driver"
	"github.com/scalelab/scalelab/bench/record"
	"github.com/scalelab/scalelab/bench/report"
	"github.com/scalelab/scalelab/data"
	"github.com/scalelab/scalelab/internal/appserver"
	"github.com/scalelab/scalelab/internal/cpuset"
	"github.com/scalelab/scalelab/stages"
)

// benchOptions are the flags of bench and lab: the driver's options,
// bound to their flags, and the few that become them.
type benchOptions struct {
	d       driver.Options
	NoIndex bool
	// FindCapacity searches each stage's capacity at SLO (open loop).
	FindCapacity bool
	SLO          string
	// Fault is injected during the measurement (bench only).
	Fault driver.Fault
	// Thresholds are --threshold as given, and parsed by validate.
	Thresholds []string
	thresholds []bench.Threshold
	// ClientCPUs is --client-cpus, split into the driver's two sets.
	ClientCPUs string
}

func addBenchFlags(cmd *cobra.Command, o *benchOptions, repeat int) {
	f, d := cmd.Flags(), &o.d
	f.IntVar(&d.Users, "users", data.DefaultUsers, "dataset size in users (the database is seeded again if it holds another)")
	f.Uint64Var(&d.Seed, "seed", 1, "dataset and workload seed")
	f.IntVarP(&d.Connections, "connections", "c", 32, "closed loop: concurrent connections")
	f.Float64Var(&d.Rate, "rate", 0, "open loop: requests per second on a fixed schedule (instead of --connections)")
	f.DurationVarP(&d.Duration, "duration", "d", 10*time.Second, "length of each measurement")
	f.DurationVar(&d.Warmup, "warmup", 15*time.Second, "longest warm-up before measuring: it ends once req/s is steady (over 4 one-second windows, no trend beyond 5% and no dip); 0: none")
	f.IntVar(&d.Repeat, "repeat", repeat, "measurements per stage: the median is reported, the spread recorded")
	f.StringSliceVar(&d.Tools, "tool", nil, "also load the front page with ab and/or wrk (ab,wrk), parsed into the same record")
	f.BoolVar(&d.SkipVerify, "no-verify", false, "measure without checking the stage's pages against stage 2 first")
	f.StringVar(&d.Results, "out", "results", "folder under which the run's folder <UTC time>-<host> is made")
	f.StringVar(&o.SLO, "slo", "p99=100ms", "latency goal of the capacity search: pNN=DURATION")
	f.DurationVar(&d.CapacityStep, "capacity-step", 3*time.Second, "length of each trial of the capacity search")
	f.StringArrayVar(&o.Thresholds, "threshold", nil, "pass/fail criterion, e.g. 'p99<100ms', 'errors<0.1%', 'stage=4:rps>10000' (repeatable): exit 1 when one is breached, after the record is written")
	f.IntSliceVar(&d.Sweep, "sweep", nil, "also measure each stage at these connection counts (e.g. 1,4,16,64,256): throughput against concurrency")
	appserver.AddCostFlags(f, &d.AppCosts)
	f.StringVar(&o.ClientCPUs, "client-cpus", "", "pin the load generator (and ab, wrk) to these `CPUs` (0, 0-1, 0,2) and every server the lab starts to the others")
}

// validate turns the flags into the driver's options and checks them
// with the driver's own Validate: before the state folder is claimed, and
// before any server starts or any dataset is seeded.
func (o *benchOptions) validate(g *globalOptions) error {
	// The latency goal is parsed whether or not a search uses it: a typo
	// is found now.
	slo, err := bench.ParseSLO(o.SLO)
	if err != nil {
		return usagef("--slo: %v", usageText(err))
	}
	if o.FindCapacity {
		o.d.Capacity = &slo
	}
	if o.thresholds, err = bench.ParseThresholds(o.Thresholds); err != nil {
		return usagef("%v", usageText(err))
	}
	if o.Fault.Kind != "" {
		o.d.Fault = &o.Fault
	}
	if o.ClientCPUs != "" {
		if o.d.ClientCPUs, o.d.ServerCPUs, err = cpuset.Split(o.ClientCPUs); err != nil {
			return usagef("--client-cpus: %v", err)
		}
	}
	// The lab as configured (external services or its own), which a fault
	// must be able to stop; nothing is started or claimed here.
	o.d.Lab = newLab(g)
	o.d.State = g.State
	if err := o.d.Validate(); err != nil {
		return usagef("%v", usageText(err))
	}
	return nil
}

func newBenchCmd(g *globalOptions) *cobra.Command {
	o := &benchOptions{}
	cmd := &cobra.Command{
		Use:   "bench STAGE",
		Short: "Measure one stage: start it, verify its pages, load it, record",
		Long: `Start the stage's processes (and the services it needs), check that it
serves the same pages as stage 2 (anonymous and logged in), prime and warm it
up, measure it with the photo-site workload, write the run's record under
--out, and stop everything, also on failure and Ctrl-C.

STAGE is ` + stageChoices + `;
--no-index runs it without the secondary indexes (restored afterwards).`,
		Example: `  scalelab bench 2
  scalelab bench cached --connections 64 --duration 20s --repeat 3
  scalelab bench 4 --no-index --tool ab,wrk
  scalelab bench 2 --sweep 1,4,16,64,256 --duration 5s
  scalelab bench 3 --fault kill-instance --at 10s
  scalelab bench 4 --fault memcached-down --at 10s --fault-for 5s
  scalelab bench 2 --threshold 'p99<100ms' --threshold 'errors<0.1%'`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("bench takes one stage: %s", stageChoices)
			}
			st, ok := driver.FindStage(args[0])
			if !ok {
				return usagef("unknown stage %q: use %s", args[0], stageChoices)
			}
			if o.Fault.Kind != "" {
				if err := o.Fault.Check(st); err != nil {
					return usagef("%v", usageText(err))
				}
				if !cmd.Flags().Changed("duration") {
					// Time before the fault, the fault, and time to recover.
					o.d.Duration = o.Fault.At + o.Fault.For + 20*time.Second
				}
			}
			// Flags are checked here, before the state folder is claimed
			// (cobra checks arguments before any pre-run hook).
			if err := o.validate(g); err != nil {
				return err
			}
			st.NoIndex = o.NoIndex
			return checkThresholdStages(o.thresholds, []driver.Stage{st})
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			st, _ := driver.FindStage(args[0])
			st.NoIndex = o.NoIndex
			return runDriver(cmd.Context(), g, o, []driver.Stage{st}, cmd.OutOrStdout())
		},
	}
	addBenchFlags(cmd, o, 1)
	f := cmd.Flags()
	f.StringVar(&o.Fault.Kind, "fault", "", "inject a fault during the measurement: kill-instance (1f, 3, 4), memcached-down (3, 4), db-restart or slow-db (1-4)")
	f.DurationVar(&o.Fault.At, "at", 10*time.Second, "when the fault happens, after the measurement starts")
	f.DurationVar(&o.Fault.For, "fault-for", 0, "how long the service stays down or slow (default 5s; db-restart 1s)")
	f.DurationVar(&o.Fault.Delay, "fault-delay", 500*time.Millisecond, "slow-db: latency added to every round trip to PostgreSQL")
	cmd.Flags().BoolVar(&o.NoIndex, "no-index", false, "run the stage without the secondary indexes")
	cmd.Flags().BoolVar(&o.FindCapacity, "find-capacity", false, "also search the highest open-loop rate that meets --slo with no errors")
	return cmd
}

func newLabCmd(g *globalOptions) *cobra.Command {
	o := &benchOptions{}
	var quick, crossover bool
	var only []string
	var plan []driver.Stage
	cmd := &cobra.Command{
		Use:   "lab",
		Short: "The whole talk: every stage measured the same way, into one run folder",
		Long: `Run the talk on this machine: stage 0's baselines (baseline), stages 1
(cgi), 1f (fastcgi), 2 (appserver), 3 (balanced), 4 (cached) and stage 4
without its index, each started, verified, loaded the same way and stopped,
into one run folder with run.json, summary.csv and bench.txt (for benchstat).
It prints a table as it goes: req/s, the speed-up over stage 1 beside the
talk's, p99 and errors.

With --repeat N (5 by default) the stages are measured in interleaved
rounds: every stage once, then every stage again, each started, primed and
warmed up afresh, so that a busy minute on a shared machine falls on one
repeat of several stages rather than on every repeat of one. Each stage's
req/s and each ratio of two stages is the median with its confidence
interval; a step is a gain or a loss only when its interval excludes 1.
--stages measures only the stages listed (` + noIndexKey() + ` is the stage without
its index).

Before each measurement the stage is warmed up until its req/s is steady
(over four one-second windows, the last two within 5% of the first two and
none off the others by 25%) or --warmup passes; a stage with a cache is
first primed with the very visits the measurement will make.

--quick uses 2,000 users, one round and 3-second measurements for a first
look; the default (100,000 users, 5 x 8 s per stage) took 15 minutes on a
2-core VM.

--threshold EXPR (repeatable) is a pass/fail criterion for CI, checked on
every stage or, with stage=KEY:, on one: p50/p90/p99/p99.9/max against a
duration, rps against a rate, errors as a share ('errors<0.1%') or a count.
The record is written first; then a breached one exits 1, and the terminal,
run.json and the report's warnings say which.

--app-cpu and --app-start-cpu model a costlier app than Go (make lab-talk:
the talk's Python, 7ms a request and 36ms to start). --crossover measures the
app server and the balanced stages at app costs from 0 to 8ms a request and
draws where scaling out starts to pay (crossover.png). --client-cpus pins the
load generator to some CPUs and every server to the others.`,
		Example: `  scalelab lab --quick
  scalelab lab --app-cpu 7ms --app-start-cpu 36ms
  scalelab lab --crossover
  scalelab lab --client-cpus 0
  scalelab lab --stages 2,3,4 --repeat 5
  scalelab lab --tool ab,wrk --out /tmp/runs
  scalelab lab --quick --threshold 'errors<0.1%' --threshold 'stage=4:rps>1000'`,
		Args: func(cmd *cobra.Command, args []string) error {
			if err := noArgs(cmd, args); err != nil {
				return err
			}
			if quick {
				if !cmd.Flags().Changed("users") {
					o.d.Users = 2000
				}
				if !cmd.Flags().Changed("duration") {
					o.d.Duration = 3 * time.Second
				}
				if !cmd.Flags().Changed("warmup") {
					o.d.Warmup = 5 * time.Second
				}
				if !cmd.Flags().Changed("repeat") {
					o.d.Repeat = 1
				}
			}
			if crossover {
				// When does a load balancer pay? The stages around the
				// balancer, shorter runs: eight costs of three stages.
				if len(only) == 0 {
					only = crossoverStages()
				}
				if !cmd.Flags().Changed("duration") && !quick {
					o.d.Duration = 5 * time.Second
				}
				if !cmd.Flags().Changed("repeat") {
					o.d.Repeat = 1
				}
				o.d.Crossover = driver.CrossoverCosts
			}
			var err error
			if plan, err = labPlan(only); err != nil {
				return err
			}
			// Flags are checked before the state folder is claimed.
			if err := o.validate(g); err != nil {
				return err
			}
			return checkThresholdStages(o.thresholds, plan)
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDriver(cmd.Context(), g, o, plan, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringSliceVar(&only, "stages", nil, "measure only these stages, in the lab's order (e.g. 2,3,4; "+noIndexKey()+" is the stage without its index; default: all)")
	// Five rounds: the fewest whose range is an interval of the median at
	// over 90% (1 - 2/2^5, see record.MedianInterval); each 8 s long, so
	// that a full run stays near the length it had with three of 10 s.
	addBenchFlags(cmd, o, 5)
	cmd.Flag("duration").DefValue = "8s"
	o.d.Duration = 8 * time.Second
	cmd.Flags().BoolVar(&o.FindCapacity, "capacity", false, "also search each stage's capacity at --slo")
	cmd.Flags().BoolVar(&quick, "quick", false, "a small dataset and short runs: a first look")
	cmd.Flags().BoolVar(&crossover, "crossover", false, "when does a load balancer pay? measure the app server, balanced and cached stages at app costs from 0 to 8ms a request (5 s each) and draw crossover.png")
	return cmd
}

// crossoverStages are what lab --crossover measures by default: the app
// server, the balanced stages behind nginx (with and without the cache),
// from the table.
func crossoverStages() []string {
	var ids []string
	for _, st := range stages.All {
		if st.Process == stages.AppServer || st.Process == stages.Balanced {
			ids = append(ids, st.ID)
		}
	}
	return ids
}

// runDriver brings the lab up with the right dataset, measures the stages
// and stops every service it started.
func runDriver(ctx context.Context, g *globalOptions, o *benchOptions, stages []driver.Stage, out io.Writer) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the scalelab binary: %w", err)
	}
	dopts := o.d
	svc, started, err := dopts.Lab.Up(ctx)
	if err != nil {
		return err
	}
	defer dopts.Lab.Stop(started)
	ds, dbVersion, err := ensureBenchDataset(ctx, g, svc.DatabaseURL, dopts, out)
	if err != nil {
		return err
	}
	dopts.Exe, dopts.Stdout = exe, out
	// Where the run is, at every moment: a line redrawn in place on a
	// terminal, plain lines in a log.
	if f, ok := out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		dopts.Progress = driver.NewTerminalProgress(f)
		dopts.Stdout = dopts.Progress.Writer(out)
	} else {
		dopts.Progress = driver.NewPlainProgress(out, nil)
	}
	dopts.Users, dopts.Seed = ds.Users, ds.Seed
	dopts.DatabaseURL, dopts.MemcachedServers = svc.DatabaseURL, svc.MemcachedServers
	dir, run, err := driver.RunStages(ctx, dopts, stages, ds, dbVersion)
	if dir != "" && run != nil && len(o.thresholds) > 0 && ctx.Err() == nil {
		// The run is recorded; its thresholds are checked and recorded
		// beside it, then a breach fails the command (exit 1).
		run.Thresholds = bench.CheckRun(o.thresholds, run)
		if werr := run.Write(dir); werr != nil {
			err = errors.Join(err, werr)
		}
		for _, c := range run.Thresholds {
			fmt.Fprintf(out, "threshold %s\n", c)
		}
		err = errors.Join(err, bench.ThresholdError(run.Thresholds))
	}
	if run != nil {
		// Where a step falls short of the talk's, say why, from the
		// run's own record.
		for _, e := range report.Explanations(run) {
			fmt.Fprintf(out, "why: %s\n", e.Text)
		}
	}
	if dir != "" {
		printSteps(out, dir)
		fmt.Fprintf(out, "records: %s/run.json, summary.csv, bench.txt, latency-*.hgrm\n", dir)
		// The measurements are saved: a report that fails is said, not fatal.
		if files, rerr := report.Write(dir); rerr != nil {
			fmt.Fprintf(out, "report: %v\n", rerr)
		} else {
			printReport(out, files)
		}
	}
	if errors.Is(err, bench.ErrUsage) {
		return &usageError{err}
	}
	return err
}

// checkThresholdStages refuses a --threshold limited to a stage the
// command does not measure: it could never be checked, and a gate that
// checks nothing must not pass.
func checkThresholdStages(ts []bench.Threshold, plan []driver.Stage) error {
	for _, t := range ts {
		if t.Stage == "" {
			continue
		}
		var keys []string
		for _, st := range plan {
			if st.Key() == t.Stage {
				keys = nil
				break
			}
			keys = append(keys, st.Key())
		}
		if keys != nil {
			return usagef("--threshold %q: stage %s is not measured by this command (it measures %s)", t.Expr, t.Stage, strings.Join(keys, ", "))
		}
	}
	return nil
}

// ensureBenchDataset seeds the database when it does not hold the
// dataset asked for, and returns what the workload needs.
func ensureBenchDataset(ctx context.Context, g *globalOptions, url string, o driver.Options, out io.Writer) (driver.Dataset, string, error) {
	pool, err := openPool(ctx, url)
	if err != nil {
		return driver.Dataset{}, "", err
	}
	defer pool.Close()
	var version string
	if err := pool.QueryRow(ctx, "SHOW server_version").Scan(&version); err != nil {
		return driver.Dataset{}, "", fmt.Errorf("read the PostgreSQL version: %w", err)
	}
	meta, err := data.CheckLoaded(ctx, pool)
	if err != nil && !errors.Is(err, data.ErrIncomplete) {
		return driver.Dataset{}, "", err
	}
	if err != nil || meta.Users != o.Users || meta.Seed != o.Seed || !meta.Indexed {
		fmt.Fprintf(out, "seeding %d users (seed %d) for this run\n", o.Users, o.Seed)
		rep, err := data.Load(ctx, pool, data.LoadOptions{Dataset: data.Dataset{Seed: o.Seed, Users: o.Users}})
		if err != nil {
			return driver.Dataset{}, "", fmt.Errorf("seed: %w", err)
		}
		printLoadReport(out, rep, &seedOptions{Users: o.Users, Seed: o.Seed})
		meta.Users, meta.Seed, meta.Counts = o.Users, o.Seed, rep.Counts
	}
	if err := data.EnsurePool(g.State + "/images"); err != nil {
		return driver.Dataset{}, "", err
	}
	return driver.Dataset{Users: meta.Users, Photos: meta.Counts.Photos, Seed: meta.Seed}, "PostgreSQL " + strings.TrimSpace(version), nil
}

// labPlan is the lab's stages, or those of only (ids, aliases, or an id
// with the no-index suffix), kept in the lab's order.
func labPlan(only []string) ([]driver.Stage, error) {
	all := driver.LabStages()
	if len(only) == 0 {
		return all, nil
	}
	want := map[string]bool{}
	for _, name := range only {
		id, noIndex := stages.ParseKey(strings.TrimSpace(name))
		st, ok := stages.Find(id)
		if !ok {
			return nil, usagef("--stages: unknown stage %q: use %s, or %s", name, stageChoices, noIndexKey())
		}
		want[stages.Key(st.ID, noIndex)] = true
	}
	var plan []driver.Stage
	for _, st := range all {
		if want[st.Key()] {
			plan = append(plan, st)
			delete(want, st.Key())
		}
	}
	for key := range want {
		return nil, usagef("--stages: the lab does not run %s (without its index it runs %s only)", key, noIndexKey())
	}
	return plan, nil
}

// noIndexKey names the lab's stage without its index ("4-noindex").
func noIndexKey() string { return stages.Key(stages.NoIndex.Stage, true) }

// printSteps prints each step of the run (a stage over the one before it)
// with its interval and what it shows, under the table.
func printSteps(out io.Writer, dir string) {
	run, err := record.ReadRun(filepath.Join(dir, "run.json"))
	if err != nil {
		return // the table is printed; the report says what is wrong
	}
	steps := report.Steps(run)
	if len(steps) == 0 {
		return
	}
	fmt.Fprintln(out, "steps (median of the per-round ratios, with its interval):")
	for _, s := range steps {
		fmt.Fprintln(out, "  "+s)
	}
}
