// Package driver is the one place that joins the stages and the
// instrument: for each stage it starts the stage's processes (as a child
// "scalelab serve"), verifies that the stage serves the right pages, loads
// it with the load generator, records what it saw, and stops everything.
// "scalelab bench" runs one stage; "scalelab lab" runs the whole talk.
package driver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/scalelab/scalelab/bench"
	"github.com/scalelab/scalelab/bench/record"
	"github.com/scalelab/scalelab/bench/workload"
	"github.com/scalelab/scalelab/infra"
	"github.com/scalelab/scalelab/stages"
)

// Stage is one thing the driver can measure: a stage of the table
// (stages.All), or its variant without the secondary indexes.
type Stage struct {
	stages.Stage
	// NoIndex runs the stage without its secondary indexes (serve
	// --no-index, restored afterwards): the talk's last lesson.
	NoIndex bool
}

// Key names the stage in records and tables ("4", "4-noindex").
func (st Stage) Key() string { return stages.Key(st.ID, st.NoIndex) }

// Title is the stage's name in records and tables ("cached, no index").
func (st Stage) Title() string {
	if st.NoIndex {
		return st.Name + ", no index"
	}
	return st.Name
}

// Talk is what the talk measured for it with its own tool (zero where the
// talk has no figure).
func (st Stage) Talk() float64 { return stages.TalkFor(st.Key(), "") }

// QueryTimeout is the stage's per-request database deadline (serve
// --query-timeout), zero for serve's default of 3 s. Without its index a
// user's page takes seconds even alone, and the talk's lesson is how slow
// the stage gets, which the default deadline would turn into 503s: the
// no-index variant gets NoIndexQueryTimeout, and the load waits that long
// for an answer.
func (st Stage) QueryTimeout() time.Duration {
	if st.NoIndex {
		return NoIndexQueryTimeout
	}
	return 0
}

// NoIndexQueryTimeout is the deadline of the stages run without their
// secondary indexes.
const NoIndexQueryTimeout = time.Minute

// LabStages are what "scalelab lab" measures, in order: every stage of
// the table, then the talk's stage without its index.
func LabStages() []Stage {
	var out []Stage
	for _, st := range stages.All {
		out = append(out, Stage{Stage: st})
	}
	noIndex, _ := stages.Find(stages.NoIndex.Stage)
	return append(out, Stage{Stage: noIndex, NoIndex: true})
}

// FindStage looks a stage up by ID or alias ("cgi", "cached", …).
func FindStage(s string) (Stage, bool) {
	st, ok := stages.Find(s)
	return Stage{Stage: st}, ok
}

// ErrVerification is returned when a stage serves wrong pages: it is not
// measured.
var ErrVerification = errors.New("verification failed")

// ErrLostWrites is returned when a stage acknowledged a comment it did not
// keep (or kept one it refused, or kept it twice, or did not show it).
var ErrLostWrites = errors.New("lost writes")

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

// serveArgs are the arguments of "scalelab serve" that run st: its id, its
// variant and its deadline.
func (st Stage) serveArgs() []string {
	args := []string{st.ID}
	if st.NoIndex {
		args = append(args, "--no-index")
	}
	return append(args, st.deadlineArgs()...)
}

// referenceArgs run the reference stage st is verified against, with st's
// deadline: without the indexes the reference's pages are as slow as the
// stage's. Not with --no-index: the stage has dropped the indexes, and a
// second serve would restore them when it ends, under the stage's feet.
func (st Stage) referenceArgs() []string {
	return append([]string{stages.Reference().ID}, st.deadlineArgs()...)
}

func (st Stage) deadlineArgs() []string {
	if d := st.QueryTimeout(); d > 0 {
		return []string{"--query-timeout", d.String()}
	}
	return nil
}

// Dataset is what the workload needs to know of the database.
type Dataset struct {
	Users  int
	Photos int64
	Seed   uint64
}

// photos is the visitor mix the driver loads every stage with: a tenth
// of the visitors logged in, most of them returning with a session from
// an earlier visit, and one in a hundred posting a comment.
func photos(ds Dataset) workload.Photos {
	return workload.Photos{Seed: ds.Seed, Users: ds.Users, Photos: int(ds.Photos), LoginShare: 0.1, CommentShare: 0.01, Returning: 0.9}
}

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

// served is a running "scalelab serve" child.
type served struct {
	cmd  *exec.Cmd
	pid  int
	urls []string
	log  string
	done chan struct{}
	// rec is the child's record in lab, removed when it stops.
	rec *infra.Process
	lab *infra.Lab
	// proxy stands between the stage and PostgreSQL for a slow-db fault.
	proxy *delayProxy
	// timeout is how long the load waits for one answer.
	timeout time.Duration
}

// startServe runs "scalelab serve ARGS" as a child with its output in
// logPath and waits until it has written its ready file.
func startServe(ctx context.Context, o Options, args []string, logPath string, env ...string) (*served, error) {
	port, err := infra.FreePort()
	if err != nil {
		return nil, err
	}
	ready := logPath + ".ready"
	os.Remove(ready)
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	full := append(append([]string{"serve"}, args...), "--addr", fmt.Sprintf("127.0.0.1:%d", port),
		"--state", o.State, "--ready-file", ready, "--seed-users", fmt.Sprint(o.Users))
	cmd := exec.Command(o.Exe, full...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group: a Ctrl-C at the terminal reaches the driver,
	// which stops the child itself, in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start scalelab serve: %w", err)
	}
	s := &served{cmd: cmd, pid: cmd.Process.Pid, log: logPath, done: make(chan struct{})}
	go func() { cmd.Wait(); close(s.done) }()
	// Recorded in the lab, so that "scalelab down" stops it (and it stops
	// what it started) even if the driver itself is killed.
	if o.Lab != nil {
		s.rec, s.lab = infra.Adopt("driver-serve-"+strings.Join(args, "-"), s.pid), o.Lab
		o.Lab.Record(s.rec)
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		if b, err := os.ReadFile(ready); err == nil {
			var r struct {
				URLs []string `json:"urls"`
			}
			if err := json.Unmarshal(b, &r); err == nil && len(r.URLs) > 0 {
				os.Remove(ready)
				s.urls = r.URLs
				return s, nil
			}
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("scalelab serve %s exited before serving (see %s): %s", strings.Join(args, " "), logPath, tail(logPath))
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("scalelab serve %s did not become ready (see %s)", strings.Join(args, " "), logPath)
		}
	}
}

// stop sends the child the Ctrl-C it expects and waits for it to stop
// everything it started (rebuilding dropped indexes can take a while).
func (s *served) stop() {
	syscall.Kill(s.pid, syscall.SIGINT)
	select {
	case <-s.done:
	case <-time.After(5 * time.Minute):
		syscall.Kill(-s.pid, syscall.SIGKILL)
		<-s.done
	}
	if s.lab != nil {
		s.lab.Forget(s.rec)
	}
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 3 {
		lines = lines[len(lines)-3:]
	}
	return strings.Join(lines, " | ")
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
