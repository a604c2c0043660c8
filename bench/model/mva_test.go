package model

import (
	"math"
	"testing"
)

// near says whether got is want to within tol (absolute).
func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

// Lazowska, Zahorjan, Graham & Sevcik, "Quantitative System Performance"
// (1984), ch. 6, p. 117: a timesharing system of a CPU (121 visits of
// 5 ms: D = 0.605 s) and two disks (70 visits of 30 ms, D = 2.1 s; 50 of
// 27 ms, D = 1.35 s), 3 users thinking 15 s. The book's exact MVA gives the
// queue lengths 0.0976, 0.3947 and 0.2350.
func TestMVAQSPTimesharing(t *testing.T) {
	st := []Station{{"cpu", 121 * 0.005, 1}, {"disk1", 70 * 0.030, 1}, {"disk2", 50 * 0.027, 1}}
	pts, err := MVA(st, 15, 3)
	if err != nil {
		t.Fatal(err)
	}
	last := pts[2]
	for i, want := range []float64{0.0976, 0.3947, 0.2350} {
		if !near(last.Q[i], want, 0.00005) {
			t.Errorf("%s: Q = %.5f, the book's %.4f", st[i].Name, last.Q[i], want)
		}
	}
	// Little's law over the whole loop: N = X·(R + Z).
	if !near(last.X*(last.R+15), 3, 1e-9) {
		t.Errorf("X·(R+Z) = %v, want N = 3", last.X*(last.R+15))
	}
}

// Jain, "The Art of Computer Systems Performance Analysis" (1991), Example
// 35.5: the central-server model of a timesharing system, D_CPU = 0.78 s,
// D_A = 2.34 s, D_B = 1.56 s, Z = 4.68 s, 3 users. The book gives
// X = 0.264 jobs/s, R = 6.694 s, utilisations 0.206, 0.618 and 0.412, and
// 0.97 jobs at disk A.
func TestMVAJainCentralServer(t *testing.T) {
	st := []Station{{"cpu", 0.78, 1}, {"diskA", 2.34, 1}, {"diskB", 1.56, 1}}
	pts, err := MVA(st, 4.68, 3)
	if err != nil {
		t.Fatal(err)
	}
	p := pts[2]
	check := func(what string, got, want, tol float64) {
		t.Helper()
		if !near(got, want, tol) {
			t.Errorf("%s = %.4f, the book's %v", what, got, want)
		}
	}
	check("X", p.X, 0.264, 0.0005)
	check("R", p.R, 6.694, 0.0005)
	// The book's utilisations are its rounded X times D (0.264 × 2.34 =
	// 0.618): within the rounding of X.
	check("U cpu", p.U[0], 0.206, 0.001)
	check("U disk A", p.U[1], 0.618, 0.001)
	check("U disk B", p.U[2], 0.412, 0.001)
	check("Q disk A", p.Q[1], 0.97, 0.005)
}

// The single-queue closed network with m servers: the finite-population
// M/M/m//N system (Kleinrock, "Queueing Systems" vol. 1, 1975, ch. 3), N
// customers each thinking Z on average, then served in D at a station of
// m servers. Its equilibrium is in closed form,
//
//	p(k) ∝ N!/(N−k)! · (D/Z)^k / (k! for k ≤ m, m!·m^(k−m) beyond),
//
// and its throughput is the busy servers over D. MVA must give the same,
// for one server (the machine-repairman model) and for several.
func TestMVAFinitePopulationQueue(t *testing.T) {
	for _, c := range []struct {
		n, m int
		d, z float64
	}{{5, 1, 1, 4}, {10, 1, 0.3, 2}, {10, 3, 1, 2}, {40, 8, 0.5, 1}, {64, 2, 1e-4, 0}} {
		st := []Station{{"q", c.d, c.m}}
		pts, err := MVA(st, c.z, c.n)
		if err != nil {
			t.Fatal(err)
		}
		var wantX, wantQ float64
		if c.z == 0 { // no thinking: all N at the station, min(N, m) busy
			wantX, wantQ = float64(min(c.n, c.m))/c.d, float64(c.n)
		} else {
			weights := make([]float64, c.n+1)
			sum := 0.0
			for k := 0; k <= c.n; k++ {
				w := 1.0
				for i := 1; i <= k; i++ {
					w *= float64(c.n-i+1) * c.d / c.z / float64(min(i, c.m))
				}
				weights[k] = w
				sum += w
			}
			busy := 0.0
			for k, w := range weights {
				busy += w / sum * float64(min(k, c.m))
				wantQ += w / sum * float64(k)
			}
			wantX = busy / c.d
		}
		got := pts[c.n-1]
		if !near(got.X, wantX, 1e-9*wantX) || !near(got.Q[0], wantQ, 1e-9*math.Max(1, wantQ)) {
			t.Errorf("N=%d m=%d D=%v Z=%v: MVA X=%.9g Q=%.9g, the closed form X=%.9g Q=%.9g", c.n, c.m, c.d, c.z, got.X, got.Q[0], wantX, wantQ)
		}
	}
}

// A multi-tier network — a client, nginx on 2 workers, 3 app processes, a
// database of 4 cores and a single-threaded cache, with think time —
// solved by MVA and by the product form itself: the probability of every
// state (n_0 thinking, n_1 … n_K at the stations) summed one by one
// (Jackson, Gordon & Newell). The two must agree on every station.
func TestMVAMultiTierAgainstProductForm(t *testing.T) {
	st := []Station{{"nginx", 0.02, 2}, {"app", 0.15, 3}, {"db", 0.1, 4}, {"cache", 0.01, 1}, {"client", 0.03, 0}}
	const z = 0.05
	for _, n := range []int{1, 2, 3, 5, 8} {
		pts, err := MVA(st, z, n)
		if err != nil {
			t.Fatal(err)
		}
		got := pts[n-1]
		f := func(s Station, k int) float64 { // the station's factor of the product form
			w := 1.0
			for i := 1; i <= k; i++ {
				if s.Servers == 0 {
					w *= s.Demand / float64(i)
				} else {
					w *= s.Demand / float64(min(i, s.Servers))
				}
			}
			return w
		}
		q := make([]float64, len(st))
		busy0 := 0.0
		sum := 0.0
		var walk func(i, left int, w float64, ks []int)
		walk = func(i, left int, w float64, ks []int) {
			if i == len(st) { // the rest think
				w *= math.Pow(z, float64(left)) / math.Gamma(float64(left)+1)
				sum += w
				for j, k := range ks {
					q[j] += w * float64(k)
				}
				busy0 += w * float64(min(ks[1], st[1].Servers))
				return
			}
			for k := 0; k <= left; k++ {
				walk(i+1, left-k, w*f(st[i], k), append(ks, k))
			}
		}
		walk(0, n, 1, nil)
		wantX := busy0 / sum / st[1].Demand
		if !near(got.X, wantX, 1e-9*wantX) {
			t.Errorf("N=%d: MVA X=%.9g, the product form %.9g", n, got.X, wantX)
		}
		for j := range st {
			if want := q[j] / sum; !near(got.Q[j], want, 1e-9) {
				t.Errorf("N=%d %s: MVA Q=%.9g, the product form %.9g", n, st[j].Name, got.Q[j], want)
			}
		}
	}
}

// Near saturation, at hundreds of requests and many servers, the recursion
// stays a probability and the throughput meets the bottleneck law's bound
// from below.
func TestMVAStaysBoundedNearSaturation(t *testing.T) {
	st := []Station{{"cores", 65e-6, 64}, {"app", 39e-6, 32}, {"client", 8e-6, 0}}
	pts, err := MVA(st, 0, 1024)
	if err != nil {
		t.Fatal(err)
	}
	bound, at := Bound(st)
	if at != 1 {
		t.Fatalf("bottleneck %d, want the app (32/39 µs below 64/65 µs)", at)
	}
	prev := 0.0
	for _, p := range pts {
		if p.X < prev-1e-9*prev || p.X > bound*(1+1e-9) || math.IsNaN(p.X) {
			t.Fatalf("N=%d: X=%v after %v, bound %v: not rising to the bound", p.N, p.X, prev, bound)
		}
		prev = p.X
	}
	if last := pts[len(pts)-1]; last.X < 0.99*bound {
		t.Errorf("1024 requests on 64 servers: X=%v, want within 1%% of the bound %v", last.X, bound)
	}
}

func TestMVARefusesNonsense(t *testing.T) {
	for _, c := range []struct {
		st []Station
		z  float64
		n  int
	}{{nil, 0, 1}, {[]Station{{"a", -1, 1}}, 0, 1}, {[]Station{{"a", math.NaN(), 1}}, 0, 1}, {[]Station{{"a", 1, -2}}, 0, 1}, {[]Station{{"a", 1, 1}}, -1, 1}, {[]Station{{"a", 1, 1}}, 0, 0}} {
		if _, err := MVA(c.st, c.z, c.n); err == nil {
			t.Errorf("MVA(%v, %v, %d): no error", c.st, c.z, c.n)
		}
	}
}

// Throughput is MVA's X alone: the same number at every population, for
// networks of single-server, multi-server and delay stations, with and
// without think time, and bad input refused alike.
func TestThroughputIsMVAs(t *testing.T) {
	for _, c := range []struct {
		name string
		st   []Station
		z    float64
	}{
		{"queues", []Station{{Demand: 0.2, Servers: 1}, {Demand: 0.05, Servers: 1}, {Demand: 0.1, Servers: 1}}, 3},
		{"a layered stage", []Station{{Demand: 12e-6, Servers: 2}, {Demand: 9e-6, Servers: 1}, {Demand: 9e-6, Servers: 1},
			{Demand: 23e-6, Servers: 1}, {Demand: 23e-6, Servers: 1}, {Demand: 2e-6, Servers: 2}, {Demand: 0, Servers: 1}}, 17e-6},
		{"64 cores and a delay", []Station{{Demand: 0.01, Servers: 64}, {Demand: 0.002, Servers: 0}, {Demand: 1e-4, Servers: 1}}, 0},
	} {
		pts, err := MVA(c.st, c.z, 200)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pts {
			x, err := Throughput(c.st, c.z, p.N)
			if err != nil || !near(x, p.X, 1e-9*p.X) {
				t.Fatalf("%s, %d requests: Throughput %v (%v), MVA %v", c.name, p.N, x, err, p.X)
			}
		}
	}
	if _, err := Throughput([]Station{{Demand: -1, Servers: 1}}, 0, 4); err == nil {
		t.Error("a negative demand was taken")
	}
	if _, err := Throughput([]Station{{Demand: 1, Servers: 1}}, 0, 0); err == nil {
		t.Error("no requests in circulation was taken")
	}
}
