package driver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/scalelab/scalelab/bench/record"
	"github.com/scalelab/scalelab/stages"
)

// The run's record is record.Run; these names keep the driver's code and
// tests short.
type (
	Run      = record.Run
	Settings = record.RunSettings
	Machine  = record.Machine
	Result   = record.Result
)

// ReadRun reads a run.json (see record.ReadRun).
func ReadRun(path string) (*Run, error) { return record.ReadRun(path) }

// RunStages measures stages one after the other into a new folder under
// o.Results and returns it. The record is rewritten after every stage, so
// an interrupted run keeps every stage it finished.
func RunStages(ctx context.Context, o Options, plan []Stage, ds Dataset, dbVersion string) (string, *Run, error) {
	if err := o.Validate(); err != nil {
		return "", nil, err
	}
	if err := pinClient(o); err != nil {
		return "", nil, err
	}
	rec, err := newRunRecord(o, plan, ds, dbVersion)
	if err != nil {
		return "", nil, err
	}
	if err := rec.save(); err != nil {
		return rec.dir, rec.run, err
	}
	announceRun(ctx, o, rec.dir, ds, interleaved(o, plan))
	bench := benchPlan
	rounds, repeats := 1, o.Repeat
	switch {
	case len(o.Crossover) > 0:
		// Each app cost is a round of the plan's stages.
		bench, rounds = benchCrossover, len(o.Crossover)
	case interleaved(o, plan):
		bench, rounds, repeats = benchRounds, o.Repeat, 1
	}
	o.Progress.Plan(len(plan), rounds, repeats, o.Warmup, o.Duration)
	failed, err := bench(ctx, o, plan, ds, rec)
	o.Progress.Finish()
	if err != nil {
		return rec.dir, rec.run, err
	}
	if ctx.Err() == nil {
		rec.run.Complete = len(failed) == 0
		rec.run.Finished = time.Now().UTC()
	}
	if err := rec.save(); err != nil {
		return rec.dir, rec.run, err
	}
	if ctx.Err() != nil {
		return rec.dir, rec.run, fmt.Errorf("interrupted: %s keeps the %d results finished", rec.dir, len(rec.run.Results))
	}
	return rec.dir, rec.run, errors.Join(append(failed, rec.moved)...)
}

// runRecord is a run's record and the folder it is written to: a new one
// under the results folder, or the fallback save moved it to.
type runRecord struct {
	run *Run
	dir string
	// moved says why the record went elsewhere (see save).
	moved error
	out   io.Writer
}

// newRunRecord makes the run's folder, named for its start and the
// machine, and its record, with the settings and the plan but no result.
func newRunRecord(o Options, plan []Stage, ds Dataset, dbVersion string) (*runRecord, error) {
	started := time.Now().UTC()
	m := machine(dbVersion)
	dir := filepath.Join(o.Results, started.Format("20060102T150405Z")+"-"+safe(m.Hostname))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("results folder: %w", err)
	}
	run := &Run{Version: record.RunVersion, Started: started, Machine: m, Commit: gitCommit(),
		Settings: Settings{Users: ds.Users, Photos: ds.Photos, Seed: ds.Seed, Connections: o.Connections, Rate: o.Rate,
			DurationS: o.Duration.Seconds(), WarmupS: o.Warmup.Seconds(), Repeat: o.Repeat, Tools: o.Tools, Workload: "photos", Sweep: o.Sweep,
			AppCost: o.recordedCost(), ClientCPUs: o.ClientCPUs.String(), ServerCPUs: o.ServerCPUs.String()}}
	for _, c := range o.Crossover {
		run.Settings.Crossover = append(run.Settings.Crossover, float64(c)/float64(time.Millisecond))
	}
	for _, st := range plan {
		run.Settings.Stages = append(run.Settings.Stages, st.Key())
	}
	return &runRecord{run: run, dir: dir, out: o.Stdout}, nil
}

// save writes the record. When the results folder cannot take it (the
// disk is full, it became read-only), the record, with every stage
// finished so far, goes to a folder under the system's temporary folder
// instead, and the run goes on there: a long run is not lost to a full
// disk. The record left in the results folder is the last one written
// whole (writes are atomic).
func (r *runRecord) save() error {
	err := r.run.Write(r.dir)
	if err == nil || r.moved != nil {
		return err
	}
	fb := filepath.Join(os.TempDir(), "scalelab-results", filepath.Base(r.dir))
	if ferr := os.MkdirAll(fb, 0o755); ferr != nil {
		return fmt.Errorf("%w; nor could it be saved in %s: %v", err, fb, ferr)
	}
	if ferr := r.run.Write(fb); ferr != nil {
		return fmt.Errorf("%w; nor could it be saved in %s: %v", err, fb, ferr)
	}
	fmt.Fprintf(r.out, "could not write the run's record in %s (%v): it is saved in %s instead, with the %d results finished\n", r.dir, oneLine(err), fb, len(r.run.Results))
	r.moved = fmt.Errorf("the results folder could not take the record (%v): the run is saved in %s instead (free space, then move it back)", oneLine(err), fb)
	r.dir = fb
	return nil
}

// announceRun turns on the count of SQL statements (a note if it cannot)
// and prints the run's line and the results' header.
func announceRun(ctx context.Context, o Options, dir string, ds Dataset, rounds bool) {
	if o.DatabaseURL != "" {
		if err := enableStatements(ctx, o.DatabaseURL); err != nil {
			fmt.Fprintf(o.Stdout, "note: SQL statements per page view will not be counted (%v); the lab's own PostgreSQL preloads pg_stat_statements: scalelab down && scalelab up\n", oneLine(err))
		}
	}
	how := ""
	if rounds {
		how = " in interleaved rounds (every stage once, then every stage again)"
	}
	fmt.Fprintf(o.Stdout, "run %s: %d users, %d connections, %s per measurement x%d%s\n", dir, ds.Users, o.Connections, o.Duration, o.Repeat, how)
}

// benchPlan measures the plan's stages in order, saving the record after
// each, until the plan ends or ctx does. A stage that fails is reported and
// returned among failed, and the run goes on to the next; an error is a
// record that could not be saved, which ends the run.
func benchPlan(ctx context.Context, o Options, plan []Stage, ds Dataset, rec *runRecord) ([]error, error) {
	printHeader(o)
	var failed []error
	for k, st := range plan {
		if ctx.Err() != nil {
			break
		}
		o.Progress.Stage(k+1, st.Key(), 1)
		results, err := BenchStage(ctx, o, st, rec.dir, ds)
		o.Progress.StageDone()
		rec.run.Results = append(rec.run.Results, results...)
		for _, r := range results {
			printResult(o, rec.run, r)
		}
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			fmt.Fprintf(o.Stdout, "stage %s failed: %v\n", st.Key(), err)
			failed = append(failed, err)
		}
		if err := rec.save(); err != nil {
			return failed, err
		}
	}
	return failed, nil
}

func printResult(o Options, run *Run, r Result) {
	printRow(o, run, r)
	if c := r.Capacity; c != nil {
		at := ""
		if c.AtLeast {
			at = "at least "
		}
		fmt.Fprintf(o.Stdout, "  capacity at %s: %s%.0f page views/s (%.0f req/s), %.1f million pages a day\n", c.SLO, at, c.Rate, c.AchievedRPS, c.PagesPerDay/1e6)
	}
	if f := r.Fault; f != nil {
		rec := "did not recover within the run"
		if f.RecoveredS >= 0 {
			rec = fmt.Sprintf("recovered %.0f s after it ended", f.RecoveredS)
		}
		fmt.Fprintf(o.Stdout, "  fault %s at %.0fs for %.0fs: %.0f req/s before, %.0f at the lowest, %d errors, worst p99 %.0f ms; %s\n",
			f.Kind, f.AtS, f.ForS, f.BeforeRPS, f.DipRPS, f.Errors, f.WorstP99Ms, rec)
	}
	if r.Stalls.Stalled() {
		fmt.Fprintf(o.Stdout, "  stalls: %s\n", r.Stalls)
	}
	if w := r.Writes; w != nil && !r.Sweep {
		fmt.Fprintf(o.Stdout, "  writes: %s\n", w)
	}
	for _, w := range r.Where.Warnings() {
		fmt.Fprintf(o.Stdout, "  warning: %s\n", w)
	}
}

func printHeader(o Options) {
	if c := o.recordedCost(); c != nil {
		fmt.Fprintf(o.Stdout, "%s (a model of the talk's Python, as GOMAXPROCS=1 is of its GIL; stage 0 does not pay it)\n", c)
	}
	fmt.Fprintf(o.Stdout, "%-10s %-18s %-8s %-14s %10s %18s %9s %9s %7s %8s %8s  %s\n", "stage", "name", "page", "tool", "req/s", "vs st.1", "talk", "p99 ms", "errors", "sql/view", "idle %", "verified")
}

func printRow(o Options, run *Run, x Result) {
	speed, talk := "-", "-"
	if b := run.Stage1(x.Tool); b != nil && b.RPS > 0 && x.RPS > 0 {
		speed = fmt.Sprintf("%.1fx", x.RPS/b.RPS)
		if iv := run.Ratio(&x, b); iv.Known() && b.Key() != x.Key() {
			// The median of the per-round ratios, with its interval.
			speed = fmt.Sprintf("%.1fx (%.1f-%.1f)", iv.Center, iv.Lo, iv.Hi)
		}
	}
	if x.TalkRPS > 0 {
		talk = fmt.Sprintf("%.1fx", x.TalkRPS/stages.Base().Talk)
	}
	page := x.Page
	if page == "" {
		page = "-"
	}
	if x.Sweep {
		page = fmt.Sprintf("c=%d", x.Connections)
	}
	if x.AppCost != nil && len(run.Settings.Crossover) > 0 {
		page = fmt.Sprintf("app %gms", x.AppCost.PerRequestMs)
	}
	sql, idle := "-", "-"
	if w := x.Where; w != nil {
		if w.SQLPerView >= 0 {
			sql = fmt.Sprintf("%.2f", w.SQLPerView)
		}
		if wall := x.DurationS * float64(len(x.RPSRuns)) * float64(run.Machine.Cores); wall > 0 {
			idle = fmt.Sprintf("%.0f", 100*w.CPUS[record.CPUIdle]/wall)
		}
	}
	fmt.Fprintf(o.Stdout, "%-10s %-18s %-8s %-14s %10.0f %18s %9s %9.2f %7d %8s %8s  %s\n", x.Key(), x.Name, page, x.Tool, x.RPS, speed, talk, x.P99Ms, x.Errors, sql, idle, x.Verification)
}

func safe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == ' ' || r == ':' {
			return '-'
		}
		return r
	}, s)
}

func gitCommit() string {
	out, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	c := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
		c += "-dirty"
	}
	return c
}

func machine(db string) Machine {
	m := Machine{Cores: runtime.NumCPU(), Go: runtime.Version(), Postgres: db}
	m.Hostname, _ = os.Hostname()
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		fmt.Sscanf(strings.TrimPrefix(strings.Split(string(b), "\n")[0], "MemTotal:"), "%d", &kb)
		m.MemoryMB = kb / 1024
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if out, err := exec.Command("nginx", "-v").CombinedOutput(); err == nil {
		m.Nginx = strings.TrimPrefix(strings.TrimSpace(string(out)), "nginx version: ")
	}
	if out, err := exec.Command("memcached", "-V").CombinedOutput(); err == nil {
		m.Memcached = strings.TrimSpace(string(out))
	}
	return m
}

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", " ") }
