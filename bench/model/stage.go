package model

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/scalelab/scalelab/bench/record"
	"github.com/scalelab/scalelab/internal/cpuset"
	"github.com/scalelab/scalelab/stages"
)

// How the lab configures its servers, which limits how many cores each
// can use at once. They are the lab's settings, not measurements, so they
// are spelt here; each names where the lab sets it.
const (
	// poolSize is an app server's pgx pool (internal/appserver, MaxConns
	// 8): at most that many PostgreSQL backends work for one app process.
	poolSize = 8
	// memcachedThreads is memcached's worker threads (infra/memcached.go,
	// -t 2).
	memcachedThreads = 2
	// fastcgiWorkers is stage 1f's nginx (stages/fastcgi: Workers 1).
	fastcgiWorkers = 1
)

// Tier is one component of a stage with its CPU demand: CPU-seconds per
// request (the record's CPU-µs per request), and the tier it belongs to
// when tiers have machines of their own.
type Tier struct {
	// ID is the record's component id (record.CPUApp, record.CPUPostgres…).
	ID string
	// Demand is CPU-seconds per request.
	Demand float64
}

// Stage is what the model knows of one measured stage: its kind (from the
// stages table), its CPU demand per request by component (from the
// record's Where) and what was measured.
type Stage struct {
	// Key is the stage's key ("3", "4-noindex"), Name its name.
	Key, Name string
	Process   stages.Process
	Tiers     []Tier
	// RPS is the measured req/s at Connections connections, on a machine
	// of Cores cores shared by every server and the load generator.
	RPS         float64
	Connections int
	// ViewsPerRequest is page views per request: a page view brings its
	// images, so a day's page views need more requests than views.
	ViewsPerRequest float64
	// WriteShare is the share of the database's work that must go to a
	// primary (comments posted over SQL statements, each statement costed
	// alike); the rest can go to read replicas.
	WriteShare float64
	// Sweep is the measured req/s at other connection counts (--sweep),
	// by connections, ascending.
	Sweep []SweepPoint
	// Outside is the share of the machine that other programs and the
	// hypervisor took while the stage was measured (the record's outsiders
	// and steal; 0 when the record has no account of the machine).
	Outside float64
	// Latency is the part of a lone request's response time that no CPU
	// counter sees, in seconds: the wake-ups of each process a request
	// passes through, the loopback's hand-overs. It is measured, from the
	// sweep's point at one connection (1/X − the demands, at least 0), and
	// is 0 when the run has none; LatencyMeasured says which.
	Latency float64
	// Speed is the machine's speed probe while the demands were measured
	// (record.Where.SpeedProbeMs: milliseconds of CPU for a fixed piece
	// of work; 0: not probed). A prediction for a measurement probed at
	// another speed scales the demands by the ratio (see At).
	Speed float64
}

// SweepPoint is one measured point of a concurrency sweep, with the share
// of the machine other programs took during it (see Stage.Outside).
type SweepPoint struct {
	Connections int
	RPS         float64
	Outside     float64
	// Speed is the point's speed probe (see Stage.Speed).
	Speed float64
}

// Demand is the stage's CPU-seconds per request of one component.
func (s Stage) Demand(id string) float64 {
	for _, t := range s.Tiers {
		if t.ID == id {
			return t.Demand
		}
	}
	return 0
}

// At is the stage on the machine as fast as a speed probe of speed
// milliseconds says (see Stage.Speed), and the ratio of its demands to the
// measured ones: every demand times speed / s.Speed. With either probe
// unknown (0) it is the stage as measured, and the ratio 0 (unknown).
func (s Stage) At(speed float64) (Stage, float64) {
	if s.Speed <= 0 || speed <= 0 {
		return s, 0
	}
	r := speed / s.Speed
	out := s
	out.Tiers = slices.Clone(s.Tiers)
	for i := range out.Tiers {
		out.Tiers[i].Demand *= r
	}
	return out, r
}

// LatencyMeasured says whether the run had a sweep point at one connection
// to measure Latency at.
func (s Stage) LatencyMeasured() bool { return len(s.Sweep) > 0 && s.Sweep[0].Connections == 1 }

// TotalDemand is the CPU-seconds per request of every component together.
func (s Stage) TotalDemand() float64 {
	d := 0.0
	for _, t := range s.Tiers {
		d += t.Demand
	}
	return d
}

// Stages reads the site's stages from a run: every main result of the
// built-in tool with CPU per request, in the talk's order. Stage 0's
// baselines, which have no page views, are left out, and so are results
// with an injected fault: their req/s is the dip and the recovery, not a
// steady state a model predicts.
func Stages(run *record.Run) []Stage {
	var out []Stage
	for i := range run.Results {
		x := &run.Results[i]
		st, ok := stages.Find(x.Stage)
		if !ok || st.Process == stages.Baselines || x.Page != "" || x.Sweep || x.Tool != "scalelab load" || x.Fault != nil ||
			x.Rate > 0 || x.RPS <= 0 || x.Where == nil || len(x.Where.CPUUsPerRequest) == 0 {
			continue
		}
		s := Stage{Key: x.Key(), Name: x.Name, Process: st.Process, RPS: x.RPS, Connections: x.Connections}
		if x.PageViews > 0 {
			s.ViewsPerRequest = x.PageViews / x.RPS
		}
		for _, id := range record.CPUComponents {
			if us := x.Where.CPUUsPerRequest[id]; id != record.CPUIdle && us > 0 && runs(st, id) {
				s.Tiers = append(s.Tiers, Tier{ID: id, Demand: us / 1e6})
			}
		}
		if w := x.Writes; w != nil && x.Where.SQLPerView > 0 && x.PageViews > 0 && x.Requests > 0 {
			// Comments acknowledged per page view over statements per view.
			views := float64(x.Requests) * x.PageViews / x.RPS
			s.WriteShare = math.Min(1, float64(w.Acknowledged)/views/x.Where.SQLPerView)
		}
		s.Outside, s.Speed = outside(x.Where), speedOf(x)
		for j := range run.Results {
			y := &run.Results[j]
			if y.Sweep && y.Key() == s.Key && y.Tool == x.Tool && y.Page == "" && y.Rate == 0 && y.RPS > 0 {
				s.Sweep = append(s.Sweep, SweepPoint{y.Connections, y.RPS, outside(y.Where), speedOf(y)})
			}
		}
		slices.SortFunc(s.Sweep, func(a, b SweepPoint) int { return a.Connections - b.Connections })
		if one := s.Sweep; len(one) > 0 && one[0].Connections == 1 {
			// The demands as they were at that point's speed.
			at, _ := s.At(one[0].Speed)
			s.Latency = max(0, 1/one[0].RPS-at.TotalDemand())
		}
		out = append(out, s)
	}
	order := map[string]int{}
	for i, st := range stages.All {
		order[st.ID] = 2 * i
	}
	slices.SortStableFunc(out, func(a, b Stage) int {
		ida, na := stages.ParseKey(a.Key)
		idb, nb := stages.ParseKey(b.Key)
		return order[ida] + b2i(na) - order[idb] - b2i(nb)
	})
	return out
}

// speedOf is a result's speed probe: its Where's, or the median of its
// records' (results merged from interleaved rounds before the Where kept it
// have them only there).
func speedOf(x *record.Result) float64 {
	if x.Where != nil && x.Where.SpeedProbeMs > 0 {
		return x.Where.SpeedProbeMs
	}
	return record.SpeedProbeMs(x.Records)
}

// outside is the share of the machine other programs and the hypervisor
// took during a measurement, from its account of the machine (0 without
// one); at most 90%, so a wild account cannot leave a stage no cores.
func outside(w *record.Where) float64 {
	if w == nil || w.MachineS <= 0 {
		return 0
	}
	return math.Min(0.9, (w.OutsideCPUS+w.StealS)/w.MachineS)
}

// runs says whether a stage runs a component at all: what /proc counts
// for one it does not run (memcached's idle ticks during stage 2) is
// noise, not a tier to plan machines for.
func runs(st stages.Stage, id string) bool {
	front := st.Process == stages.FastCGI || st.Process == stages.Balanced
	switch id {
	case record.CPUNginx, record.CPUApp:
		return front
	case record.CPUServe:
		return !front
	case record.CPUMemcached:
		return st.Cache || st.Sessions == stages.SessionsMemcached
	case record.CPUPostgres:
		return st.UsesDatabase
	}
	return true
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Machine is one machine that every server of a stage shares, as the lab
// runs them: Cores cores for the servers and, with ClientCores 0, for the
// load generator too; ClientCores > 0 gives the load generator cores of
// its own (--client-cpus); ClientCores < 0 leaves it out (a client
// elsewhere, never the bottleneck: the question "what would the site do").
type Machine struct {
	Cores, ClientCores int
	// Lost is the share of the cores other programs took (0: none).
	Lost float64
}

// servers is how many requests a component can work on at once on a
// shared machine of the given cores: the stage's own limits (stage 2's
// one process, GOMAXPROCS=1, the GIL's model; one app server per core in
// stages 3 and 4; a process per request in CGI), never more than the
// cores.
func (s Stage) servers(id string, cores int) int {
	n := cores
	switch id {
	case record.CPUServe:
		if s.Process == stages.AppServer {
			n = 1 // one process, GOMAXPROCS=1
		}
	case record.CPUApp:
		if s.Process == stages.FastCGI {
			n = 1 // one FastCGI process, GOMAXPROCS=1
		} // stages 3, 4: one instance per core, GOMAXPROCS=1 each
	case record.CPUNginx:
		if s.Process == stages.FastCGI {
			n = fastcgiWorkers
		} // worker_processes auto: one per core
	case record.CPUMemcached:
		n = memcachedThreads
	case record.CPUPostgres:
		switch s.Process {
		case stages.AppServer, stages.FastCGI:
			n = poolSize
		case stages.Balanced:
			n = poolSize * cores // a pool per instance
		} // CGI: a connection, so a backend, per request
	}
	return max(1, min(n, cores))
}

// limit is the most req/s one component's own limit allows (stage 2's
// one process, memcached's 2 threads), whatever the cores.
type limit struct {
	id string
	x  float64
}

// network is the stage on machine m as a closed network: the cores every
// server shares are one station of m.Cores servers, where a request needs
// the sum of the shared components' demands (so that the components
// together never use more cores than there are), and the load generator's
// own cores, when it has some, are another. A component that can use fewer
// cores than the machine has (servers) is a limit on the req/s: X ≤
// servers / demand, applied after the solution.
func (s Stage) network(m Machine) (st []Station, limits []limit) {
	shared := 0.0
	for _, t := range s.Tiers {
		if t.ID == record.CPUClient && m.ClientCores != 0 {
			if m.ClientCores > 0 {
				st = append(st, Station{Name: t.ID, Demand: t.Demand, Servers: m.ClientCores})
			}
			continue
		}
		shared += t.Demand
		if n := s.servers(t.ID, m.Cores); n < m.Cores {
			limits = append(limits, limit{t.ID, float64(n) / t.Demand})
		}
	}
	if shared > 0 {
		// Cores that other programs took half of do the work at half the
		// rate: the demand on what is left doubles.
		st = append([]Station{{Name: Cores, Demand: shared / (1 - m.Lost), Servers: m.Cores}}, st...)
	}
	return st, limits
}

// Cores names the shared cores as a bottleneck.
const Cores = "cores"

// Prediction is what the model says of a stage on a machine at a number
// of connections.
type Prediction struct {
	Connections int
	// X is req/s; R the mean response time in seconds.
	X, R float64
	// Bottleneck is what limits X: Cores when the components together fill
	// the machine's cores, or a component id when its own limit does.
	Bottleneck string
}

// Capacity is the most req/s the stage can answer on machine m with
// enough connections (the bottleneck law), and what limits it.
func (s Stage) Capacity(m Machine) (float64, string) {
	st, limits := s.network(m)
	x, name := math.Inf(1), ""
	if b, at := Bound(st); at >= 0 {
		x, name = b, st[at].Name
	}
	for _, l := range limits {
		if l.x < x {
			x, name = l.x, l.id
		}
	}
	return x, name
}

// Predict is the stage on machine m at conns connections with think time
// z: exact MVA of the network (see network) with the stage's Latency as a
// delay besides z, then each component's own limit. It returns the curve
// for 1..conns connections.
func (s Stage) Predict(m Machine, conns int, z float64) ([]Prediction, error) {
	if m.Cores < 1 {
		return nil, fmt.Errorf("model: a machine needs at least one core, got %d", m.Cores)
	}
	st, limits := s.network(m)
	if len(st) == 0 {
		return nil, fmt.Errorf("model: stage %s has no CPU per request in its record", s.Key)
	}
	pts, err := MVA(st, z+s.Latency, conns)
	if err != nil {
		return nil, err
	}
	out := make([]Prediction, len(pts))
	for i, p := range pts {
		top := 0
		for k := range p.U {
			if p.U[k] > p.U[top] {
				top = k
			}
		}
		pr := Prediction{Connections: p.N, X: p.X, Bottleneck: st[top].Name}
		for _, l := range limits {
			if l.x < pr.X {
				pr.X, pr.Bottleneck = l.x, l.id
			}
		}
		pr.R = float64(p.N)/pr.X - z
		out[i] = pr
	}
	return out, nil
}

// CPUCount counts the CPUs of a list as the kernel writes them ("0",
// "1-3", "0,2-3"): the cores a pinned run gave its servers or its client.
func CPUCount(list string) (int, error) {
	list = strings.TrimSpace(list)
	if list == "" {
		return 0, nil
	}
	set, err := cpuset.Parse(list)
	if err != nil {
		return 0, fmt.Errorf("model: %w", err)
	}
	return len(set), nil
}
