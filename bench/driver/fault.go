package driver

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/scalelab/scalelab/bench"
	"github.com/scalelab/scalelab/bench/procstat"
	"github.com/scalelab/scalelab/bench/record"
	"github.com/scalelab/scalelab/infra"
	"github.com/scalelab/scalelab/internal/cpuset"
	"github.com/scalelab/scalelab/stages"
)

// Fault is a failure injected while a stage is under load (scalelab bench
// --fault): the lesson of what a stage does when one of its parts fails.
type Fault struct {
	// Kind is one of FaultKinds.
	Kind string
	// At is when, after the measurement's start, the fault happens.
	At time.Duration
	// For is how long the service stays away (memcached-down, db-restart)
	// or slow (slow-db); zero means the kind's default.
	For time.Duration
	// Delay is what slow-db adds to every round trip to the database.
	Delay time.Duration
}

// FaultKinds are the faults the driver can inject, each with the stages
// it applies to: a stage without app servers behind nginx has none to kill,
// one without memcached no memcached to lose, the baselines no site pages
// on the database.
var FaultKinds = map[string]func(stages.Stage) bool{
	// An app server is killed (SIGKILL); the stage restarts it.
	"kill-instance": func(st stages.Stage) bool { return st.Process == stages.FastCGI || st.Process == stages.Balanced },
	// memcached stops, then starts again, empty, on its address.
	"memcached-down": usesMemcached,
	// PostgreSQL stops ("fast" shutdown), then starts again.
	"db-restart": sitePagesOnDatabase,
	// Every round trip to PostgreSQL takes Delay longer (a proxy on the
	// loopback between the stage and the database).
	"slow-db": sitePagesOnDatabase,
}

func sitePagesOnDatabase(st stages.Stage) bool { return st.UsesDatabase && st.Sessions != "" }

// check validates f and fills in the defaults.
func (f *Fault) check() error {
	if _, ok := FaultKinds[f.Kind]; !ok {
		var kinds []string
		for k := range FaultKinds {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		return bench.Usagef("unknown fault %q (%s)", f.Kind, strings.Join(kinds, ", "))
	}
	if f.At <= 0 || f.For < 0 || f.Delay < 0 {
		return bench.Usagef("--at must be positive, --fault-for and --fault-delay not negative")
	}
	if f.For == 0 {
		f.For = map[string]time.Duration{"memcached-down": 5 * time.Second, "db-restart": time.Second, "slow-db": 5 * time.Second}[f.Kind]
	}
	switch {
	case f.Kind != "slow-db":
		f.Delay = 0
	case f.Delay == 0:
		f.Delay = 500 * time.Millisecond
	}
	return nil
}

// Check validates the fault for stage st, filling in the defaults:
// errors.Is(err, bench.ErrUsage) holds for what it refuses.
func (f *Fault) Check(st Stage) error {
	if err := f.check(); err != nil {
		return err
	}
	return f.appliesTo(st)
}

// appliesTo says whether the fault can happen to st.
func (f *Fault) appliesTo(st Stage) error {
	applies := FaultKinds[f.Kind]
	if applies(st.Stage) {
		return nil
	}
	var ids []string
	for _, s := range stages.All {
		if applies(s) {
			ids = append(ids, s.ID)
		}
	}
	return bench.Usagef("fault %s applies to stages %s, not %s", f.Kind, strings.Join(ids, ", "), st.Key())
}

// FaultReport is what a fault did to a stage, FaultEvent one thing that
// happened during it; both are part of the record.
type (
	FaultReport = record.FaultReport
	FaultEvent  = record.FaultEvent
)

// injector carries out a fault during one measurement.
type injector struct {
	f     Fault
	lab   *infra.Lab
	proxy *delayProxy // slow-db
	log   io.Writer
	// servers are the CPUs the stage's servers are pinned to (empty: not
	// pinned). A service started again is started by this process, the
	// load generator, and would otherwise run on the load generator's CPUs.
	servers cpuset.Set

	mu     sync.Mutex
	start  time.Time
	events []FaultEvent
}

func (in *injector) event(format string, args ...any) {
	in.mu.Lock()
	defer in.mu.Unlock()
	e := FaultEvent{T: time.Since(in.start).Seconds(), What: fmt.Sprintf(format, args...)}
	in.events = append(in.events, e)
	fmt.Fprintf(in.log, "  fault at %5.1fs: %s\n", e.T, e.What)
}

// run waits until the fault's time, injects it and undoes it. It returns
// when the fault is over, or early when ctx ends; what it took away is
// given back in any case.
func (in *injector) run(ctx context.Context) {
	select {
	case <-ctx.Done():
		return
	case <-time.After(time.Until(in.start.Add(in.f.At))):
	}
	sleep := func(d time.Duration) {
		select {
		case <-ctx.Done():
		case <-time.After(d):
		}
	}
	// The service comes back even when the run was interrupted.
	bg := context.WithoutCancel(ctx)
	switch in.f.Kind {
	case "kill-instance":
		in.killInstance(ctx)
	case "memcached-down", "db-restart":
		name := map[string]string{"memcached-down": "memcached", "db-restart": "postgres"}[in.f.Kind]
		addr, err := in.lab.StopService(bg, name)
		if err != nil {
			in.event("could not stop %s: %v", name, err)
			return
		}
		in.event("%s stopped", name)
		sleep(in.f.For)
		p, err := in.lab.StartService(bg, name, addr)
		if err != nil {
			in.event("could not start %s again: %v", name, err)
			return
		}
		if len(in.servers) == 0 {
			in.event("%s started again on %s", name, addr)
			return
		}
		if err := cpuset.PinTree(p.PID, in.servers); err != nil {
			in.event("%s started again on %s, but could not be pinned to CPU %s: %v", name, addr, in.servers, err)
			return
		}
		in.event("%s started again on %s, pinned to CPU %s with the other servers", name, addr, in.servers)
	case "slow-db":
		in.proxy.delay.Store(int64(in.f.Delay))
		in.event("every round trip to PostgreSQL now takes %s longer", in.f.Delay)
		sleep(in.f.For)
		in.proxy.delay.Store(0)
		in.event("PostgreSQL at full speed again")
	}
}

// killInstance kills the stage's first app server and watches for the
// stage to restart it and for the new process to serve again (its CPU
// time grows).
func (in *injector) killInstance(ctx context.Context) {
	var victim *infra.Process
	for _, p := range in.lab.Recorded() {
		if strings.HasSuffix(p.Name, "-app-1") && p.Alive() {
			victim = p
		}
	}
	if victim == nil {
		in.event("found no app server to kill")
		return
	}
	if err := syscall.Kill(victim.PID, syscall.SIGKILL); err != nil {
		in.event("could not kill %s (pid %d): %v", victim.Name, victim.PID, err)
		return
	}
	in.event("killed %s (pid %d)", victim.Name, victim.PID)
	var back *infra.Process
	for back == nil {
		select {
		case <-ctx.Done():
			return
		case <-time.After(20 * time.Millisecond):
		}
		for _, p := range in.lab.Recorded() {
			if p.Name == victim.Name && p.PID != victim.PID && p.Alive() {
				back = p
			}
		}
	}
	in.event("the stage restarted it (pid %d)", back.PID)
	t0, _ := procstat.Of(back.PID)
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
		t, err := procstat.Of(back.PID)
		if err != nil {
			return
		}
		// 100 ms of CPU beyond its start-up: it is serving requests.
		if t.Sub(t0).Total() >= 100*time.Millisecond {
			in.event("the new %s is serving requests again", back.Name)
			return
		}
	}
}

// analyse reads the fault's effect from the measurement's timeline.
func (in *injector) analyse(rec *record.Record) *FaultReport {
	in.mu.Lock()
	defer in.mu.Unlock()
	r := &FaultReport{Kind: in.f.Kind, AtS: in.f.At.Seconds(), ForS: in.f.For.Seconds(),
		DelayMs: float64(in.f.Delay) / float64(time.Millisecond), Events: in.events, RecoveredS: -1}
	tl := rec.Results.Timeline
	at := int(in.f.At / time.Second)
	end := int((in.f.At + in.f.For) / time.Second)
	// Throughput here is of requests answered without error: during a
	// database outage failures come fast, and counting them would hide
	// the dip.
	good := func(s record.Second) float64 { return float64(s.Requests - s.Errors) }
	var before []float64
	for _, s := range tl {
		if s.T >= 1 && s.T < at {
			before = append(before, good(s))
		}
	}
	r.BeforeRPS = median(before)
	r.DipRPS = -1
	// The last second of the timeline may be partial: it is left out.
	for i, s := range tl {
		if s.T < at {
			continue
		}
		r.Errors += s.Errors
		r.WorstP99Ms = max(r.WorstP99Ms, s.P99Ms)
		if i < len(tl)-1 && (r.DipRPS < 0 || good(s) < r.DipRPS) {
			r.DipRPS = good(s)
		}
	}
	r.DipRPS = max(r.DipRPS, 0)
	// Recovered: three whole seconds in a row without errors whose mean
	// is at least 80% of before (one second alone is too noisy a sign on a
	// shared machine).
	for i := range tl {
		if tl[i].T < end || i+3 > len(tl)-1 {
			continue
		}
		w := tl[i : i+3]
		if w[0].Errors+w[1].Errors+w[2].Errors == 0 && (good(w[0])+good(w[1])+good(w[2]))/3 >= 0.8*r.BeforeRPS {
			r.RecoveredS = float64(tl[i].T - end)
			break
		}
	}
	return r
}
