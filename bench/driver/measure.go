package driver

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/scalelab/scalelab/bench"
	"github.com/scalelab/scalelab/bench/loadgen"
	"github.com/scalelab/scalelab/bench/record"
	"github.com/scalelab/scalelab/bench/workload"
)

// primeConnections is the concurrency of the priming load: low enough
// that a cold stage fills its caches and opens its pools without being
// swamped, before it is warmed up at the measured load.
const primeConnections = 4

// openDuration is how long the stage is loaded at primeConnections.
const openDuration = time.Second

// loadSpec is one load of a stage: how long, how hard, and what is kept.
type loadSpec struct {
	Duration    time.Duration
	Connections int
	Rate        float64
	// Writes, if set, logs the comments the load posts, for checkWrites.
	Writes *workload.WriteLog
	// Watch counts the CPU time of the stage's processes.
	Watch bool
	// OnProgress, if set, sees the load's totals about once a second.
	OnProgress func(loadgen.Progress)
}

// measurer loads one running stage at its targets with a workload.
type measurer struct {
	o       Options
	st      Stage
	run     *served
	targets []string
	// workload is "photos", or "" for the baselines' single pages.
	workload string
	ds       Dataset
	// primed says the stage's cache holds the measurement's visits
	// already: a sweep after the main measurement does not prime again.
	primed bool
	// sessions are the logged-in visitors' sessions, kept from one load
	// of the running stage to the next (see workload.Photos.Sessions).
	sessions *workload.Sessions
}

// load runs one load of the stage as spec says.
func (m *measurer) load(ctx context.Context, spec loadSpec) (*record.Record, error) {
	lo := bench.LoadOptions{
		Targets:     m.targets,
		Connections: spec.Connections,
		Rate:        spec.Rate,
		Duration:    spec.Duration,
		Timeout:     m.run.timeout,
		Workload:    m.workload,
		Photos:      photos(m.ds),
		OnProgress:  spec.OnProgress,
	}
	if m.sessions == nil {
		m.sessions = &workload.Sessions{}
	}
	lo.Photos.Sessions = m.sessions
	if p := m.o.Progress; p != nil { // the live req/s, besides the warm-up's watch
		watch := lo.OnProgress
		lo.OnProgress = func(pr loadgen.Progress) {
			p.Live(pr)
			if watch != nil {
				watch(pr)
			}
		}
	}
	if spec.Writes != nil {
		// A tag no other run's comments carry: the check finds this
		// measurement's comments and only them.
		lo.Photos.Tag = fmt.Sprintf("stage %s %x", m.st.Key(), time.Now().UnixNano())
		lo.Photos.Writes = spec.Writes
	}
	if spec.Watch {
		lo.WatchPIDs = watchList(m.o.Lab, m.run.pid)
	}
	return bench.Load(ctx, lo)
}

// warm opens the stage's pools at low concurrency, then warms it up until
// it is steady (see steady.go); only the warm-up is recorded, in res.
func (m *measurer) warm(ctx context.Context, res *Result) error {
	open := loadSpec{Duration: openDuration, Connections: primeConnections}
	m.o.Progress.Phase(PhasePrime)
	if _, err := m.load(ctx, open); err != nil {
		return fmt.Errorf("prime stage %s: %w", m.st.Key(), err)
	}
	if m.o.Warmup <= 0 {
		return nil
	}
	m.o.Progress.Phase(PhaseWarmUp)
	w, err := m.warmUp(ctx)
	if err != nil {
		return err
	}
	res.Warmups = append(res.Warmups, w)
	fmt.Fprintln(m.o.Stdout, warmupNote(m.st.Key(), w))
	return nil
}

// measure warms the stage up, then measures it o.Repeat times into one
// Result: the median req/s, the merged latencies, where the time went and,
// for the photo workload on the lab's database, the check of its writes.
func (m *measurer) measure(ctx context.Context) (Result, error) {
	o, st := m.o, m.st
	res := Result{Stage: st.ID, NoIndex: st.NoIndex, Name: st.Title(), Tool: "scalelab load", Connections: o.Connections, Rate: o.Rate,
		DurationS: o.Duration.Seconds(), TalkRPS: st.Talk()}
	if err := m.warm(ctx, &res); err != nil {
		return Result{}, err
	}
	where := &whereSum{}
	for k := 1; k <= o.Repeat; k++ {
		o.Progress.Measure(k)
		if err := m.once(ctx, &res, where); err != nil {
			return res, err
		}
	}
	where.finish()
	where.perRepeat(o.Repeat)
	res.Where = &where.Where
	return res, summarise(&res)
}

// once is one measurement: the load (with the fault, if any, injected
// during it), the check of its writes, and the counters read around it.
// A measurement during which outsiders took too much of the machine (see
// remeasure) is taken once more, and the second one is kept, flagged if it
// was noisy too; the first one's writes are checked all the same.
func (m *measurer) once(ctx context.Context, res *Result, where *whereSum) error {
	o := m.o
	for retaken := false; ; retaken = true {
		before, idle0 := readCounters(ctx, o.DatabaseURL, o.MemcachedServers), idleSeconds()
		spec := loadSpec{Duration: o.Duration, Connections: o.Connections, Rate: o.Rate, Watch: true}
		if m.workload == "photos" && o.DatabaseURL != "" {
			spec.Writes = &workload.WriteLog{}
		}
		rec, fault, err := m.loadWithFault(ctx, spec)
		if err != nil {
			return fmt.Errorf("load stage %s: %w", m.st.Key(), err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if spec.Writes != nil {
			if err := m.checkWrites(ctx, res, spec.Writes); err != nil {
				return err
			}
		}
		noisy, again := remeasure(rec.Results.CPU, retaken)
		if again {
			where.Remeasured++
			out, steal, total, _ := rec.Results.CPU.Noise()
			fmt.Fprintf(o.Stdout, "stage %s: other processes took %.0f%% of the machine during the measurement (outsiders %.1f CPU-s, steal %.1f s): measuring again\n",
				m.st.Key(), 100*(out+steal)/total, out, steal)
			continue
		}
		if noisy {
			where.Noisy++
		}
		res.Fault = fault
		where.add(o.Lab, m.run.pid, rec, idleSeconds()-idle0)
		views := rec.Results.PageViews
		if views == 0 {
			views = rec.Results.Requests // the baselines: a request is a view
		}
		where.addCounts(before, readCounters(ctx, o.DatabaseURL, o.MemcachedServers), views)
		addRecord(res, rec)
		return nil
	}
}

// loadWithFault runs the load while the options' fault, if any, is
// injected, and reports what the fault did (nil without one).
func (m *measurer) loadWithFault(ctx context.Context, spec loadSpec) (*record.Record, *FaultReport, error) {
	if m.o.Fault == nil {
		rec, err := m.load(ctx, spec)
		return rec, nil, err
	}
	inj := &injector{f: *m.o.Fault, lab: m.o.Lab, proxy: m.run.proxy, log: m.o.Stdout, start: time.Now(), servers: m.o.ServerCPUs}
	fctx, stopFault := context.WithCancel(ctx)
	injected := make(chan struct{})
	go func() { inj.run(fctx); close(injected) }()
	rec, err := m.load(ctx, spec)
	stopFault()
	<-injected
	if err != nil {
		return nil, nil, err
	}
	return rec, inj.analyse(rec), nil
}

// checkWrites checks the comments one measurement posted and adds the
// verdict to res.
func (m *measurer) checkWrites(ctx context.Context, res *Result, writes *workload.WriteLog) error {
	wc, err := checkWrites(ctx, m.o.DatabaseURL, m.targets[0], writes.Writes())
	if err != nil {
		return fmt.Errorf("stage %s: %w", m.st.Key(), err)
	}
	if res.Writes == nil {
		res.Writes = &WriteCheck{}
	}
	res.Writes.Add(wc)
	return nil
}

// addRecord adds one measurement's record (kept, with its histograms, in
// run.json) to the stage's totals.
func addRecord(res *Result, rec *record.Record) {
	res.Records = append(res.Records, rec)
	res.RPSRuns = append(res.RPSRuns, rec.Results.RequestsPerS)
	res.Requests += rec.Results.Requests
	res.Errors += rec.Results.ErrorsTotal
	res.ClientCPUS += rec.Results.CPU.ClientUserS + rec.Results.CPU.ClientSysS
	for _, w := range rec.Results.CPU.Watched {
		res.ServerCPUS += w.UserS + w.SysS
	}
}

// summarise fills the figures of every measurement together: the median
// req/s and page views/s, and the latencies of the merged histograms.
func summarise(res *Result) error {
	res.RPS = median(res.RPSRuns)
	merged, err := record.Merge(res.Records...)
	if err != nil {
		return err
	}
	l := merged.Results.Latency
	res.P50Ms, res.P90Ms, res.P99Ms, res.P999Ms, res.MaxMs = l.P50Ms, l.P90Ms, l.P99Ms, l.P999Ms, l.MaxMs
	var views []float64
	for _, r := range res.Records {
		views = append(views, r.Results.PageViewsPerS)
	}
	res.PageViews = median(views)
	res.Stalls = record.StallsOf(res.Records)
	if res.Where != nil {
		// Over every measurement's probes: those of all the rounds too.
		res.Where.SpeedProbeMs = record.SpeedProbeMs(res.Records)
	}
	return nil
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
