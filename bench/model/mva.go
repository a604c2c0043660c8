package model

import (
	"fmt"
	"math"
)

// Station is one service centre of a closed queueing network: a resource
// every request visits, with its service demand D (total service time per
// request, visits × time per visit, in seconds) and its servers.
type Station struct {
	Name string
	// Demand is the service demand per request, in seconds.
	Demand float64
	// Servers is how many requests it serves at once: 1 is a queue, m > 1
	// a multi-server queue (m cores, m processes), 0 a delay station that
	// never queues (infinitely many servers).
	Servers int
}

// Point is the network's solution at one population: N requests in
// circulation (connections of a closed-loop load), think time Z.
type Point struct {
	N int
	// X is the throughput (requests per second), R the response time
	// (seconds, think time excluded).
	X, R float64
	// Q is the mean number of requests at each station (as Stations).
	Q []float64
	// U is each station's utilisation: the mean share of its servers
	// busy (X·D/m; X·D for a delay station).
	U []float64
}

// MVA solves a closed, single-class, product-form network exactly, for
// every population 1..n, with think time z (seconds) between a request's
// answer and the next.
//
// When every station has one server or is a delay, it is Reiser and
// Lavenberg's mean value analysis as the textbooks give it (Menascé,
// Almeida & Dowdy 2004, ch. 12; Jain 1991, ch. 34): by the arrival
// theorem a request arriving at a station finds the queue the network had
// with one request fewer, R_k(n) = D_k·(1 + Q_k(n−1)), then X(n) =
// n / (Z + Σ R_k(n)) and Q_k(n) = X(n)·R_k(n).
//
// A station of m > 1 servers (the cores of a machine, the instances of an
// app) is load-dependent. Its exact MVA needs the marginal probabilities
// p_k(j|n) of j requests present, and their recursion (Bolch et al. 2006,
// ch. 8) is numerically unstable: p_k(0|n) is one minus a sum close to
// one, and on a 64-core machine the error grows until, past 64
// connections, the computed throughput falls by 20% and then by 80%. So
// with such a station the same exact solution comes from the convolution
// algorithm (Buzen 1973; Jain 1991, ch. 35), whose normalising constants
// G(n) are sums of positive terms and are kept as logarithms: no
// cancellation, no overflow. X(n) = G(n−1)/G(n), and Q_k(n) from the
// network without station k. Exact rather than Seidmann's approximation
// (an m-server station as one server of demand D/m and a delay of
// D(m−1)/m) because the stations that matter here are multi-server at a
// few connections — two cores at 1 to 16 — where that approximation errs
// most. The tests check both against the product form summed state by
// state.
func MVA(st []Station, z float64, n int) ([]Point, error) {
	if err := checkNetwork(st, z); err != nil {
		return nil, err
	}
	if n < 1 {
		return nil, fmt.Errorf("model: a closed network needs at least one request in circulation, got %d", n)
	}
	for _, s := range st {
		if multi(s, n) > 1 {
			return convolution(st, z, n), nil
		}
	}
	return meanValues(st, z, n), nil
}

// meanValues is the MVA recursion for single-server and delay stations.
func meanValues(st []Station, z float64, n int) []Point {
	k := len(st)
	q := make([]float64, k)
	r := make([]float64, k)
	out := make([]Point, 0, n)
	for pop := 1; pop <= n; pop++ {
		total := 0.0
		for i, s := range st {
			if multi(s, n) == 1 {
				r[i] = s.Demand * (1 + q[i])
			} else {
				r[i] = s.Demand
			}
			total += r[i]
		}
		x := float64(pop) / (z + total)
		pt := Point{N: pop, X: x, R: total, Q: make([]float64, k), U: make([]float64, k)}
		for i, s := range st {
			q[i] = x * r[i]
			pt.Q[i] = q[i]
			pt.U[i] = Utilisation(s, x)
		}
		out = append(out, pt)
	}
	return out
}

// convolution solves the network from its normalising constants, in
// logarithms: G(n) = Σ over the ways of placing n requests of the product
// of each station's factor f_k(j) = D_k^j / Π_{i≤j} min(i, m_k) (a delay:
// D^j / j!; the think time is a delay station of demand Z).
func convolution(st []Station, z float64, n int) []Point {
	lf := make([][]float64, len(st))
	for i, s := range st {
		lf[i] = logFactors(s, n)
	}
	lg := logG(st, z, n, -1)
	without := make([][]float64, len(st))
	for i := range st {
		without[i] = logG(st, z, n, i)
	}
	out := make([]Point, 0, n)
	for pop := 1; pop <= n; pop++ {
		x := math.Exp(lg[pop-1] - lg[pop])
		pt := Point{N: pop, X: x, Q: make([]float64, len(st)), U: make([]float64, len(st))}
		for i, s := range st {
			for j := 1; j <= pop; j++ {
				pt.Q[i] += float64(j) * math.Exp(lf[i][j]+without[i][pop-j]-lg[pop])
			}
			pt.U[i] = Utilisation(s, x)
			pt.R += pt.Q[i] / x
		}
		out = append(out, pt)
	}
	return out
}

// logFactors are log f(j), j = 0..n, of a station (see convolution);
// −∞ where the factor is zero (a station without demand holds no request).
func logFactors(s Station, n int) []float64 {
	f := make([]float64, n+1)
	ld := math.Log(s.Demand)
	for j := 1; j <= n; j++ {
		if s.Demand == 0 {
			f[j] = math.Inf(-1)
			continue
		}
		c := j
		if s.Servers > 0 {
			c = min(j, s.Servers)
		}
		f[j] = f[j-1] + ld - math.Log(float64(c))
	}
	return f
}

// convolve is h(n) = Σ_j f(j)·g(n−j), in logarithms.
func convolve(g, f []float64) []float64 {
	h := make([]float64, len(g))
	terms := make([]float64, 0, len(g))
	for n := range h {
		terms = terms[:0]
		top := math.Inf(-1)
		for j := 0; j <= n; j++ {
			t := f[j] + g[n-j]
			terms = append(terms, t)
			top = math.Max(top, t)
		}
		if math.IsInf(top, -1) {
			h[n] = top
			continue
		}
		sum := 0.0
		for _, t := range terms {
			sum += math.Exp(t - top)
		}
		h[n] = top + math.Log(sum)
	}
	return h
}

// multi is how many servers a station has for a network of at most n
// requests: 0 when it can never queue (a delay station, or at least as
// many servers as requests, which serve every request at once).
func multi(s Station, n int) int {
	if s.Servers <= 0 || s.Servers >= n {
		if s.Servers == 1 {
			return 1
		}
		return 0
	}
	return s.Servers
}

func checkNetwork(st []Station, z float64) error {
	if len(st) == 0 {
		return fmt.Errorf("model: a network needs at least one station")
	}
	if z < 0 || math.IsNaN(z) || math.IsInf(z, 0) {
		return fmt.Errorf("model: think time must be a finite number of seconds ≥ 0, got %v", z)
	}
	for _, s := range st {
		if s.Demand < 0 || math.IsNaN(s.Demand) || math.IsInf(s.Demand, 0) {
			return fmt.Errorf("model: station %s: demand must be a finite number of seconds ≥ 0, got %v", s.Name, s.Demand)
		}
		if s.Servers < 0 {
			return fmt.Errorf("model: station %s: servers must be ≥ 0 (0: a delay station), got %d", s.Name, s.Servers)
		}
	}
	return nil
}

// Bound is the bottleneck law (Jain 1991, ch. 33; Denning & Buzen 1978):
// a station of m servers and demand D answers at most m/D requests a
// second, so the network's throughput is at most the least of them. It
// returns that bound and the station that sets it (-1 when every station
// is a delay, or has no demand: no bound).
func Bound(st []Station) (x float64, at int) {
	x, at = math.Inf(1), -1
	for i, s := range st {
		if s.Servers <= 0 || s.Demand <= 0 {
			continue
		}
		if b := float64(s.Servers) / s.Demand; b < x {
			x, at = b, i
		}
	}
	return x, at
}

// Utilisation is the utilisation law, U = X·D/m: the share of a station's
// servers busy at throughput x.
func Utilisation(s Station, x float64) float64 {
	if s.Servers <= 0 {
		return x * s.Demand
	}
	return x * s.Demand / float64(s.Servers)
}

// Throughput is X(n) of the same network as MVA solves, alone: the
// layered model (layers.go) solves its software layer many times over
// and needs nothing else. X(n) = G(n−1)/G(n), from logG.
func Throughput(st []Station, z float64, n int) (float64, error) {
	if err := checkNetwork(st, z); err != nil {
		return 0, err
	}
	if n < 1 {
		return 0, fmt.Errorf("model: a closed network needs at least one request in circulation, got %d", n)
	}
	g := logG(st, z, n, -1)
	return math.Exp(g[n-1] - g[n]), nil
}

// logG is the network's normalising constants G(0..n) in logarithms,
// without station skip (−1: none skipped), the think time a delay station
// among them. A single-server station joins in O(n) by Buzen's recursion,
// G'(k) = G(k) + D·G'(k−1); only multi-server and delay stations need the
// O(n²) convolution. At a thousand connections that is the difference
// between seconds and a blink.
func logG(st []Station, z float64, n, skip int) []float64 {
	g := logFactors(Station{Demand: z}, n) // all −∞ but G(0) when z is 0
	for i, s := range st {
		switch {
		case i == skip || s.Demand == 0:
			// holds no request: changes nothing
		case s.Servers == 1:
			ld := math.Log(s.Demand)
			for k := 1; k <= n; k++ {
				g[k] = logAdd(g[k], ld+g[k-1])
			}
		default:
			g = convolve(g, logFactors(s, n))
		}
	}
	return g
}

// logAdd is log(e^a + e^b), with −∞ as zero.
func logAdd(a, b float64) float64 {
	if a < b {
		a, b = b, a
	}
	if math.IsInf(b, -1) {
		return a
	}
	return a + math.Log1p(math.Exp(b-a))
}
