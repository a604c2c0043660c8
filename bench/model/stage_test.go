package model

import (
	"math"
	"strings"
	"testing"

	"github.com/scalelab/scalelab/bench/record"
)

// doctored is a run of 2 cores with stages 2, 3 and 4 whose CPU per
// request is made up: stage 2's app 150 µs and PostgreSQL 50 µs, and so
// on; each page view brings ten requests.
func doctored() *record.Run {
	res := func(stage string, rps float64, us map[string]float64) record.Result {
		return record.Result{Stage: stage, Name: "s" + stage, Tool: "scalelab load", Connections: 32, RPS: rps, PageViews: rps / 10,
			Requests: int64(rps * 10), Where: &record.Where{CPUUsPerRequest: us, SQLPerView: 2}}
	}
	return &record.Run{Version: record.RunVersion, Machine: record.Machine{Cores: 2}, Results: []record.Result{
		res("4", 30000, map[string]float64{"client": 8, "nginx": 13, "app": 39, "postgres": 3, "memcached": 2, "idle": 1}),
		res("2", 6700, map[string]float64{"client": 18, "serve": 150, "postgres": 50, "memcached": 0.1}),
		res("3", 7400, map[string]float64{"client": 15, "nginx": 31, "app": 149, "postgres": 39, "memcached": 0.4}),
	}}
}

func TestStagesReadTheRecord(t *testing.T) {
	ss := Stages(doctored())
	if len(ss) != 3 || ss[0].Key != "2" || ss[1].Key != "3" || ss[2].Key != "4" {
		t.Fatalf("stages %v, want 2, 3, 4 in the talk's order", ss)
	}
	two := ss[0]
	if two.Demand("serve") != 150e-6 || two.Demand("postgres") != 50e-6 || two.Demand("idle") != 0 {
		t.Errorf("stage 2's demands %v", two.Tiers)
	}
	if two.Demand("memcached") != 0 {
		t.Errorf("stage 2 runs no memcached, yet it is a tier: %v", two.Tiers)
	}
	if two.ViewsPerRequest != 0.1 {
		t.Errorf("views per request %v, want 0.1", two.ViewsPerRequest)
	}
}

// The bottleneck law on the lab's constraints: stage 2's one process caps
// it at 1/150 µs whatever the cores; stage 3 is held by the cores they all
// share on a small machine; stage 4 runs into memcached's 2 threads.
func TestCapacityByCores(t *testing.T) {
	ss := Stages(doctored())
	two, three, four := ss[0], ss[1], ss[2]
	x, b := two.Capacity(Machine{Cores: 64, ClientCores: -1})
	if !near(x, 1/150e-6, 1e-6) || b != "serve" {
		t.Errorf("stage 2 on 64 cores: %v req/s, bottleneck %s; want 6,667, serve", x, b)
	}
	x, b = two.Capacity(Machine{Cores: 1, ClientCores: -1})
	if !near(x, 1/200e-6, 1e-6) || b != Cores {
		t.Errorf("stage 2 on 1 core: %v req/s, bottleneck %s; want 5,000, the cores", x, b)
	}
	x, b = three.Capacity(Machine{Cores: 4, ClientCores: -1})
	if !near(x, 4/219.4e-6, 1e-6) || b != Cores {
		t.Errorf("stage 3 on 4 cores: %v req/s, %s; want 4/219.4 µs, the cores", x, b)
	}
	if _, b = four.Capacity(Machine{Cores: 64, ClientCores: -1}); b != "memcached" {
		t.Errorf("stage 4 on 64 cores: bottleneck %s, want memcached (2 threads)", b)
	}
	a, err := Analyse(doctored(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Overtake != 2 {
		t.Errorf("stage 3 overtakes stage 2 at %d cores, want 2 (9.1k against 6.7k)", a.Overtake)
	}
	if mv := a.Stages[0].Moves(); len(mv) != 2 || !strings.Contains(mv[1], "from 2") {
		t.Errorf("stage 2's bottleneck moves %v, want the cores, then the app from 2 cores", mv)
	}
}

// The sweep's check appears only when the record has a sweep, and the
// error is stated against each measured point.
func TestSweepCheckActivatesWithASweep(t *testing.T) {
	run := doctored()
	a, _ := Analyse(run, Options{})
	for _, s := range a.Stages {
		if len(s.SweepChecks) != 0 {
			t.Fatalf("stage %s: sweep checks without a sweep", s.Key)
		}
	}
	for _, c := range []int{1, 4, 16, 64} {
		run.Results = append(run.Results, record.Result{Stage: "2", Tool: "scalelab load", Sweep: true, Connections: c, RPS: 5000,
			Where: &record.Where{CPUUsPerRequest: map[string]float64{"serve": 1}}})
	}
	a, _ = Analyse(run, Options{})
	two := a.Stages[0]
	if len(two.SweepChecks) != 4 {
		t.Fatalf("stage 2: %d sweep checks, want 4", len(two.SweepChecks))
	}
	// One connection: a lone request took 200 µs for 218 µs of CPU
	// (client included: it shares the 2 cores), so 8% of the CPU is off
	// its path; the model is fitted to that point, which agrees by
	// construction.
	one := two.SweepChecks[0]
	if f := 1 - 200.0/218; !near(two.Overlap, f, 1e-9) || two.Latency != 0 || !one.Calibration || !near(one.Predicted, 5000, 1e-6) {
		t.Errorf("1 connection: overlap %v, latency %v, check %+v; want %v, 0 and the calibration at 5,000", two.Overlap, two.Latency, one, f)
	}
	// 64 connections: the one process's path is the bound, and the
	// process waits for a core now and then while the others run.
	path := 150e-6 * 200 / 218
	if last := two.SweepChecks[3]; last.Predicted > 1/path*(1+1e-9) || last.Predicted < 0.85/path || last.Bottleneck != "serve" {
		t.Errorf("64 connections: predicted %v (%s), want under %v (the one process)", last.Predicted, last.Bottleneck, 1/path)
	}
}

// A pinned run: the servers on one core, the load generator on another.
// The 2-core run's costs predict it, stage by stage.
func TestAgainstAOneCoreRun(t *testing.T) {
	one := doctored()
	one.Machine.Cores = 2
	for i := range one.Results {
		one.Results[i].RPS /= 2
	}
	checks, m, err := Against(doctored(), one, Options{ServerCPUs: "1", ClientCPUs: "0"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Cores != 1 || m.ClientCores != 1 {
		t.Fatalf("machine %+v, want 1 server core and 1 client core", m)
	}
	want := map[string]float64{"2": 1 / 200e-6, "3": 1 / 219.4e-6, "4": 1 / 57e-6}
	for _, c := range checks {
		if w := want[c.Stage]; !near(c.Predicted, w, 1e-3*w) || c.Bottleneck != Cores {
			t.Errorf("stage %s: predicted %v (%s), want %v, the core", c.Stage, c.Predicted, c.Bottleneck, w)
		}
	}
	// A run pinned with lab --client-cpus records its CPUs: they are read
	// from it when no flag names them.
	one.Settings.ServerCPUs, one.Settings.ClientCPUs = "1", "0"
	if _, m, err := Against(doctored(), one, Options{}); err != nil || m.Cores != 1 || m.ClientCores != 1 {
		t.Errorf("from the record's CPUs: machine %+v, %v; want 1 server core and 1 client core", m, err)
	}
	if _, _, err := Against(doctored(), one, Options{ServerCPUs: "2-1"}); err == nil {
		t.Error("a CPU list 2-1 was taken")
	}
}

// Plans: stage 2's one process cannot serve a billion page views a day
// (it says how many it can), stage 4 can, with more app machines than a
// day of 10 million needs.
func TestPlans(t *testing.T) {
	ss := Stages(doctored())
	slo := DefaultSLO
	p := ss[0].Plan(1e9, slo, 16)
	if p.Unreachable == "" || !strings.Contains(p.Unreachable, "one app process") {
		t.Errorf("stage 2 for a billion: %+v, want out of reach", p)
	}
	if want := 1 / 150e-6 * 0.1 * 86400; !near(p.MaxPagesPerDay, want, 1e-6*want) {
		t.Errorf("stage 2 at most %v page views a day, want %v", p.MaxPagesPerDay, want)
	}
	small, big := ss[2].Plan(1e7, slo, 16), ss[2].Plan(1e9, slo, 16)
	if small.Unreachable != "" || big.Unreachable != "" {
		t.Fatalf("stage 4: %q %q", small.Unreachable, big.Unreachable)
	}
	// 1e9 a day: 115,741 req/s × 39 µs = 4.5 app cores: one 16-core machine.
	if big.Machines[TierApp] != 1 || big.RPS < 115000 || big.P > slo.Seconds {
		t.Errorf("stage 4 for a billion on 16 cores: %+v", big)
	}
	tiny := ss[2].Plan(1e9, slo, 1)
	if tiny.Machines[TierApp] != 5 || tiny.Total < small.Total {
		t.Errorf("stage 4 for a billion on 1-core machines: %+v, want 5 app machines", tiny)
	}
	if p := ss[2].Plan(1e7, SLO{99, 1e-6}, 16); !strings.Contains(p.Unreachable, "below the time the work itself takes") {
		t.Errorf("a 1 µs goal: %+v", p)
	}
}

func TestErlangR(t *testing.T) {
	// M/M/1: R = D/(1−ρ).
	if r := erlangR(Station{Demand: 1, Servers: 1}, 0.5); !near(r, 2, 1e-12) {
		t.Errorf("M/M/1 at ρ=0.5: %v, want 2", r)
	}
	// M/M/2 at ρ=0.5 (a = 1): C = 1/3, R = D + C·D/(m(1−ρ)) = 1 + 1/3.
	if r := erlangR(Station{Demand: 1, Servers: 2}, 1); !near(r, 4.0/3, 1e-12) {
		t.Errorf("M/M/2 at ρ=0.5: %v, want 4/3", r)
	}
	if r := erlangR(Station{Demand: 1, Servers: 2}, 2); !math.IsInf(r, 1) {
		t.Errorf("saturated: %v, want +Inf", r)
	}
}

func TestCPUCount(t *testing.T) {
	for in, want := range map[string]int{"": 0, "0": 1, "1-3": 3, "0,2-3": 3, " 5 ": 1} {
		if n, err := CPUCount(in); err != nil || n != want {
			t.Errorf("CPUCount(%q) = %d, %v; want %d", in, n, err, want)
		}
	}
	for _, bad := range []string{"a", "3-1", "-1", "1,,2"} {
		if _, err := CPUCount(bad); err == nil {
			t.Errorf("CPUCount(%q): no error", bad)
		}
	}
}

func TestParseDeployment(t *testing.T) {
	m, err := ParseDeployment("app=4,db=2")
	if err != nil || m[TierApp] != 4 || m[TierDB] != 2 {
		t.Errorf("%v %v", m, err)
	}
	for _, bad := range []string{"app", "app=0", "web=1", "app=1.5", "app=2x"} {
		if _, err := ParseDeployment(bad); err == nil {
			t.Errorf("ParseDeployment(%q): no error", bad)
		}
	}
}

// A measurement during which other programs took half the machine is
// predicted on the half they left: the model is not blamed for the noise.
func TestCheckTakesOffWhatOthersTook(t *testing.T) {
	quiet, _ := Analyse(doctored(), Options{})
	noisy := doctored()
	for i := range noisy.Results {
		w := noisy.Results[i].Where
		w.MachineS, w.OutsideCPUS = 20, 10
	}
	a, _ := Analyse(noisy, Options{})
	// Stage 3 is held by the cores: at 32 connections it fills the one
	// core's worth left, and it had nearly two.
	three := quiet.Stages[1]
	if q, n, one := three.Check.Predicted, a.Stages[1].Check.Predicted, 1/three.TotalDemand(); n > one*(1+1e-9) || n < 0.95*one || q < 1.8*one {
		t.Errorf("stage 3 on half a machine: %v, on all of it %v; want about %v, and about twice that", n, q, one)
	}
	// The predictions by cores are of a machine of one's own.
	if q, n := quiet.Stages[1].ByCores[3].RPS, a.Stages[1].ByCores[3].RPS; q != n {
		t.Errorf("stage 3 on 8 cores: %v with noise, %v without", n, q)
	}
}

func TestAFaultedResultIsNotModelled(t *testing.T) {
	run := doctored()
	run.Results[0].Fault = &record.FaultReport{Kind: "kill-instance"}
	if ss := Stages(run); len(ss) != 2 || ss[0].Key != "2" || ss[1].Key != "3" {
		t.Errorf("stages %v: want 2 and 3, stage 4 had a fault", ss)
	}
}

// Each point of a sweep is predicted on the machine as it was during that
// point, not during the main measurement.
func TestSweepPointsHaveTheirOwnNoise(t *testing.T) {
	run := doctored()
	for _, lost := range []float64{0, 10} {
		run.Results = append(run.Results, record.Result{Stage: "3", Tool: "scalelab load", Sweep: true, Connections: 64 + int(lost), RPS: 5000,
			Where: &record.Where{CPUUsPerRequest: map[string]float64{"app": 1}, MachineS: 20, OutsideCPUS: lost}})
	}
	a, _ := Analyse(run, Options{})
	pts := a.Stages[1].SweepChecks
	if len(pts) != 2 || !near(pts[1].Predicted, pts[0].Predicted/2, 0.03*pts[0].Predicted) {
		t.Errorf("sweep checks %+v: want the second, with half the machine taken, at half the first", pts)
	}
}

// A sweep point at one connection measures the time a lone request spends
// outside every CPU counter: 1/X − Σ D. It is a delay in every prediction
// from the run, so the one-connection check agrees by construction (and
// is marked so, and left out of the largest error), while the points
// above it are predicted with it.
func TestLatencyFromTheOneConnectionPoint(t *testing.T) {
	run := doctored()
	// Stage 2's demands add up to 218 µs; a lone request took 250 µs.
	for _, c := range []int{1, 4} {
		run.Results = append(run.Results, record.Result{Stage: "2", Tool: "scalelab load", Sweep: true, Connections: c, RPS: 4000,
			Where: &record.Where{CPUUsPerRequest: map[string]float64{"serve": 1}}})
	}
	a, err := Analyse(run, Options{})
	if err != nil {
		t.Fatal(err)
	}
	two := a.Stages[0]
	if !two.Calibrated() || !near(two.Latency, 32e-6, 1e-12) {
		t.Fatalf("stage 2's latency %v (calibrated %v), want 32 µs", two.Latency, two.Calibrated())
	}
	one, four := two.SweepChecks[0], two.SweepChecks[1]
	if !one.Calibration || !near(one.Predicted, 4000, 1e-6) || four.Calibration {
		t.Errorf("checks %+v %+v: want the first the calibration, at 4,000", one, four)
	}
	// A delay lowers the req/s below the cores' bound at a few
	// connections (stage 3, which no process of its own caps).
	bare := a.Stages[1].Stage
	delayed := bare
	delayed.Latency = 32e-6
	with, _ := delayed.Predict(Machine{Cores: 2}, 4, 0)
	without, _ := bare.Predict(Machine{Cores: 2}, 4, 0)
	if !(with.X < without.X) {
		t.Errorf("at 4 connections: %v req/s with the delay, %v without", with.X, without.X)
	}
	if _, at := a.LargestError(); strings.Contains(at, "at 1 connections") {
		t.Errorf("the largest error is the calibration point's: %s", at)
	}
	if !strings.Contains(strings.Join(a.Assumptions(), " "), "32 µs for stage 2") {
		t.Errorf("the assumptions do not state the delay: %v", a.Assumptions())
	}
	// A lone request faster than its demands gives no negative delay but
	// an overlap: the share of the CPU off the request's path (a lone
	// request in 160 µs for 218 µs of CPU), and the point is the
	// calibration still.
	run.Results[len(run.Results)-2].RPS = 6250
	a, _ = Analyse(run, Options{})
	if s := a.Stages[0]; s.Latency != 0 || !near(s.Overlap, 1-160.0/218, 1e-9) {
		t.Errorf("latency %v, overlap %v from a point faster than the demands, want 0 and %v", s.Latency, s.Overlap, 1-160.0/218)
	}
	if c := a.Stages[0].SweepChecks[0]; !c.Calibration || !near(c.Predicted, 6250, 1e-6) {
		t.Errorf("the one-connection point with an overlap: %+v, want the calibration at 6,250", c)
	}
}

// On one shared machine the components together never use more cores than
// it has: stage 4's components, each able to use both cores, still answer
// at most 2 / Σ D on 2 cores at any number of connections. Below that the
// layers show: a lone request waits for nothing (X = 1 / Σ D), two
// requests keep both cores busy only when they are in different app
// servers, so 2 connections give less than the cores' bound, and more
// than one core's; from 3 a thread may wait for a core.
func TestTheCoresBoundTheLayers(t *testing.T) {
	four := Stages(doctored())[2]
	bound := 2 / four.TotalDemand()
	var last float64
	for n := 1; n <= 64; n++ {
		p, err := four.Predict(Machine{Cores: 2}, n, 0)
		if err != nil {
			t.Fatal(err)
		}
		if p.X > bound*(1+1e-9) {
			t.Fatalf("%d connections: %v req/s, above the cores' %v", n, p.X, bound)
		}
		if p.X < last*(1-1e-9) {
			t.Errorf("%d connections: %v req/s, fewer than %v at one connection fewer", n, p.X, last)
		}
		last = p.X
		switch n {
		case 1:
			if !near(p.X, 1/four.TotalDemand(), 1e-9*p.X) || p.Stretch != 1 {
				t.Errorf("1 connection: %v req/s, stretch %v; want 1/ΣD, 1", p.X, p.Stretch)
			}
		case 2:
			// No more requests than cores: no thread waits for one.
			if !(p.X < 0.95*bound && p.X > 0.5*bound) || p.Stretch != 1 {
				t.Errorf("2 connections: %v req/s (stretch %v), want between one core's %v and the cores' %v, stretch 1", p.X, p.Stretch, bound/2, bound)
			}
		case 4:
			if p.Stretch <= 1 {
				t.Errorf("4 connections on 2 cores: stretch %v, want above 1", p.Stretch)
			}
		case 64:
			if p.X < 0.9*bound || p.Bottleneck != Cores {
				t.Errorf("64 connections: %v req/s (%s), want near the cores' %v", p.X, p.Bottleneck, bound)
			}
		}
	}
}

// Against predicts the other run's sweep too, with this run's delay: the
// other run's one-connection point is then a prediction, not the point
// its own delay was measured at.
func TestAgainstPredictsTheOtherSweep(t *testing.T) {
	base, other := doctored(), doctored()
	// The base measured a lone stage-4 request at 80 µs for 65 µs of CPU.
	base.Results = append(base.Results, record.Result{Stage: "4", Tool: "scalelab load", Sweep: true, Connections: 1, RPS: 12500,
		Where: &record.Where{CPUUsPerRequest: map[string]float64{"app": 1}}})
	for _, c := range []int{1, 4} {
		other.Results = append(other.Results, record.Result{Stage: "4", Tool: "scalelab load", Sweep: true, Connections: c, RPS: 10000,
			Where: &record.Where{CPUUsPerRequest: map[string]float64{"app": 1}}})
	}
	checks, _, err := Against(base, other, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var sweep []Check
	for _, c := range checks {
		if c.Sweep {
			sweep = append(sweep, c)
		}
	}
	if len(sweep) != 2 || sweep[0].Stage != "4" || sweep[0].Connections != 1 || sweep[1].Connections != 4 {
		t.Fatalf("sweep checks %+v, want stage 4 at 1 and 4 connections", sweep)
	}
	if c := sweep[0]; c.Calibration || !near(c.Predicted, 12500, 1e-6) || !near(c.Error(), 0.25, 1e-9) {
		t.Errorf("one connection: %+v, want 12,500 from the base's 15 µs delay, 25%% above the other's 10,000", c)
	}
	var b strings.Builder
	if err := WriteAgainst(&b, Machine{Cores: 2}, checks); err != nil || !strings.Contains(b.String(), "4 (sweep)") {
		t.Errorf("the table does not mark the sweep's points:\n%s", b.String())
	}
}

// A measurement taken while the machine's speed probe took 1.5× as long
// as when the costs were measured is predicted with 1.5× the demands: a
// stage the cores hold answers two thirds as many requests. The table
// says the ratio and the error without it.
func TestSpeedProbeScalesTheDemands(t *testing.T) {
	base, other := doctored(), doctored()
	for i := range base.Results {
		base.Results[i].Where.SpeedProbeMs = 1.6
		other.Results[i].Where.SpeedProbeMs = 2.4
	}
	checks, _, err := Against(base, other, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var three Check
	for _, c := range checks {
		if c.Stage == "3" {
			three = c
		}
	}
	if !near(three.CPURatio, 1.5, 1e-12) || !near(three.Predicted, three.Unscaled/1.5, 1e-6*three.Unscaled) {
		t.Errorf("stage 3: ratio %v, predicted %v, unscaled %v; want 1.5 and two thirds", three.CPURatio, three.Predicted, three.Unscaled)
	}
	var b strings.Builder
	if err := WriteAgainst(&b, Machine{Cores: 2}, checks); err != nil || !strings.Contains(b.String(), "×1.50") {
		t.Errorf("the table does not state the ratio:\n%s", b.String())
	}
	// Unprobed on either side: nothing is scaled, and the table says so.
	other.Results[2].Where.SpeedProbeMs = 0 // stage 3's
	checks, _, _ = Against(base, other, Options{})
	for _, c := range checks {
		if c.Stage == "3" && (c.CPURatio != 0 || c.Predicted != c.Unscaled || c.RatioText() != "–") {
			t.Errorf("stage 3 without a probe: %+v", c)
		}
	}
	// The delay is measured at the one-connection point's own speed: a
	// lone request at 1.5× the CPU leaves less time unaccounted for.
	one := doctored()
	one.Results[0].Where.SpeedProbeMs = 1.6 // stage 4's: 65 µs of demands
	one.Results = append(one.Results, record.Result{Stage: "4", Tool: "scalelab load", Sweep: true, Connections: 1, RPS: 1 / 120e-6,
		Where: &record.Where{CPUUsPerRequest: map[string]float64{"app": 1}, SpeedProbeMs: 2.4}})
	if l := Stages(one)[2].Latency; !near(l, 120e-6-1.5*65e-6, 1e-12) {
		t.Errorf("latency %v, want 120 µs less 1.5 × 65 µs", l)
	}
}

// A think time is for users, not for the checks: the loads had none, so
// the checks are the same with it, and it adds a table of 10, 100 and
// 1,000 users, each sending a request a second at most.
func TestThinkTimeIsForUsersNotChecks(t *testing.T) {
	without, err := Analyse(doctored(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	with, err := Analyse(doctored(), Options{Think: 1})
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range with.Stages {
		if s.Check != without.Stages[i].Check || len(without.Stages[i].Users) != 0 {
			t.Errorf("stage %s: check %+v with a think time, %+v without", s.Key, s.Check, without.Stages[i].Check)
		}
		if len(s.Users) != len(UserCounts) {
			t.Fatalf("stage %s: %d user points, want %d", s.Key, len(s.Users), len(UserCounts))
		}
		for _, p := range s.Users {
			// N users each wait 1 s and R: X = N / (1 + R) ≤ N.
			if p.X > float64(p.Connections) || !near(p.X, float64(p.Connections)/(1+p.R), 1e-9*p.X) {
				t.Errorf("stage %s, %d users: %v req/s in %v s", s.Key, p.Connections, p.X, p.R)
			}
		}
	}
	var b strings.Builder
	if err := WriteText(&b, with); err != nil || !strings.Contains(b.String(), "Users who think 1 s") || !strings.Contains(b.String(), "1000 users") {
		t.Errorf("the text lacks the users' table:\n%s", b.String())
	}
}
