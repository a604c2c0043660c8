package model

import (
	"fmt"
	"math"

	"github.com/scalelab/scalelab/bench/record"
	"github.com/scalelab/scalelab/stages"
)

// Tiers when each has machines of its own, in the order tables list them.
const (
	TierNginx     = "nginx"
	TierApp       = "app"
	TierDB        = "db"
	TierMemcached = "memcached"
)

// TierNames are the tiers a deployment names (--machines app=N,db=M,…).
var TierNames = []string{TierNginx, TierApp, TierDB, TierMemcached}

// tierOf is the tier a component runs in when tiers have machines of
// their own; "" for the load generator, which is not part of the site.
func tierOf(id string) string {
	switch id {
	case record.CPUNginx:
		return TierNginx
	case record.CPUApp, record.CPUServe:
		return TierApp
	case record.CPUPostgres:
		return TierDB
	case record.CPUMemcached:
		return TierMemcached
	}
	return ""
}

// Deployment is a stage with each tier on machines of its own, every
// machine of CoresPerMachine cores: Machines[tier] machines per tier (db:
// one primary and the rest read replicas).
type Deployment struct {
	CoresPerMachine int
	Machines        map[string]int
}

// singleProcess says whether the stage's app is one process that no
// number of machines multiplies: stage 2's app server and stage 1f's
// FastCGI process (GOMAXPROCS=1, the GIL's model).
func (s Stage) singleProcess() bool {
	return s.Process == stages.AppServer || s.Process == stages.FastCGI
}

// deployed is the stage's tiers as stations of a deployment: a tier on M
// machines of c cores is one station of M·c servers (requests spread
// evenly, as nginx's balancing does), but for the single app process
// (one server however many machines) and the database, whose writes all
// go to the primary: its station is the primary, c servers with the
// writes and its share of the reads, D·(w + (1−w)/M).
func (s Stage) deployed(d Deployment) []Station {
	demand := map[string]float64{}
	for _, t := range s.Tiers {
		if tier := tierOf(t.ID); tier != "" {
			demand[tier] += t.Demand
		}
	}
	c := d.CoresPerMachine
	var st []Station
	for _, tier := range TierNames {
		dem := demand[tier]
		if dem == 0 {
			continue
		}
		m := max(1, d.Machines[tier])
		servers := m * c
		switch {
		case tier == TierApp && s.singleProcess():
			servers = 1
		case tier == TierDB:
			servers = c
			dem *= s.WriteShare + (1-s.WriteShare)/float64(m)
		}
		st = append(st, Station{Name: tier, Demand: dem, Servers: servers})
	}
	return st
}

// DeployedCapacity is the most req/s the deployment answers, and the tier
// that limits it.
func (s Stage) DeployedCapacity(d Deployment) (float64, string) {
	x, at := Bound(s.deployed(d))
	if at < 0 {
		return math.Inf(1), ""
	}
	return x, s.deployed(d)[at].Name
}

// SLO is a latency goal: the Quantile-th percentile of the response time
// at most Seconds.
type SLO struct {
	Quantile, Seconds float64
}

// Plan is the fewest machines per tier that serve a number of page views
// a day within the SLO, or why none do.
type Plan struct {
	PagesPerDay float64
	// RPS is the requests a second it takes: page views a day / 86,400,
	// times the requests of a page view (the talk's average day, no peak).
	RPS      float64
	Machines map[string]int
	Total    int
	// Unreachable says why no number of machines serves it; MaxPagesPerDay
	// is then the most the stage can serve.
	Unreachable    string
	MaxPagesPerDay float64
	// P is the predicted percentile of the response time, in seconds.
	P float64
}

// Plan finds the fewest machines of cores cores per tier for pagesPerDay
// within slo. A tier gets enough machines to stay below 100% busy, then,
// while the predicted percentile misses the goal, one more machine goes to
// the tier where requests wait longest. Each tier is an M/M/m queue of
// the open model (Erlang's C formula), and the percentile is read from the
// mean as for an exponential response time, mean × ln(100/(100−q)) (Jain
// 1991, ch. 31, M/M/1): a model's percentile, not a measured one. Network
// latency between machines is not counted.
func (s Stage) Plan(pagesPerDay float64, slo SLO, cores int) Plan {
	p := Plan{PagesPerDay: pagesPerDay, Machines: map[string]int{}}
	if s.ViewsPerRequest <= 0 {
		p.Unreachable = "no page views recorded"
		return p
	}
	p.RPS = pagesPerDay / 86400 / s.ViewsPerRequest
	d := Deployment{CoresPerMachine: cores, Machines: p.Machines}
	// The most the stage can do: every tier that can grow given plenty.
	big := Deployment{CoresPerMachine: cores, Machines: map[string]int{}}
	for _, t := range TierNames {
		big.Machines[t] = 1 << 20
	}
	maxX, limit := s.DeployedCapacity(big)
	p.MaxPagesPerDay = maxX * s.ViewsPerRequest * 86400
	if p.RPS >= maxX {
		why := "the " + limit + " tier cannot grow"
		switch {
		case limit == TierApp && s.singleProcess():
			why = "its one app process (GOMAXPROCS=1) is the limit, however many machines"
		case limit == TierDB:
			why = "the database primary takes every write"
		}
		p.Unreachable = fmt.Sprintf("%s: at most %s page views a day", why, Count(p.MaxPagesPerDay))
		return p
	}
	for _, st := range s.deployed(d) {
		if st.Name == TierApp && s.singleProcess() {
			p.Machines[st.Name] = 1
			continue
		}
		m := 1
		for {
			p.Machines[st.Name] = m
			if Utilisation(s.station(d, st.Name), p.RPS) < 1 {
				break
			}
			m = grow(m)
		}
		// grow overshoots by doubling; come back down to the fewest.
		lo := m / 2
		for lo+1 < m {
			mid := (lo + m) / 2
			p.Machines[st.Name] = mid
			if Utilisation(s.station(d, st.Name), p.RPS) < 1 {
				m = mid
			} else {
				lo = mid
			}
		}
		p.Machines[st.Name] = m
	}
	factor := math.Log(100 / (100 - slo.Quantile))
	for range 10000 {
		r, worst, wait := 0.0, "", 0.0
		for _, st := range s.deployed(d) {
			rk := erlangR(st, p.RPS)
			r += rk
			if w := rk - st.Demand; w > wait && !(st.Name == TierApp && s.singleProcess()) {
				worst, wait = st.Name, w
			}
		}
		p.P = factor * r
		if p.P <= slo.Seconds {
			break
		}
		if worst == "" {
			p.Unreachable = fmt.Sprintf("the goal is below the time the work itself takes (p%g %s without any wait)", slo.Quantile, Seconds(p.P))
			return p
		}
		p.Machines[worst]++
	}
	for _, n := range p.Machines {
		p.Total += n
	}
	return p
}

func grow(m int) int { return m * 2 }

// station is the deployment's station of a tier.
func (s Stage) station(d Deployment, tier string) Station {
	for _, st := range s.deployed(d) {
		if st.Name == tier {
			return st
		}
	}
	return Station{Name: tier}
}

// erlangR is the mean response time of an M/M/m station at x requests a
// second: its demand, plus the wait, Erlang's C(m, a)·D/(m(1−ρ)); +Inf at
// or beyond saturation. Erlang's B is computed by its recursion, stable
// for thousands of servers.
func erlangR(st Station, x float64) float64 {
	a := x * st.Demand
	m := float64(st.Servers)
	rho := a / m
	if rho >= 1 {
		return math.Inf(1)
	}
	b := 1.0
	for k := 1; k <= st.Servers; k++ {
		b = a * b / (float64(k) + a*b)
	}
	c := b / (1 - rho*(1-b))
	return st.Demand + c*st.Demand/(m*(1-rho))
}

// Count writes a large number the way the talk does: 3.4 million, 1.2
// billion.
func Count(v float64) string {
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%.3g billion", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.3g million", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.3g thousand", v/1e3)
	}
	return fmt.Sprintf("%.3g", v)
}

// Seconds writes a duration of the model in the unit that reads best.
func Seconds(s float64) string {
	switch {
	case s >= 1:
		return fmt.Sprintf("%.3g s", s)
	case s >= 1e-3:
		return fmt.Sprintf("%.3g ms", s*1e3)
	}
	return fmt.Sprintf("%.3g µs", s*1e6)
}
