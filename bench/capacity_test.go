package bench_test

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/scalelab/scalelab/bench"
	"github.com/scalelab/scalelab/bench/record"
)

// simServer is a simulated server, made to test the capacity search, not
// any server: its latency is a function of the offered rate, so its
// capacity at a latency goal is known exactly, and its clock is fake (a
// trial moves it on by the trial's length without sleeping), so what the
// search finds does not depend on how fast or how busy the machine is.
//
// Requests arrive every 1/rate and leave at most capacity per second, each
// after the service time. Below the capacity none waits; above it the
// queue grows, and request i waits i × (1/capacity − 1/rate): the longer
// the trial, the worse its latency, as with a real overloaded server. Past
// shed × capacity it refuses the excess (503s), and a request that would
// take longer than timeout fails as a timeout.
type simServer struct {
	capacity float64 // requests per second; +Inf for no limit
	service  time.Duration
	shed     float64 // 0: never refuses
	timeout  time.Duration
	failAt   int // the failAt-th trial (from 1) fails with errServerGone

	clock  time.Duration // the fake clock: the sum of the trials' lengths
	trials []simTrial
}

type simTrial struct {
	rate float64
	d    time.Duration
}

var errServerGone = errors.New("the simulated server is gone")

// latency is the latency of request i (from 0) when requests arrive at rate.
func (s *simServer) latency(i int64, rate float64) time.Duration {
	wait := 0.0
	if rate > s.capacity {
		wait = float64(i) * (1/s.capacity - 1/rate)
	}
	return s.service + time.Duration(wait*float64(time.Second))
}

// counts says how many requests a trial at rate for d offers and how many
// the server takes (the rest it refuses), and the rate of those it takes.
func (s *simServer) counts(rate float64, d time.Duration) (offered, taken int64, takenRate float64) {
	offered = int64(math.Round(rate * d.Seconds()))
	taken, takenRate = offered, rate
	if s.shed > 0 && rate > s.shed*s.capacity {
		takenRate = s.shed * s.capacity
		taken = int64(math.Round(takenRate * d.Seconds()))
	}
	return offered, taken, takenRate
}

// run is the search's trial: the record a load generator would have made.
func (s *simServer) run(ctx context.Context, rate float64, d time.Duration) (*record.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.clock += d
	s.trials = append(s.trials, simTrial{rate, d})
	if len(s.trials) == s.failAt {
		return nil, errServerGone
	}
	offered, taken, takenRate := s.counts(rate, d)
	hist := record.NewHist()
	var ok, timeouts int64
	// One histogram entry per block of requests, each at the latency of the
	// block's last: exact up to 10,000 requests, which the tests' finite
	// capacities never pass.
	blocks := min(taken, 10000)
	for j := int64(0); j < blocks; j++ {
		from, to := j*taken/blocks, (j+1)*taken/blocks
		lat := s.latency(to-1, takenRate)
		if lat > s.timeout {
			timeouts += to - from
			continue
		}
		if err := hist.RecordValues(max(1, lat.Microseconds()), to-from); err != nil {
			return nil, err
		}
		ok += to - from
	}
	refused := offered - taken
	rec := &record.Record{Tool: "simulated server", Results: record.Results{
		Seconds:  d.Seconds(),
		Requests: ok + refused,
		Errors:   map[string]int64{"5xx": refused, "timeout": timeouts},
		Status:   map[string]int64{"200": ok, "503": refused},
		Latency:  record.Latency{Hist: hist},
	}}
	rec.Results.Summarize()
	return rec, nil
}

// passes is the model's own verdict on a trial, without the record: no
// request refused or timed out, and the latency of the request at the
// goal's percentile within the goal.
func (s *simServer) passes(rate float64, d time.Duration, slo bench.SLO) bool {
	offered, taken, takenRate := s.counts(rate, d)
	if offered == 0 || taken < offered || s.latency(taken-1, takenRate) > s.timeout {
		return false
	}
	at := int64(math.Ceil(slo.Percentile/100*float64(taken))) - 1
	return s.latency(at, takenRate) <= slo.Max
}

// known is the model's capacity for trials of length d: the highest rate
// that passes, bisected far below any rate the search tries (+Inf if every
// rate passes, 0 if none does).
func (s *simServer) known(d time.Duration, slo bench.SLO) float64 {
	lo, hi := 0.0, 1e9
	if s.passes(hi, d, slo) {
		return math.Inf(1)
	}
	for range 100 {
		if mid := (lo + hi) / 2; s.passes(mid, d, slo) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

// slack allows for the latency histogram's resolution (three significant
// digits) when the search's verdicts, read from a histogram, are compared
// with the model's exact ones.
const slack = 0.01

// The search must find a known capacity to its own tolerance: the
// bisection narrows the bracket to Precision, then the confirmation (three
// steps long, which an overloaded queue may fail where a step passed)
// steps down 10% at a time, so the rate found is in (0.9 × known, known]
// for the confirmation's length. The cases take the search's every path:
// up by doubling, down by halving, and down from a failed confirmation.
func TestFindCapacityOfAKnownServer(t *testing.T) {
	slo := bench.SLO{Percentile: 99, Max: 100 * time.Millisecond}
	const step = 1500 * time.Millisecond
	for _, tc := range []struct {
		name  string
		srv   simServer
		start float64
		// stepsDown says the confirmation must fail first: the case is
		// built to take that path.
		stepsDown bool
	}{
		{"a queue that grows past the capacity", simServer{capacity: 400, service: 10 * time.Millisecond, shed: 1.2, timeout: 5 * time.Second}, 50, true},
		{"refusals past the capacity", simServer{capacity: 400, service: 10 * time.Millisecond, shed: 1, timeout: 5 * time.Second}, 50, false},
		{"a start above the capacity", simServer{capacity: 400, service: 10 * time.Millisecond, shed: 1.2, timeout: 5 * time.Second}, 5000, true},
		{"slow requests", simServer{capacity: 25, service: 60 * time.Millisecond, shed: 1.2, timeout: time.Second}, 10, false},
		{"timeouts past the capacity", simServer{capacity: 1000, service: time.Millisecond, timeout: 50 * time.Millisecond}, 10, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := tc.srv
			c, err := bench.FindCapacity(context.Background(), bench.CapacityOptions{
				SLO: slo, Start: tc.start, Step: step, Run: srv.run,
			})
			if err != nil {
				t.Fatal(err)
			}
			confirm := 3 * step // the default
			known := srv.known(confirm, slo)
			t.Logf("capacity %.1f/s (known: %.1f/s for %s) after %d trials: %+v", c.Rate, known, confirm, len(c.Trials), c.Trials)
			if c.Rate <= 0.9*known*(1-slack) || c.Rate > known*(1+slack) {
				t.Errorf("capacity %.1f/s, want in (%.1f, %.1f], 10%% under the known %.1f/s at most",
					c.Rate, 0.9*known, known, known)
			}
			if c.AtLeast {
				t.Error("the search says it never found a rate that fails")
			}
			checkSearch(t, c, &srv, slo, tc.start, step, confirm, 0.05)
			if n := confirmations(c); tc.stepsDown && n < 2 {
				t.Errorf("%d confirmations: the case was built for the first to fail", n)
			}
		})
	}
}

// checkSearch checks the shape of a finished search against the trials the
// simulated server saw.
func checkSearch(t *testing.T, c *bench.Capacity, srv *simServer, slo bench.SLO, start float64, step, confirm time.Duration, precision float64) {
	t.Helper()
	if c.SLO != slo.String() || c.PagesPerDay != c.Rate*86400 {
		t.Errorf("capacity record: SLO %q, %.0f pages a day for %.1f/s", c.SLO, c.PagesPerDay, c.Rate)
	}
	if len(c.Trials) != len(srv.trials) || len(c.Trials) == 0 {
		t.Fatalf("%d trials recorded, the server saw %d", len(c.Trials), len(srv.trials))
	}
	if c.Trials[0].Rate != start {
		t.Errorf("first trial at %.1f/s, want the start, %.1f/s", c.Trials[0].Rate, start)
	}
	var clock time.Duration
	for i, tr := range c.Trials {
		want := step
		if tr.Confirm {
			want = confirm
		}
		if got := srv.trials[i]; got.rate != tr.Rate || got.d != want {
			t.Errorf("trial %d: %.1f/s for %s; the server saw %.1f/s for %s", i, tr.Rate, want, got.rate, got.d)
		}
		clock += want
		// Where the model's verdict is clear, the search's must be the same.
		known := srv.known(want, slo)
		if tr.Rate < known*(1-slack) && !tr.Pass || tr.Rate > known*(1+slack) && tr.Pass {
			t.Errorf("trial %d at %.1f/s for %s: pass %v, but the model's capacity is %.1f/s", i, tr.Rate, want, tr.Pass, known)
		}
	}
	if srv.clock != clock {
		t.Errorf("the simulated clock ran %s, the trials %s", srv.clock, clock)
	}
	steps := len(c.Trials) - confirmations(c)
	for _, tr := range c.Trials[steps:] {
		if !tr.Confirm {
			t.Fatalf("a search step after a confirmation: %+v", c.Trials)
		}
	}
	// The steps bracket the capacity: lo is the highest that passed, hi the
	// lowest above it that failed, within precision of each other.
	lo, hi := 0.0, math.Inf(1)
	for _, tr := range c.Trials[:steps] {
		if tr.Pass {
			lo = max(lo, tr.Rate)
		}
	}
	for _, tr := range c.Trials[:steps] {
		if !tr.Pass && tr.Rate > lo {
			hi = min(hi, tr.Rate)
		}
	}
	if c.AtLeast {
		if steps != len(c.Trials) || c.Rate != lo || !math.IsInf(hi, 1) {
			t.Errorf("at least %.1f/s, but trials %+v", c.Rate, c.Trials)
		}
		return
	}
	if lo == 0 {
		if c.Rate != 0 || steps != len(c.Trials) || c.Trials[steps-1].Rate != 1 {
			t.Errorf("nothing passed, so no rate should be found and the last tried be 1/s: %+v", c)
		}
		return
	}
	if (hi-lo)/hi > precision {
		t.Errorf("bracket [%.1f, %.1f] wider than %g", lo, hi, precision)
	}
	// The confirmations start at lo and step down 10% until one passes.
	conf := c.Trials[steps:]
	if len(conf) == 0 || conf[0].Rate != lo {
		t.Fatalf("the confirmation must start at %.1f/s: %+v", lo, conf)
	}
	for i, tr := range conf {
		if i > 0 && math.Abs(tr.Rate-0.9*conf[i-1].Rate) > 1e-9*tr.Rate {
			t.Errorf("confirmation %d at %.2f/s, want 90%% of %.2f/s", i, tr.Rate, conf[i-1].Rate)
		}
		if last := i == len(conf)-1; tr.Pass != last {
			t.Errorf("confirmation %d of %d: pass %v", i+1, len(conf), tr.Pass)
		}
	}
	if last := conf[len(conf)-1]; c.Rate != last.Rate || c.AchievedRPS != last.Achieved {
		t.Errorf("capacity %.1f/s (achieved %.1f), but the last confirmation %+v", c.Rate, c.AchievedRPS, last)
	}
}

func confirmations(c *bench.Capacity) int {
	n := 0
	for _, tr := range c.Trials {
		if tr.Confirm {
			n++
		}
	}
	return n
}

// The search's two ends: a server that meets the goal at any rate (the
// search stops doubling and says "at least"), and one that meets it at no
// rate (the search halves down to 1/s and finds nothing).
func TestFindCapacityAtItsLimits(t *testing.T) {
	slo := bench.SLO{Percentile: 99, Max: 100 * time.Millisecond}
	const step, confirm = time.Second, 2 * time.Second
	unlimited := simServer{capacity: math.Inf(1), service: time.Millisecond, timeout: time.Second}
	c, err := bench.FindCapacity(context.Background(), bench.CapacityOptions{SLO: slo, Step: step, Confirm: confirm, Run: unlimited.run})
	if err != nil {
		t.Fatal(err)
	}
	if !c.AtLeast || c.Rate != 10*(1<<20) || len(c.Trials) != 21 {
		t.Errorf("no limit: at least %v, %.0f/s after %d trials; want at least 10 × 2^20/s (the default start, doubled 20 times)", c.AtLeast, c.Rate, len(c.Trials))
	}
	checkSearch(t, c, &unlimited, slo, 10, step, confirm, 0.05)

	hopeless := simServer{capacity: 100, service: 150 * time.Millisecond, timeout: time.Second}
	c, err = bench.FindCapacity(context.Background(), bench.CapacityOptions{SLO: slo, Start: 40, Step: step, Confirm: confirm, Run: hopeless.run})
	if err != nil {
		t.Fatal(err)
	}
	if c.Rate != 0 || c.AtLeast || len(c.Trials) != 7 {
		t.Errorf("slower than the goal: %.1f/s (at least %v) after %d trials; want none after 40, 20, 10, 5, 2.5, 1.25, 1", c.Rate, c.AtLeast, len(c.Trials))
	}
	checkSearch(t, c, &hopeless, slo, 40, step, confirm, 0.05)
}

// A failed trial or a cancelled context ends the search with the error and
// the trials done before it.
func TestFindCapacityStopsAtAnError(t *testing.T) {
	slo := bench.SLO{Percentile: 99, Max: 100 * time.Millisecond}
	srv := simServer{capacity: 400, service: 10 * time.Millisecond, timeout: time.Second, failAt: 3}
	c, err := bench.FindCapacity(context.Background(), bench.CapacityOptions{SLO: slo, Run: srv.run})
	if !errors.Is(err, errServerGone) || c == nil || len(c.Trials) != 2 {
		t.Errorf("the third trial failed: error %v, capacity %+v; want the error and two trials", err, c)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv = simServer{capacity: 400, service: 10 * time.Millisecond, timeout: time.Second}
	c, err = bench.FindCapacity(ctx, bench.CapacityOptions{SLO: slo, Run: srv.run, Progress: func(tr bench.Trial) {
		if tr.Rate >= 40 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) || c == nil || len(c.Trials) != 3 || len(srv.trials) != 3 {
		t.Errorf("cancelled after the trial at 40/s: error %v, capacity %+v; want context.Canceled after three trials", err, c)
	}
}

// A real search, with bench's open-loop load against a real HTTP server,
// checks that the search drives the load generator and judges its records.
// What capacity it finds depends on the machine and on what else runs on
// it, so the test asserts only what holds on any machine: the record's
// shape, and an upper bound the server imposes by construction (one
// request at a time, each at least 5 ms, so never more than 200/s).
func TestFindCapacityAgainstARealServer(t *testing.T) {
	if testing.Short() {
		t.Skip("a real capacity search takes a few seconds")
	}
	var one sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		one.Lock()
		time.Sleep(5 * time.Millisecond)
		one.Unlock()
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	slo := bench.SLO{Percentile: 99, Max: 100 * time.Millisecond}
	const step, confirm = 300 * time.Millisecond, 600 * time.Millisecond
	var told []bench.Trial
	c, err := bench.FindCapacity(context.Background(), bench.CapacityOptions{
		Load:     bench.LoadOptions{Targets: []string{srv.URL}, Connections: 64, Timeout: 5 * time.Second},
		SLO:      slo,
		Start:    50,
		Step:     step,
		Confirm:  confirm,
		Progress: func(tr bench.Trial) { told = append(told, tr) },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("capacity %.1f/s after %d trials: %+v", c.Rate, len(c.Trials), c.Trials)
	if len(told) != len(c.Trials) || len(c.Trials) < 2 || c.Trials[0].Rate != 50 {
		t.Errorf("%d trials told, %d recorded; want the same, at least two, the first at 50/s: %+v", len(told), len(c.Trials), c.Trials)
	}
	// At 400/s the requests queue behind the 5 ms ones: the hundred-and-
	// nineteenth of a 300 ms step is due at 295 ms and answered at 595 ms
	// at the earliest, so the step misses the goal and the search stops
	// there, whatever the machine.
	if c.AtLeast || c.Rate >= 400 {
		t.Errorf("capacity %.1f/s (at least: %v) of a server that answers 200/s at most", c.Rate, c.AtLeast)
	}
	if c.PagesPerDay != c.Rate*86400 || c.SLO != "p99=100ms" {
		t.Errorf("capacity record: %+v", c)
	}
	for _, tr := range c.Trials {
		if tr.Rate <= 0 || tr.Achieved < 0 || tr.Errors < 0 || tr.Pass && (tr.LatencyMs > 100 || tr.Errors > 0) {
			t.Errorf("trial %+v", tr)
		}
	}
	if c.Rate > 0 {
		last := c.Trials[len(c.Trials)-1]
		if !last.Confirm || !last.Pass || last.Rate != c.Rate || c.AchievedRPS != last.Achieved || last.Achieved <= 0 {
			t.Errorf("capacity %.1f/s, but the last trial %+v", c.Rate, last)
		}
	}
}

func TestParseSLO(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"p99=100ms", true}, {"p99.9=1s", true}, {"p50=20ms", true},
		{"99=100ms", false}, {"p99", false}, {"p100=1s", false}, {"p99=-1s", false}, {"p99=fast", false},
	} {
		if _, err := bench.ParseSLO(tc.in); (err == nil) != tc.ok {
			t.Errorf("ParseSLO(%q): %v", tc.in, err)
		}
	}
}
