package appcost

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func rusage(t *testing.T, who int) time.Duration {
	t.Helper()
	var ru unix.Rusage
	if err := unix.Getrusage(who, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// The cost is the thread's own CPU time: with GOMAXPROCS=1 and a busy
// goroutine competing for the one P (as another request would under the
// GIL), getrusage of the burning thread still shows at least the cost on
// every call, however often the scheduler took the P away.
func TestBurnIsThreadCPUTime(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var spins atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
				spins.Add(1)
			}
		}
	}()
	const cost = 30 * time.Millisecond
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for i := range 5 {
		before := rusage(t, unix.RUSAGE_THREAD)
		Burn(cost)
		if got := rusage(t, unix.RUSAGE_THREAD) - before; got < cost {
			t.Fatalf("burn %d: the thread used %s of CPU, less than the cost %s", i, got, cost)
		}
	}
	close(stop)
	<-done
	if spins.Load() == 0 {
		t.Fatal("the competing goroutine never ran: the test did not compete")
	}
}

// Every request that reaches the handler pays, but the health check.
func TestHandlerPaysButHealth(t *testing.T) {
	const cost = 100 * time.Millisecond
	var served atomic.Int64
	h := Costs{PerRequest: cost}.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		io.WriteString(w, "ok")
	}), "/healthz")
	srv := httptest.NewServer(h)
	defer srv.Close()
	get := func(path string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	const n = 5
	before := rusage(t, unix.RUSAGE_SELF)
	for i := range n {
		get(fmt.Sprintf("/static/thumb/%04d.jpg", i))
	}
	if got := rusage(t, unix.RUSAGE_SELF) - before; got < n*cost {
		t.Fatalf("%d requests used %s of CPU, less than %d × %s", n, got, n, cost)
	}
	const health = 20
	before = rusage(t, unix.RUSAGE_SELF)
	for range health {
		get("/healthz")
	}
	// Had the health checks paid, they would have used health × cost; a
	// health check costs microseconds.
	if got := rusage(t, unix.RUSAGE_SELF) - before; got >= health*cost/2 {
		t.Fatalf("%d health checks used %s of CPU: they paid the app's cost", health, got)
	}
	if served.Load() != n+health {
		t.Fatalf("the handler served %d requests, want %d", served.Load(), n+health)
	}
}

func TestZeroCostsChangeNothing(t *testing.T) {
	var c Costs
	next := http.NotFoundHandler()
	if got := c.Handler(next, "/healthz"); fmt.Sprintf("%p", got) != fmt.Sprintf("%p", next) {
		t.Error("zero costs wrap the handler")
	}
	if len(c.Args()) != 0 {
		t.Errorf("zero costs give flags %v", c.Args())
	}
}

func TestCheckAndEnv(t *testing.T) {
	for _, bad := range []Costs{{PerRequest: -time.Millisecond}, {Start: Max + 1}} {
		if bad.Check() == nil {
			t.Errorf("%+v passed the check", bad)
		}
	}
	c := Costs{PerRequest: 7 * time.Millisecond, Start: 36 * time.Millisecond}
	for _, kv := range c.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	got, err := FromEnv()
	if err != nil || got != c {
		t.Fatalf("FromEnv after Env = %+v, %v; want %+v", got, err, c)
	}
	t.Setenv(EnvPerRequest, "seven")
	if _, err := FromEnv(); err == nil {
		t.Fatal("a bad duration in the environment passed")
	}
	os.Unsetenv(EnvPerRequest)
}
