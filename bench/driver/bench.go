package driver

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/scalelab/scalelab/bench"
	"github.com/scalelab/scalelab/stages"
)

// BenchStage starts one stage, verifies it, measures it and stops it.
// Its results carry the app model they were measured with.
func BenchStage(ctx context.Context, o Options, st Stage, dir string, ds Dataset) ([]Result, error) {
	results, err := benchStage(ctx, o, st, dir, ds)
	if cost := o.recordedCost(); cost != nil && st.Process != stages.Baselines {
		for i := range results {
			results[i].AppCost = cost
		}
	}
	return results, err
}

// serveArgs run st with the options' app model (not stage 0's baselines,
// which measure today's machine).
func (o *Options) serveArgs(st Stage) []string {
	args := st.serveArgs()
	if st.Process != stages.Baselines {
		args = append(args, o.AppCosts.Args()...)
	}
	return args
}

func benchStage(ctx context.Context, o Options, st Stage, dir string, ds Dataset) ([]Result, error) {
	if err := o.checkMeasurement(); err != nil {
		return nil, err
	}
	if err := emptyCache(o, st); err != nil {
		return nil, err
	}
	if f := o.Fault; f != nil {
		if err := f.appliesTo(st); err != nil {
			return nil, err
		}
	}
	proxy, env, err := slowDBProxy(o)
	if err != nil {
		return nil, err
	}
	if proxy != nil {
		defer proxy.Close()
	}
	o.Progress.Phase(PhaseStart)
	run, err := startServe(ctx, o, o.serveArgs(st), filepath.Join(dir, "stage-"+st.Key()+".log"), env...)
	if err != nil {
		return nil, fmt.Errorf("stage %s: %w", st.Key(), err)
	}
	defer run.stop()
	defer o.Progress.Phase(PhaseStop) // before run.stop: defers run last first
	run.proxy = proxy
	run.timeout = max(10*time.Second, st.QueryTimeout()+5*time.Second)

	verdict := "skipped"
	if !o.SkipVerify {
		o.Progress.Phase(PhaseVerify)
		if err := verifyStage(ctx, o, st, run.urls, ds); err != nil {
			return []Result{{Stage: st.ID, NoIndex: st.NoIndex, Name: st.Title(), Tool: "scalelab load", Verification: err.Error(), TalkRPS: st.Talk()}},
				fmt.Errorf("stage %s: %w: %v", st.Key(), ErrVerification, err)
		}
		verdict = "passed"
	}
	if st.Process == stages.Baselines {
		return measureBaselines(ctx, o, st, run, ds, verdict)
	}
	return measureSite(ctx, o, st, run, dir, ds, verdict)
}

// slowDBProxy is, for a slow-db fault, the proxy through which the stage
// reaches PostgreSQL (it can slow every round trip down), with the
// environment that sends the stage there; nothing otherwise.
func slowDBProxy(o Options) (*delayProxy, []string, error) {
	if o.Fault == nil || o.Fault.Kind != "slow-db" {
		return nil, nil, nil
	}
	u, err := url.Parse(o.DatabaseURL)
	if err != nil {
		return nil, nil, fmt.Errorf("slow-db: database URL: %w", err)
	}
	proxy, err := newDelayProxy(u.Host)
	if err != nil {
		return nil, nil, err
	}
	u.Host = proxy.Addr()
	return proxy, []string{"DATABASE_URL=" + u.String()}, nil
}

// baselinePages are stage 0's pages, in the order of its URLs.
var baselinePages = []string{"static", "dynamic", "query"}

// measureBaselines measures each of stage 0's pages on its own.
func measureBaselines(ctx context.Context, o Options, st Stage, run *served, ds Dataset, verdict string) ([]Result, error) {
	var results []Result
	for i, page := range baselinePages {
		o.Progress.Page(page)
		m := &measurer{o: o, st: st, run: run, targets: []string{run.urls[i]}, ds: ds}
		r, err := m.measure(ctx)
		if err != nil {
			return results, err
		}
		r.Page, r.Verification = page, verdict
		results = append(results, r)
	}
	return results, nil
}

// measureSite measures a stage of the photo site: the measurement, its
// writes' check, then what o asks besides (capacity, sweep, other tools).
func measureSite(ctx context.Context, o Options, st Stage, run *served, dir string, ds Dataset, verdict string) ([]Result, error) {
	m := &measurer{o: o, st: st, run: run, targets: run.urls[:1], workload: "photos", ds: ds}
	r, err := m.measure(ctx)
	if err != nil {
		return nil, err
	}
	r.Verification = verdict
	if w := r.Writes; w != nil && !w.OK() {
		return []Result{r}, fmt.Errorf("stage %s: %w: %s", st.Key(), ErrLostWrites, strings.Join(w.Problems, "; "))
	}
	if o.Capacity != nil {
		c, err := findCapacity(ctx, o, run, ds, r)
		if err != nil {
			return []Result{r}, fmt.Errorf("capacity of stage %s: %w", st.Key(), err)
		}
		r.Capacity = c
	}
	results, err := sweep(ctx, m, verdict)
	results = append([]Result{r}, results...)
	if err != nil {
		return results, err
	}
	return append(results, foreignTools(ctx, o, st, run, dir, ds, verdict)...), nil
}

// sweep measures the stage again at each of o.Sweep's connection counts,
// closed loop.
func sweep(ctx context.Context, m *measurer, verdict string) ([]Result, error) {
	var results []Result
	for _, c := range m.o.Sweep {
		sm := *m
		sm.o.Connections, sm.o.Rate = c, 0
		r, err := sm.measure(ctx)
		if err != nil {
			return results, err
		}
		r.Sweep, r.Verification = true, verdict
		results = append(results, r)
	}
	return results, nil
}

// foreignTools loads the front page with each of o.Tools; a tool that
// fails is said on the output and left out, the run goes on.
func foreignTools(ctx context.Context, o Options, st Stage, run *served, dir string, ds Dataset, verdict string) []Result {
	var results []Result
	for _, tool := range o.Tools {
		r, err := foreign(ctx, o, tool, run.urls[0]+"/", dir, st, ds)
		if err != nil {
			fmt.Fprintf(o.Stdout, "  %s: %v\n", tool, err)
			continue
		}
		r.Verification = verdict
		results = append(results, r)
	}
	return results
}

// emptyCache flushes memcached before st starts: one stage's cached pages
// must not flatter the next (stage 4 without its index most of all). A
// stage that uses memcached is not measured on a cache that could not be
// emptied: its numbers would be another stage's, and a memcached that
// does not answer would fail it anyway. Any other stage is measured, with
// a warning.
func emptyCache(o Options, st Stage) error {
	err := flushMemcached(o.MemcachedServers)
	switch {
	case err == nil:
		return nil
	case usesMemcached(st.Stage):
		return fmt.Errorf("stage %s: empty memcached before measuring: %w (is it up? scalelab status)", st.Key(), err)
	}
	fmt.Fprintf(o.Stdout, "  warning: could not empty memcached before stage %s, which does not use it: %v\n", st.Key(), oneLine(err))
	return nil
}

// usesMemcached says whether st keeps its sessions or its cache in memcached.
func usesMemcached(st stages.Stage) bool {
	return st.Sessions == stages.SessionsMemcached || st.Cache
}

// findCapacity searches the stage's capacity at o.Capacity with the photo
// workload in the open loop, starting at half the page views per second
// the closed loop measured.
func findCapacity(ctx context.Context, o Options, run *served, ds Dataset, closed Result) (*bench.Capacity, error) {
	fmt.Fprintf(o.Stdout, "  searching stage %s's capacity at %s …\n", closed.Key(), o.Capacity)
	return bench.FindCapacity(ctx, bench.CapacityOptions{
		Load: bench.LoadOptions{
			Targets:     run.urls[:1],
			Connections: max(256, o.Connections),
			Timeout:     run.timeout,
			Workload:    "photos",
			Photos:      photos(ds),
		},
		SLO:   *o.Capacity,
		Start: max(1, closed.PageViews/2),
		Step:  o.CapacityStep,
		Progress: func(t bench.Trial) {
			verdict := "meets"
			if !t.Pass {
				verdict = "misses"
			}
			fmt.Fprintf(o.Stdout, "    %8.0f views/s: %8.0f req/s, p%g %8.2f ms, %d errors: %s the goal\n", t.Rate, t.Achieved, o.Capacity.Percentile, t.LatencyMs, t.Errors, verdict)
		},
	})
}
