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
	// sweep's point at one connection (1/X − the demands, when that is
	// above 0), and is 0 otherwise; Calibrated says whether it or Overlap
	// was measured.
	Latency float64
	// Overlap is the share of the CPU per request that a lone request did
	// not wait for: measured at the same point when 1/X is below the
	// demands (1 − (1/X)/ΣD). That work is off the request's path — the
	// kernel finishing a send after the process moved on, a garbage
	// collector on another core — so it takes cores but adds no time to a
	// response. A stage has a Latency or an Overlap, never both.
	Overlap float64
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

// Calibrated says whether the model was fitted to the sweep's point at
// one connection (a Latency or an Overlap above 0): that point then
// agrees by construction and is no check of the model.
func (s Stage) Calibrated() bool { return s.Latency > 0 || s.Overlap > 0 }

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
			if r, d := 1/one[0].RPS, at.TotalDemand(); r >= d {
				s.Latency = r - d
			} else {
				s.Overlap = 1 - r/d
			}
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

// Cores names the shared cores as a bottleneck.
const Cores = "cores"

// Prediction is what the model says of a stage on a machine at a number
// of connections.
type Prediction struct {
	Connections int
	// X is req/s; R the mean response time in seconds.
	X, R float64
	// Bottleneck is what limits X most: Cores when the components together
	// come closest to filling the machine's cores, or a component id when
	// its own threads do (see Stage.bounds).
	Bottleneck string
	// Stretch is how much longer a thread took for its CPU than on a core
	// of its own, waiting for one (see layers.go): 1 when none waited.
	Stretch float64
}

// bound is the most req/s one resource allows, whatever the connections.
type bound struct {
	name string
	x    float64
}

// bounds are the bottleneck law's limits on machine m: the shared cores
// (every component's CPU, on and off the request's path, over the cores
// other programs left), and each component's own threads (stage 2's one
// process, memcached's 2 threads, the load generator's own cores): a
// component's threads × copies over its demand on the request's path.
func (s Stage) bounds(m Machine) []bound {
	var out []bound
	ts := s.tasks(m, math.MaxInt32)
	for _, t := range ts {
		if t.demand > 0 && (t.own || t.threads*t.copies < m.Cores) {
			out = append(out, bound{t.id, float64(t.threads*t.copies) / t.demand})
		}
	}
	if shared := sharedCPU(ts); shared > 0 {
		out = append([]bound{{Cores, float64(m.Cores) * (1 - m.Lost) / shared}}, out...)
	}
	return out
}

// Capacity is the most req/s the stage can answer on machine m with
// enough connections (the bottleneck law), and what limits it.
func (s Stage) Capacity(m Machine) (float64, string) {
	x, name := math.Inf(1), ""
	for _, b := range s.bounds(m) {
		if b.x < x {
			x, name = b.x, b.name
		}
	}
	return x, name
}

// Predict is the stage on machine m at conns connections with think time
// z: the layered model (layers.go) with the stage's Latency as a delay
// besides z, never above the bottleneck law's bounds; the bottleneck is
// the bound X comes closest to.
func (s Stage) Predict(m Machine, conns int, z float64) (Prediction, error) {
	if m.Cores < 1 {
		return Prediction{}, fmt.Errorf("model: a machine needs at least one core, got %d", m.Cores)
	}
	if s.TotalDemand() <= 0 {
		return Prediction{}, fmt.Errorf("model: stage %s has no CPU per request in its record", s.Key)
	}
	if conns < 1 {
		return Prediction{}, fmt.Errorf("model: a closed network needs at least one request in circulation, got %d", conns)
	}
	x, at, err := s.layered(m, conns, z)
	if err != nil {
		return Prediction{}, err
	}
	p := Prediction{Connections: conns, X: x, Stretch: at}
	bounds := s.bounds(m)
	for _, b := range bounds {
		p.X = min(p.X, b.x)
	}
	closest := 0.0
	for _, b := range bounds {
		if u := p.X / b.x; u > closest {
			closest, p.Bottleneck = u, b.name
		}
	}
	p.R = float64(conns)/p.X - z
	return p, nil
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
