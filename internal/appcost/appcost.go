// Package appcost models what the talk's Python app spent on the CPU, as
// GOMAXPROCS=1 models its GIL. Go renders a page in about a tenth of a
// millisecond; CPython in 2007 spent milliseconds, and started its
// interpreter and set up its resources (a database connection, the
// templates) in tens of milliseconds. On a Go app the load balancer, the
// database and the load generator cost as much as the app, so adding app
// servers (the talk's stage 3) buys little on a small machine; with the
// app's own cost restored, the talk's lesson shows again.
//
// The cost is CPU time of the thread that serves the request, measured
// with CLOCK_THREAD_CPUTIME_ID while the goroutine is locked to its
// thread: never wall time and never a sleep. A process that is descheduled
// while it burns still pays the whole cost when it runs again, and with
// GOMAXPROCS=1 two requests cannot burn at once — exactly as a
// GIL-bound interpreter could not.
//
// Costs travel as flags to the app-server processes ("--app-cpu",
// "--app-start-cpu", see Args) and through the environment to stage 1's CGI
// program (Env, FromEnv), so every process of every stage pays them.
package appcost

import (
	"fmt"
	"net/http"
	"os"
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Costs are the modelled app's CPU costs.
type Costs struct {
	// PerRequest is burnt by every request that reaches an app process —
	// pages, posts, the static files it serves, the pages it answers from
	// its cache — but the health check (--app-cpu).
	PerRequest time.Duration
	// Start is burnt once by each app process when it starts: the
	// interpreter loading and setting up; a CGI process pays it on every
	// request (--app-start-cpu).
	Start time.Duration
}

// Max is the largest cost either flag takes: beyond it a request would
// outlast the load generator's deadlines, and the number is a typo.
const Max = 10 * time.Second

// Flag names, shared by every command that takes them.
const (
	FlagPerRequest = "app-cpu"
	FlagStart      = "app-start-cpu"
)

// Environment variables through which the CGI host passes the costs to
// the program it starts for every request.
const (
	EnvPerRequest = "SCALELAB_APP_CPU"
	EnvStart      = "SCALELAB_APP_START_CPU"
)

// Zero says the app costs what Go costs: nothing is added.
func (c Costs) Zero() bool { return c.PerRequest == 0 && c.Start == 0 }

// Check says what is wrong with the costs, naming the flag, and that
// this system has the thread CPU clock they are measured with.
func (c Costs) Check() error {
	if !c.Zero() {
		if _, err := ThreadCPU(); err != nil {
			return fmt.Errorf("--%s needs the thread CPU clock: %w", FlagPerRequest, err)
		}
	}
	for _, f := range []struct {
		name string
		d    time.Duration
	}{{FlagPerRequest, c.PerRequest}, {FlagStart, c.Start}} {
		if f.d < 0 || f.d > Max {
			return fmt.Errorf("--%s must be between 0 and %s of CPU time, got %s", f.name, Max, f.d)
		}
	}
	return nil
}

// Args are the flags that pass the costs on to an app-server process;
// none when the costs are zero, so a default stage's command line is
// unchanged.
func (c Costs) Args() []string {
	var args []string
	if c.PerRequest > 0 {
		args = append(args, "--"+FlagPerRequest, c.PerRequest.String())
	}
	if c.Start > 0 {
		args = append(args, "--"+FlagStart, c.Start.String())
	}
	return args
}

// Env is the environment that passes the costs on to a CGI program.
func (c Costs) Env() []string {
	return []string{EnvPerRequest + "=" + c.PerRequest.String(), EnvStart + "=" + c.Start.String()}
}

// FromEnv reads the costs a CGI host passed (Env); unset means zero.
func FromEnv() (Costs, error) {
	var c Costs
	for _, v := range []struct {
		name string
		d    *time.Duration
	}{{EnvPerRequest, &c.PerRequest}, {EnvStart, &c.Start}} {
		s := os.Getenv(v.name)
		if s == "" {
			continue
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return c, fmt.Errorf("%s: %w", v.name, err)
		}
		*v.d = d
	}
	return c, c.Check()
}

// String is the costs as the table header and the charts' captions print
// them: "app 7ms + 36ms at start".
func (c Costs) String() string {
	return fmt.Sprintf("app CPU %s a request + %s at start", c.PerRequest, c.Start)
}

// ThreadCPU is the CPU time the calling thread has used. The caller must
// hold its thread (runtime.LockOSThread) for two readings to be of the
// same thread. Linux has had the clock since 2.6.12; Check finds a system
// without it before any cost is burnt.
func ThreadCPU() (time.Duration, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0, fmt.Errorf("appcost: CLOCK_THREAD_CPUTIME_ID: %w", err)
	}
	return time.Duration(ts.Nano()), nil
}

// sink keeps the spin loop's work from being optimised away; atomic, as
// requests burn on several goroutines at once.
var sink atomic.Uint64

// Burn spends d of the calling thread's own CPU time. The goroutine is
// locked to its thread meanwhile, so the clock read is the thread that
// burns; time the thread spends descheduled (another process, or another
// goroutine preempting it under GOMAXPROCS=1) is not counted, and is made
// up when it runs again.
func Burn(d time.Duration) {
	if d <= 0 {
		return
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start, err := ThreadCPU()
	if err != nil {
		return // refused by Check before anything burns
	}
	x := sink.Load()
	for now := start; now-start < d; now, _ = ThreadCPU() {
		// A few microseconds of arithmetic between two readings of the
		// clock (a system call): most of the time burnt is the app's
		// "work", not the clock's.
		for i := range 2000 {
			x = x*6364136223846793005 + uint64(i)
		}
	}
	sink.Store(x)
}

// StartUp burns the start-up cost: call it once as the process starts.
func (c Costs) StartUp() { Burn(c.Start) }

// Handler burns the per-request cost before next serves each request but
// those for exempt (the health check's path: a supervisor's probe is not
// a visitor, and must not slow a stage that is starting).
func (c Costs) Handler(next http.Handler, exempt string) http.Handler {
	if c.PerRequest <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != exempt {
			Burn(c.PerRequest)
		}
		next.ServeHTTP(w, r)
	})
}
