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
func BenchStage(ctx context.Context, o Options, st Stage, dir string, ds Dataset) ([]Result, error) {
	if err := o.checkMeasurement(); err != nil {
		return nil, err
	}
	if err := emptyCache(o, st); err != nil {
		return nil, err
	}
	var env []string
	var proxy *delayProxy
	if f := o.Fault; f != nil {
		if err := f.appliesTo(st); err != nil {
			return nil, err
		}
		if f.Kind == "slow-db" {
			// The stage reaches PostgreSQL through a proxy that can slow
			// every round trip down.
			u, err := url.Parse(o.DatabaseURL)
			if err != nil {
				return nil, fmt.Errorf("slow-db: database URL: %w", err)
			}
			if proxy, err = newDelayProxy(u.Host); err != nil {
				return nil, err
			}
			defer proxy.Close()
			u.Host = proxy.Addr()
			env = append(env, "DATABASE_URL="+u.String())
		}
	}
	run, err := startServe(ctx, o, st.serveArgs(), filepath.Join(dir, "stage-"+st.Key()+".log"), env...)
	if err != nil {
		return nil, fmt.Errorf("stage %s: %w", st.Key(), err)
	}
	defer run.stop()
	run.proxy = proxy
	run.timeout = max(10*time.Second, st.QueryTimeout()+5*time.Second)

	verdict := "skipped"
	if !o.SkipVerify {
		if err := verifyStage(ctx, o, st, run.urls, ds); err != nil {
			return []Result{{Stage: st.ID, NoIndex: st.NoIndex, Name: st.Title(), Tool: "scalelab load", Verification: err.Error(), TalkRPS: st.Talk()}},
				fmt.Errorf("stage %s: %w: %v", st.Key(), ErrVerification, err)
		}
		verdict = "passed"
	}

	var results []Result
	if st.Process == stages.Baselines {
		for i, page := range []string{"static", "dynamic", "query"} {
			r, err := measure(ctx, o, st, run, []string{run.urls[i]}, "", ds)
			if err != nil {
				return results, err
			}
			r.Page, r.Verification = page, verdict
			results = append(results, r)
		}
		return results, nil
	}
	r, err := measure(ctx, o, st, run, []string{run.urls[0]}, "photos", ds)
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
			return append(results, r), fmt.Errorf("capacity of stage %s: %w", st.Key(), err)
		}
		r.Capacity = c
	}
	results = append(results, r)
	for _, c := range o.Sweep {
		so := o
		so.Connections, so.Rate = c, 0
		sr, err := measure(ctx, so, st, run, []string{run.urls[0]}, "photos", ds)
		if err != nil {
			return results, err
		}
		sr.Sweep, sr.Verification = true, verdict
		results = append(results, sr)
	}
	for _, tool := range o.Tools {
		fr, err := foreign(ctx, o, tool, run.urls[0]+"/", dir, st, ds)
		if err != nil {
			fmt.Fprintf(o.Stdout, "  %s: %v\n", tool, err)
			continue
		}
		fr.Verification = verdict
		results = append(results, fr)
	}
	return results, nil
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
