package stages_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/scalelab/scalelab/bench/procstat"
	"github.com/scalelab/scalelab/internal/appcost"
	"github.com/scalelab/scalelab/internal/appserver"
	"github.com/scalelab/scalelab/stages/balanced"
	"github.com/scalelab/scalelab/stages/cached"
	"github.com/scalelab/scalelab/stages/cgi"
)

// The modelled app's costs (internal/appcost) reach every process of every
// stage, and are paid where the talk's Python paid them: these tests count
// CPU time (never wall time), so they hold on a busy machine.

// costs are large next to what a request costs Go (a tenth of a
// millisecond), so that "paid" and "not paid" are far apart.
var costs = appcost.Costs{PerRequest: 40 * time.Millisecond, Start: 150 * time.Millisecond}

// tick is what /proc and getrusage count a process's CPU in: the kernel
// charges it a clock tick at a time (USER_HZ, 100 a second), so a process
// that burned 150 ms may be charged 140. A "paid" check allows two ticks
// a process, one for each reading of a difference; the costs are four
// and fifteen ticks, so "paid" and "not paid" stay far apart.
const tick = 10 * time.Millisecond

// short says whether procs processes charged got of CPU fell short of
// want by more than the ticks' rounding.
func short(got, want time.Duration, procs int) bool {
	return got < want-time.Duration(2*procs)*tick
}

func childrenCPU(t *testing.T) time.Duration {
	t.Helper()
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_CHILDREN, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func cpuOf(t *testing.T, pids ...int) time.Duration {
	t.Helper()
	var sum time.Duration
	for _, pid := range pids {
		ti, err := procstat.Of(pid)
		if err != nil {
			t.Fatal(err)
		}
		sum += ti.Total()
	}
	return sum
}

// Stage 1: the CGI host passes both costs to every program it starts, and
// each program, started for one request, pays both.
func TestCGIProgramsPayBothCosts(t *testing.T) {
	prog, err := cgi.Build(context.Background(), filepath.Join(t.TempDir(), "bin"))
	if err != nil {
		t.Fatal(err)
	}
	h := &cgi.Host{Addr: "127.0.0.1:0", Program: prog, DatabaseURL: lab.Services.DatabaseURL, Images: lab.Images, Costs: costs}
	if err := h.Open(); err != nil {
		t.Fatal(err)
	}
	c := start(t, h)
	const n = 4
	before := childrenCPU(t) // the host waits for each program: their CPU is its children's
	for i := range n {
		if r := c.Get(t, fmt.Sprintf("/p/%d", i+1)); r.Status != 200 {
			t.Fatalf("GET /p/%d: %d", i+1, r.Status)
		}
	}
	if got, want := childrenCPU(t)-before, n*(costs.PerRequest+costs.Start); short(got, want, n) {
		t.Errorf("%d CGI requests used %s of their programs' CPU, less than the costs' %s", n, got, want)
	}
}

// Stages 3 and 4: each app server pays the start-up once, and every
// request it answers; stage 4's nginx answers images and cached anonymous
// pages itself, and those pay nothing.
func TestBalancedAppServersPay(t *testing.T) {
	args := appserver.Choices{Sessions: "memcached", QueryTimeout: 3 * time.Second, Costs: costs}.Args()

	t.Run("stage 3", func(t *testing.T) {
		st := newStage3(t, "memcached", lab.Services.MemcachedServers)
		st.Instances.Args = args
		c := startStage(t, st)
		pids := instancePIDs(st)
		if got := cpuOf(t, pids...); short(got, time.Duration(len(pids))*costs.Start, len(pids)) {
			t.Fatalf("%d app servers used %s of CPU by the time they served: not the start-up cost %s each", len(pids), got, costs.Start)
		}
		before := cpuOf(t, pids...)
		const n = 6
		for i := range n {
			if r := c.Get(t, fmt.Sprintf("/static/thumb/%04d.jpg", i)); r.Status != 200 {
				t.Fatalf("image %d: %d", i, r.Status)
			}
		}
		if got := cpuOf(t, pids...) - before; short(got, n*costs.PerRequest, len(pids)) {
			t.Errorf("%d images through stage 3's app servers used %s of their CPU, less than %d × %s", n, got, n, costs.PerRequest)
		}
		before = cpuOf(t, pids...)
		const health = 10
		for range health {
			c.Get(t, "/healthz")
		}
		if got := cpuOf(t, pids...) - before; got >= health*costs.PerRequest/2 {
			t.Errorf("%d health checks used %s of the app servers' CPU: they paid the app's cost", health, got)
		}
	})

	t.Run("stage 4", func(t *testing.T) {
		mc := lab.Services.MemcachedServers
		st3 := newStage3(t, "memcached", mc)
		st3.Instances.Args = args
		st, err := cached.New(*st3, mc)
		if err != nil {
			t.Fatal(err)
		}
		c := startStage(t, st)
		pids := instancePIDs(st)
		// The front page once through the app (which caches it), then
		// from nginx alone, as are the images.
		if r := c.Get(t, "/"); r.Status != 200 {
			t.Fatalf("front page: %d", r.Status)
		}
		before := cpuOf(t, pids...)
		const n = 10
		for i := range n {
			if r := c.Get(t, fmt.Sprintf("/static/thumb/%04d.jpg", i)); r.Status != 200 {
				t.Fatalf("image %d: %d", i, r.Status)
			}
			if r := c.Get(t, "/"); r.Header.Get("X-Served-By") != "nginx-memcached" {
				t.Fatalf("the front page came from %q, not nginx", r.Header.Get("X-Served-By"))
			}
		}
		if got := cpuOf(t, pids...) - before; got >= n*costs.PerRequest {
			t.Errorf("%d images and %d cached pages answered by nginx cost the app servers %s of CPU: they paid the app's cost", n, n, got)
		}
	})
}

// Stage 1f: the one FastCGI process pays both.
func TestFastCGIProcessPays(t *testing.T) {
	st, c := startFastCGIWith(t, appserver.Choices{Sessions: "db", QueryTimeout: 3 * time.Second, Costs: costs}.Args())
	pid := st.App().PID
	if got := cpuOf(t, pid); short(got, costs.Start, 1) {
		t.Fatalf("the FastCGI process used %s of CPU by the time it served: not the start-up cost %s", got, costs.Start)
	}
	before := cpuOf(t, pid)
	const n = 4
	for i := range n {
		if r := c.Get(t, fmt.Sprintf("/p/%d", i+1)); r.Status != 200 {
			t.Fatalf("GET /p/%d: %d", i+1, r.Status)
		}
	}
	if got := cpuOf(t, pid) - before; short(got, n*costs.PerRequest, 1) {
		t.Errorf("%d requests through FastCGI used %s of the process's CPU, less than %d × %s", n, got, n, costs.PerRequest)
	}
}

// Stage 2, in this process: the start-up is paid in Open.
func TestAppServerPaysItsStartOnce(t *testing.T) {
	before := selfThreadsCPU(t)
	s := &appserver.Server{Addr: "127.0.0.1:0", DatabaseURL: lab.Services.DatabaseURL, Images: lab.Images, Costs: appcost.Costs{Start: costs.Start}}
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	if got := selfThreadsCPU(t) - before; got < costs.Start {
		t.Errorf("Open used %s of CPU, less than the start-up cost %s", got, costs.Start)
	}
}

func selfThreadsCPU(t *testing.T) time.Duration {
	t.Helper()
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func instancePIDs(st *balanced.Stage) []int {
	var pids []int
	for i := range st.Instances.N {
		pids = append(pids, st.Instances.Proc(i).PID)
	}
	return pids
}
