package loadgen_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scalelab/scalelab/bench/loadgen"
	"github.com/scalelab/scalelab/bench/record"
	"github.com/scalelab/scalelab/internal/wait"
)

// engines are the two clients; every behaviour test runs on both (on
// systems without epoll, "epoll" falls back to the portable engine).
var engines = []struct {
	name     string
	portable bool
}{
	{"epoll", false},
	{"portable", true},
}

func mustURL(tb testing.TB, s string) *url.URL {
	tb.Helper()
	u, err := loadgen.ParseTarget(s)
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

func mustRun(tb testing.TB, opts loadgen.Options) *record.Record {
	tb.Helper()
	rec, err := loadgen.Run(context.Background(), opts)
	if err != nil {
		tb.Fatalf("Run: %v", err)
	}
	return rec
}

// ends runs f and fails the test if it has not returned within wait.Hang:
// a guard against a run that never ends, many times longer than any run
// in these tests, not a speed the test expects.
func ends(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(wait.Hang):
		t.Fatalf("%s has not ended after %s (a hang)", what, wait.Hang)
	}
}

// runEnds is mustRun under the hang guard of ends.
func runEnds(t *testing.T, what string, opts loadgen.Options) *record.Record {
	t.Helper()
	var rec *record.Record
	var err error
	ends(t, what, func() { rec, err = loadgen.Run(context.Background(), opts) })
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return rec
}

// counting is a server that counts requests and connections.
type counting struct {
	requests, conns atomic.Int64
}

func (c *counting) start(tb testing.TB, h http.HandlerFunc) *httptest.Server {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.requests.Add(1)
		if h != nil {
			h(w, r)
			return
		}
		io.WriteString(w, "hello")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			c.conns.Add(1)
		}
	}
	srv.Start()
	tb.Cleanup(srv.Close)
	return srv
}

func TestRequestCount(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			var c counting
			srv := c.start(t, nil)
			rec := mustRun(t, loadgen.Options{
				Targets: []*url.URL{mustURL(t, srv.URL+"/")}, Connections: 4, Requests: 500, Portable: e.portable,
			})
			r := rec.Results
			if r.Requests != 500 || c.requests.Load() != 500 || r.Status["200"] != 500 {
				t.Errorf("requests %d, server saw %d, status %v; want 500 each", r.Requests, c.requests.Load(), r.Status)
			}
			if r.ErrorsTotal != 0 {
				t.Errorf("errors %v, want none", r.Errors)
			}
			if got := r.Latency.Hist.TotalCount(); got != 500 {
				t.Errorf("histogram holds %d values, want 500", got)
			}
			var inTimeline int64
			for _, s := range r.Timeline {
				inTimeline += s.Requests
			}
			if inTimeline != 500 {
				t.Errorf("timeline holds %d requests, want 500", inTimeline)
			}
			if r.BytesRead == 0 || r.BytesWritten == 0 {
				t.Errorf("bytes read %d, written %d; want both > 0", r.BytesRead, r.BytesWritten)
			}
		})
	}
}

// TestManyConnections runs the closed loop with enough connections that the
// epoll engine naps between polls (it does with 32 or more in flight), against
// a server that answers at once and one that takes a millisecond: every
// request is counted once, on its own connection's turn.
func TestManyConnections(t *testing.T) {
	for _, e := range engines {
		for _, delay := range []time.Duration{0, time.Millisecond} {
			t.Run(fmt.Sprintf("%s/%v", e.name, delay), func(t *testing.T) {
				var c counting
				srv := c.start(t, func(w http.ResponseWriter, r *http.Request) {
					time.Sleep(delay)
					io.WriteString(w, "hello")
				})
				rec := mustRun(t, loadgen.Options{
					Targets: []*url.URL{mustURL(t, srv.URL+"/")}, Connections: 64, Requests: 3000, Portable: e.portable,
				})
				r := rec.Results
				if r.Requests != 3000 || c.requests.Load() != 3000 || r.Status["200"] != 3000 || r.ErrorsTotal != 0 {
					t.Errorf("requests %d, server saw %d, status %v, errors %v; want 3000, no errors",
						r.Requests, c.requests.Load(), r.Status, r.Errors)
				}
				if got := c.conns.Load(); got != 64 {
					t.Errorf("%d connections, want 64", got)
				}
				if got := r.Latency.Hist.TotalCount(); got != 3000 {
					t.Errorf("histogram holds %d values, want 3000", got)
				}
			})
		}
	}
}

func TestIPv6(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback here:", err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })}
	go srv.Serve(ln)
	defer srv.Close()
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			rec := mustRun(t, loadgen.Options{
				Targets: []*url.URL{mustURL(t, "http://"+ln.Addr().String()+"/")}, Connections: 2, Requests: 20, Portable: e.portable,
			})
			if rec.Results.Status["200"] != 20 {
				t.Errorf("status %v errors %v, want 20 OK", rec.Results.Status, rec.Results.Errors)
			}
		})
	}
}

func TestStatusAndErrorAccounting(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			var c counting
			srv := c.start(t, func(w http.ResponseWriter, r *http.Request) {
				switch r.URL.Path {
				case "/fail":
					http.Error(w, "broken", http.StatusInternalServerError)
				case "/missing":
					http.NotFound(w, r)
				default:
					io.WriteString(w, "ok")
				}
			})
			rec := mustRun(t, loadgen.Options{
				Targets: []*url.URL{
					mustURL(t, srv.URL+"/ok"), mustURL(t, srv.URL+"/fail"), mustURL(t, srv.URL+"/missing"),
				},
				Connections: 1, Requests: 300, Portable: e.portable,
			})
			r := rec.Results
			// One connection requests the three targets in turn.
			for code, want := range map[string]int64{"200": 100, "500": 100, "404": 100} {
				if r.Status[code] != want {
					t.Errorf("status %s: got %d, want %d (all: %v)", code, r.Status[code], want, r.Status)
				}
			}
			if r.Errors["5xx"] != 100 || r.ErrorsTotal != 100 {
				t.Errorf("errors %v (total %d), want 5xx: 100 and nothing else", r.Errors, r.ErrorsTotal)
			}
		})
	}
}

func TestConnectErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			for _, rate := range []float64{0, 100} { // closed and open loop
				rec := runEnds(t, fmt.Sprintf("a 200 ms run at rate %g against a closed port", rate), loadgen.Options{
					Targets: []*url.URL{mustURL(t, "http://"+addr+"/")}, Connections: 2,
					Duration: 200 * time.Millisecond, Rate: rate, Portable: e.portable,
				})
				r := rec.Results
				if r.Requests != 0 || r.Errors["connect"] == 0 {
					t.Errorf("rate %g: requests %d, errors %v; want 0 requests and connect errors", rate, r.Requests, r.Errors)
				}
			}
		})
	}
}

func TestKeepAlive(t *testing.T) {
	for _, tc := range []struct {
		name      string
		portable  bool
		noKA      bool
		wantConns int64 // exactly; negative: at most its opposite
	}{
		{"epoll keep-alive", false, false, 4}, // one connection each, all opened at the start
		// A goroutine per connection: each opens its connection when it
		// first gets a request, and on a busy machine the others may have
		// taken all 200 before the last one runs; never more than 4.
		{"portable keep-alive", true, false, -4},
		{"no keep-alive", false, true, 200}, // one connection per request
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c counting
			srv := c.start(t, nil)
			rec := mustRun(t, loadgen.Options{
				Targets: []*url.URL{mustURL(t, srv.URL)}, Connections: 4, Requests: 200,
				NoKeepAlive: tc.noKA, Portable: tc.portable,
			})
			if rec.Results.Requests != 200 {
				t.Errorf("requests %d, want 200", rec.Results.Requests)
			}
			got := c.conns.Load()
			if tc.wantConns < 0 && (got < 1 || got > -tc.wantConns) {
				t.Errorf("server saw %d connections, want 1 to %d", got, -tc.wantConns)
			}
			if tc.wantConns > 0 && got != tc.wantConns {
				t.Errorf("server saw %d connections, want %d", got, tc.wantConns)
			}
			if rec.Settings.KeepAlive == tc.noKA {
				t.Errorf("record says keepalive=%v", rec.Settings.KeepAlive)
			}
		})
	}
}

// TestServerCloses: a server that closes the connection after each answer
// (Connection: close, as nginx does after keepalive_requests) is followed
// by a reconnect, not counted as an error.
func TestServerCloses(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			var c counting
			srv := c.start(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Connection", "close")
				io.WriteString(w, "bye")
			})
			rec := mustRun(t, loadgen.Options{
				Targets: []*url.URL{mustURL(t, srv.URL)}, Connections: 4, Requests: 100, Portable: e.portable,
			})
			if rec.Results.Requests != 100 || rec.Results.ErrorsTotal != 0 {
				t.Errorf("requests %d, errors %v; want 100 and none", rec.Results.Requests, rec.Results.Errors)
			}
			if got := c.conns.Load(); got < 100 {
				t.Errorf("server saw %d connections, want one per request", got)
			}
		})
	}
}

func TestMoreConnectionsThanRequests(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			var c counting
			srv := c.start(t, nil)
			rec := mustRun(t, loadgen.Options{
				Targets: []*url.URL{mustURL(t, srv.URL)}, Connections: 16, Requests: 5, Portable: e.portable,
			})
			if rec.Results.Requests != 5 || c.requests.Load() != 5 {
				t.Errorf("requests %d, server saw %d; want 5", rec.Results.Requests, c.requests.Load())
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			release := make(chan struct{})
			var c counting
			srv := c.start(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/slow" {
					select {
					case <-release:
					case <-r.Context().Done():
					}
				}
				io.WriteString(w, "ok")
			})
			defer close(release)
			// The server never answers: the run must still end, its
			// requests cut off by the timeout.
			rec := runEnds(t, "a 700 ms run against a server that never answers", loadgen.Options{
				Targets: []*url.URL{mustURL(t, srv.URL+"/slow")}, Connections: 2,
				Duration: 700 * time.Millisecond, Timeout: 150 * time.Millisecond, Portable: e.portable,
			})
			r := rec.Results
			if r.Errors["timeout"] < 2 || r.Requests != 0 {
				t.Errorf("errors %v, requests %d; want timeouts and no response", r.Errors, r.Requests)
			}
		})
	}
}

func TestResetErrors(t *testing.T) {
	// A server that reads a request and closes the connection unanswered.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				buf := make([]byte, 4096)
				nc.Read(buf)
				nc.Close()
			}()
		}
	}()
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			rec := mustRun(t, loadgen.Options{
				Targets: []*url.URL{mustURL(t, "http://"+ln.Addr().String()+"/")}, Connections: 2,
				Requests: 50, Portable: e.portable,
			})
			if got := rec.Results.Errors["reset"]; got != 50 {
				t.Errorf("reset errors %d (all %v), want 50", got, rec.Results.Errors)
			}
		})
	}
}

func TestChunkedAndLargeBodies(t *testing.T) {
	big := strings.Repeat("x", 300<<10) // larger than a connection's buffer
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			var c counting
			srv := c.start(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/chunked" {
					for i := 0; i < 10; i++ {
						io.WriteString(w, big[:10000])
						w.(http.Flusher).Flush()
					}
					return
				}
				io.WriteString(w, big)
			})
			rec := mustRun(t, loadgen.Options{
				Targets:     []*url.URL{mustURL(t, srv.URL+"/chunked"), mustURL(t, srv.URL+"/big")},
				Connections: 2, Requests: 40, Portable: e.portable,
			})
			r := rec.Results
			if r.Requests != 40 || r.ErrorsTotal != 0 {
				t.Fatalf("requests %d, errors %v; want 40 and none", r.Requests, r.Errors)
			}
			if min := int64(20*100000 + 20*len(big)); r.BytesRead < min {
				t.Errorf("read %d bytes, want at least %d", r.BytesRead, min)
			}
		})
	}
}

// stallServer answers at once, except that its stallAt-th request stalls
// every request for a second, like a server paused by a garbage collector
// or a lock. The stall is set off by a count of requests, not by a time,
// so that it falls inside the run however slow the machine; stalled says
// whether it happened.
func stallServer(t *testing.T, stallAt int64) (srv *httptest.Server, stalled func() bool) {
	var mu sync.Mutex // held by the stalled request: everything waits for it
	var n atomic.Int64
	var did atomic.Bool
	var c counting
	return c.start(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == stallAt {
			mu.Lock()
			did.Store(true)
			time.Sleep(time.Second)
			mu.Unlock()
		}
		mu.Lock()
		mu.Unlock()
		io.WriteString(w, "ok")
	}), did.Load
}

// atLeast counts the latencies in h of at least d.
func atLeast(h *record.Hist, d time.Duration) (n int64) {
	for _, b := range h.Distribution() {
		if b.From >= d.Microseconds() {
			n += b.Count
		}
	}
	return n
}

// TestOpenLoopShowsStall is the point of the open loop: a one-second stall
// at a fixed rate makes the requests due during it wait, so many show it.
// The closed loop sends nothing while it waits, so at most one request per
// connection shows the stall (its p99 hides it, only the max shows it).
// The checks are counts that follow from the stall, whatever the machine's
// speed: it lasts a second at least, and the open loop measures latency
// from each request's due time, so a busy machine only adds to it.
func TestOpenLoopShowsStall(t *testing.T) {
	for _, e := range engines {
		t.Run("open "+e.name, func(t *testing.T) {
			srv, stalled := stallServer(t, 100)
			rec := mustRun(t, loadgen.Options{
				Targets: []*url.URL{mustURL(t, srv.URL)}, Connections: 8, Rate: 200, Duration: 3 * time.Second,
				Portable: e.portable,
			})
			r := rec.Results
			if !stalled() {
				t.Fatalf("%d requests, the server never stalled", r.Requests)
			}
			// The 100 requests due in the stall's first half second (at
			// 200/s) are answered after its end: half a second late at least.
			if n := atLeast(r.Latency.Hist, 500*time.Millisecond); n < 50 {
				t.Errorf("open loop: %d requests of %d took half a second or more, want the 100 due in the stall's first half", n, r.Requests)
			}
			if r.Late == 0 {
				t.Errorf("no late requests counted, want those due while the stall held every connection")
			}
			if r.Requests > 601 {
				t.Errorf("%d requests, more than 200/s for 3 s", r.Requests)
			}
		})
	}
	t.Run("closed", func(t *testing.T) {
		srv, stalled := stallServer(t, 100)
		const conns = 8
		rec := mustRun(t, loadgen.Options{
			Targets: []*url.URL{mustURL(t, srv.URL)}, Connections: conns, Duration: 3 * time.Second,
		})
		r := rec.Results
		if !stalled() {
			t.Fatalf("%d requests, the server never stalled", r.Requests)
		}
		if n := atLeast(r.Latency.Hist, 900*time.Millisecond); n > conns {
			t.Errorf("closed loop: %d requests saw the stall, want at most one per connection (%d)", n, conns)
		}
		if r.Latency.MaxMs < 900 {
			t.Errorf("closed loop max %.1f ms, want the 1 s stall", r.Latency.MaxMs)
		}
	})
}

func TestCancel(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			var c counting
			srv := c.start(t, nil)
			// A run of an hour, cancelled once the server has answered 10
			// requests: it must end with what it measured, long before
			// its hour (the hang guard is minutes).
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() {
				wait.Until(func() bool { return c.requests.Load() >= 10 })
				cancel()
			}()
			var rec *record.Record
			var err error
			ends(t, "a cancelled run of an hour", func() {
				rec, err = loadgen.Run(ctx, loadgen.Options{
					Targets: []*url.URL{mustURL(t, srv.URL)}, Connections: 2, Duration: time.Hour, Portable: e.portable,
				})
			})
			if err != nil {
				t.Fatal(err)
			}
			if rec.Results.Requests == 0 || !rec.Results.Interrupted {
				t.Errorf("%d requests recorded, interrupted %v; want those before the cancel, and the run marked interrupted", rec.Results.Requests, rec.Results.Interrupted)
			}
		})
	}
}

func TestBadOptions(t *testing.T) {
	u := mustURL(t, "http://127.0.0.1:1/")
	for name, opts := range map[string]loadgen.Options{
		"no target":            {},
		"negative rate":        {Targets: []*url.URL{u}, Rate: -1},
		"negative connections": {Targets: []*url.URL{u}, Connections: -1},
	} {
		if _, err := loadgen.Run(context.Background(), opts); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	for _, s := range []string{"ftp://127.0.0.1/", "http://", "http://127.0.0.1:99999/", "http://[::1"} {
		if _, err := loadgen.ParseTarget(s); err == nil {
			t.Errorf("ParseTarget(%q): no error", s)
		}
	}
	for s, want := range map[string]bool{
		"http://127.0.0.1:8080/": true, "http://127.1.2.3/": true, "http://[::1]:80/": true,
		"http://localhost/": true, "http://example.com/": false, "http://10.0.0.1/": false,
	} {
		if got := loadgen.IsLoopback(mustURL(t, s)); got != want {
			t.Errorf("IsLoopback(%s) = %v, want %v", s, got, want)
		}
	}
}

func TestHeaders(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			var with atomic.Int64
			var c counting
			srv := c.start(t, func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("X-Lab") == "yes" && r.Host == "site.test" {
					with.Add(1)
				}
			})
			mustRun(t, loadgen.Options{
				Targets: []*url.URL{mustURL(t, srv.URL)}, Connections: 2, Requests: 10, Portable: e.portable,
				Headers: []string{"X-Lab: yes", "host: site.test"},
			})
			if with.Load() != 10 {
				t.Errorf("%d of 10 requests had the header", with.Load())
			}
		})
	}
	u := mustURL(t, "http://127.0.0.1:1/")
	for _, h := range []string{"no colon", ": empty name", "X: a\r\nInjected: b", "Bad Name: x"} {
		if _, err := loadgen.Run(context.Background(), loadgen.Options{Targets: []*url.URL{u}, Headers: []string{h}}); err == nil {
			t.Errorf("header %q: no error", h)
		}
	}
}

func TestOpenLoopRequestCount(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			var c counting
			srv := c.start(t, nil)
			start := time.Now()
			rec := runEnds(t, "200 requests at 1000/s", loadgen.Options{
				Targets: []*url.URL{mustURL(t, srv.URL)}, Connections: 4, Rate: 1000, Requests: 200, Portable: e.portable,
			})
			took := time.Since(start)
			if rec.Results.Requests != 200 || c.requests.Load() != 200 {
				t.Errorf("requests %d, server saw %d; want 200", rec.Results.Requests, c.requests.Load())
			}
			// The schedule is kept: the 200th request is due 199 ms after
			// the first, so the run cannot end sooner (less a margin for
			// the timers' granularity). A slow machine only makes it later.
			if took < 150*time.Millisecond {
				t.Errorf("200 requests at 1000/s took %v: sent faster than the rate", took)
			}
		})
	}
}

// TestTimelineKeepsStalledSeconds stops a server from answering after its
// first responses, until the run is over: the seconds without a response
// must be in the timeline as zeros, up to the run's end, and the longest
// gap must span the stall. One connection, so that the last response is
// read before the request that blocks arrives. The bounds follow from the
// order of events, not from the machine's speed.
func TestTimelineKeepsStalledSeconds(t *testing.T) {
	const answered = 20
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			release := make(chan struct{})
			var n atomic.Int64
			var blockedAt atomic.Pointer[time.Time]
			var c counting
			srv := c.start(t, func(w http.ResponseWriter, r *http.Request) {
				if n.Add(1) > answered {
					now := time.Now()
					blockedAt.CompareAndSwap(nil, &now)
					<-release
				}
				io.WriteString(w, "ok")
			})
			t.Cleanup(func() { close(release) }) // runs before srv.Close
			begin := time.Now()
			rec := runEnds(t, "a 3 s run against a server that stops answering", loadgen.Options{
				Targets: []*url.URL{mustURL(t, srv.URL)}, Connections: 1, Duration: 3 * time.Second,
				Timeout: time.Minute, Portable: e.portable,
			})
			r := rec.Results
			if r.Requests != answered {
				t.Fatalf("%d responses, want the %d before the server stopped", r.Requests, answered)
			}
			b := blockedAt.Load()
			if b == nil {
				t.Fatal("the server never stopped answering")
			}
			whole := int(r.Seconds)
			if len(r.Timeline) < whole {
				t.Fatalf("timeline of %d seconds for a run of %.3f s, want one entry per whole second", len(r.Timeline), r.Seconds)
			}
			// The run started after begin, so a second that starts this
			// long after begin starts after the server stopped.
			stoppedBy := b.Sub(begin)
			var sum int64
			for i, s := range r.Timeline {
				if s.T != i {
					t.Fatalf("timeline entry %d is second %d", i, s.T)
				}
				sum += s.Requests
				if time.Duration(i)*time.Second >= stoppedBy && s.Requests != 0 {
					t.Errorf("second %d has %d responses, after the server stopped (%v after the start at most)", i, s.Requests, stoppedBy)
				}
			}
			if sum != r.Requests {
				t.Errorf("timeline sums to %d responses, the run to %d", sum, r.Requests)
			}
			// The gap runs from the last response, before the block, to the
			// end of the run.
			if want := r.Seconds*1000 - float64(stoppedBy)/float64(time.Millisecond); r.LongestGapMs < want {
				t.Errorf("longest gap %.1f ms, want at least the %.1f ms from the stop to the end", r.LongestGapMs, want)
			}
			if r.LongestGapMs > r.Seconds*1000 {
				t.Errorf("longest gap %.1f ms, longer than the run (%.3f s)", r.LongestGapMs, r.Seconds)
			}
		})
	}
}
