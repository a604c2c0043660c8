package driver

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/scalelab/scalelab/bench"
	"github.com/scalelab/scalelab/bench/record"
	"github.com/scalelab/scalelab/bench/workload"
)

func measure(ctx context.Context, o Options, st Stage, run *served, targets []string, wl string, ds Dataset) (Result, error) {
	load := func(d time.Duration, conns int, rate float64, writes *workload.WriteLog, watch bool) (*record.Record, error) {
		lo := bench.LoadOptions{
			Targets:     targets,
			Connections: conns,
			Rate:        rate,
			Duration:    d,
			Timeout:     run.timeout,
			Workload:    wl,
			Photos:      photos(ds),
		}
		if writes != nil {
			// A tag no other run's comments carry: the check finds this
			// measurement's comments and only them.
			lo.Photos.Tag = fmt.Sprintf("stage %s %x", st.Key(), time.Now().UnixNano())
			lo.Photos.Writes = writes
		}
		if watch {
			lo.WatchPIDs = watchList(o.Lab, run.pid)
		}
		return bench.Load(ctx, lo)
	}
	// Prime (fill caches, open pools) at low concurrency, then warm up at
	// the measured load; neither is recorded.
	if _, err := load(max(time.Second, o.Warmup/2), 4, 0, nil, false); err != nil {
		return Result{}, fmt.Errorf("prime stage %s: %w", st.Key(), err)
	}
	if o.Warmup > 0 {
		if _, err := load(o.Warmup, o.Connections, o.Rate, nil, false); err != nil {
			return Result{}, fmt.Errorf("warm up stage %s: %w", st.Key(), err)
		}
	}
	res := Result{Stage: st.ID, NoIndex: st.NoIndex, Name: st.Title(), Tool: "scalelab load", Connections: o.Connections, Rate: o.Rate,
		DurationS: o.Duration.Seconds(), TalkRPS: st.Talk()}
	where := &whereSum{}
	for k := 1; k <= o.Repeat; k++ {
		// The records (with their histograms) are kept in run.json.
		before, idle0 := readCounters(ctx, o.DatabaseURL, o.MemcachedServers), idleSeconds()
		var writes *workload.WriteLog
		if wl == "photos" && o.DatabaseURL != "" {
			writes = &workload.WriteLog{}
		}
		var inj *injector
		injected := make(chan struct{})
		fctx, stopFault := context.WithCancel(ctx)
		if o.Fault != nil {
			inj = &injector{f: *o.Fault, lab: o.Lab, proxy: run.proxy, log: o.Stdout, start: time.Now()}
			go func() { inj.run(fctx); close(injected) }()
		} else {
			close(injected)
		}
		rec, err := load(o.Duration, o.Connections, o.Rate, writes, true)
		stopFault()
		<-injected
		if err != nil {
			return res, fmt.Errorf("load stage %s: %w", st.Key(), err)
		}
		if inj != nil {
			res.Fault = inj.analyse(rec)
		}
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		if writes != nil {
			wc, err := checkWrites(ctx, o.DatabaseURL, targets[0], writes.Writes())
			if err != nil {
				return res, fmt.Errorf("stage %s: %w", st.Key(), err)
			}
			if res.Writes == nil {
				res.Writes = &WriteCheck{}
			}
			res.Writes.Add(wc)
		}
		idle := idleSeconds() - idle0
		where.add(o.Lab, run.pid, rec, idle)
		views := rec.Results.PageViews
		if views == 0 {
			views = rec.Results.Requests // the baselines: a request is a view
		}
		where.addCounts(before, readCounters(ctx, o.DatabaseURL, o.MemcachedServers), views)
		res.Records = append(res.Records, rec)
		res.RPSRuns = append(res.RPSRuns, rec.Results.RequestsPerS)
		res.Requests += rec.Results.Requests
		res.Errors += rec.Results.ErrorsTotal
		res.ClientCPUS += rec.Results.CPU.ClientUserS + rec.Results.CPU.ClientSysS
		for _, w := range rec.Results.CPU.Watched {
			res.ServerCPUS += w.UserS + w.SysS
		}
	}
	where.finish()
	if o.Repeat > 1 {
		where.SQLPerView /= float64(o.Repeat)
		where.MCGetsPerView /= float64(o.Repeat)
		where.MCHitsPerView /= float64(o.Repeat)
		where.MCSetsPerView /= float64(o.Repeat)
	}
	res.Where = &where.Where
	res.RPS = median(res.RPSRuns)
	merged, err := record.Merge(res.Records...)
	if err != nil {
		return res, err
	}
	l := merged.Results.Latency
	res.P50Ms, res.P90Ms, res.P99Ms, res.P999Ms, res.MaxMs = l.P50Ms, l.P90Ms, l.P99Ms, l.P999Ms, l.MaxMs
	var views []float64
	for _, r := range res.Records {
		views = append(views, r.Results.PageViewsPerS)
	}
	res.PageViews = median(views)
	return res, nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
