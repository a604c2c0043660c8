package model

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/scalelab/scalelab/bench/record"
	"github.com/scalelab/scalelab/stages"
)

// Options are what a model of a run is asked.
type Options struct {
	// Cores are the core counts of one shared machine to predict
	// (DefaultCores when empty).
	Cores []int
	// Deployment, when it names machines, is predicted too (--machines).
	Deployment Deployment
	// PagesPerDay are the days to plan machines for (DefaultPagesPerDay).
	PagesPerDay []float64
	// SLO is the latency goal of the plans (DefaultSLO).
	SLO SLO
	// Think is a user's think time between an answer and the next
	// request, in seconds, for the Users table (0: no table). The checks
	// against measurements never use it: scalelab load's connections
	// send their next request at once.
	Think float64
	// MachineCores is the cores of each machine in plans (0: the run's).
	MachineCores int
	// ServerCPUs and ClientCPUs are the CPU lists a pinned run gave its
	// servers and its load generator ("" when nothing was pinned).
	ServerCPUs, ClientCPUs string
}

// Defaults: the core counts, the talk's scale of days, and the
// lab's default latency goal.
var (
	DefaultCores       = []int{1, 2, 4, 8, 16, 32, 64}
	DefaultPagesPerDay = []float64{1e7, 1e8, 1e9}
	DefaultSLO         = SLO{Quantile: 99, Seconds: 0.1}
)

// Analysis is the model of every stage of a run.
type Analysis struct {
	// Machine is the measured run's machine as the model sees it (a
	// stage's check also takes off what other programs took of it, the
	// record's outsiders and steal, when the record has them).
	Machine Machine
	Options Options
	Stages  []StageModel
	// Overtake is the fewest cores at which the first balanced stage
	// without a cache (stage 3, Overtaker) answers more than the one app
	// process (stage 2, Overtaken): 0 when not within the cores predicted,
	// or when the run lacks one of them.
	Overtake             int
	Overtaker, Overtaken string
}

// StageModel is the model of one stage.
type StageModel struct {
	Stage
	// Check is the model's prediction of the measured run itself: the
	// same machine, the same connections.
	Check Check
	// SweepChecks are predictions of the sweep's points.
	SweepChecks []Check
	// ByCores is the capacity on one shared machine of each core count,
	// the load generator elsewhere.
	ByCores []CorePoint
	// Deployed is the capacity of Options.Deployment (zero without one).
	Deployed           float64
	DeployedBottleneck string
	Plans              []Plan
	// MaxPagesPerDay is what the stage could serve with any number of
	// machines (+Inf: no limit).
	MaxPagesPerDay float64
	// Users are predictions for users who think Options.Think between a
	// page and the next, on the run's own machine (none when Think is 0).
	Users []Prediction
}

// UserCounts are the populations of the Users table.
var UserCounts = []int{10, 100, 1000}

// Check is a prediction beside a measurement.
type Check struct {
	// Stage is the stage's key (in Against's checks).
	Stage               string
	Connections         int
	Measured, Predicted float64
	Bottleneck          string
	// Sweep marks a point of a sweep (in Against's checks).
	Sweep bool
	// CPURatio is how much more CPU the same work took during the
	// measurement than while the demands were measured, by the speed
	// probes (0: not probed); Predicted has the demands scaled by it,
	// Unscaled is the prediction without.
	CPURatio, Unscaled float64
	// Calibration marks the point the stage's Latency or Overlap was
	// measured at: the model agrees with it by construction, so it tests
	// nothing.
	Calibration bool
}

// Error is the prediction's error relative to the measurement: +0.15 is
// 15% above.
func (c Check) Error() float64 {
	if c.Measured <= 0 {
		return math.NaN()
	}
	return c.Predicted/c.Measured - 1
}

// RatioText writes CPURatio: "×1.35", or "–" when not probed.
func (c Check) RatioText() string {
	if c.CPURatio == 0 {
		return "–"
	}
	return fmt.Sprintf("×%.2f", c.CPURatio)
}

// ErrorText is the error as tables write it; the calibration point says
// that it is one.
func (c Check) ErrorText() string {
	if c.Calibration {
		return "the calibration"
	}
	return Percent(c.Error())
}

// CorePoint is a stage's capacity on a machine of Cores cores.
type CorePoint struct {
	Cores      int
	RPS        float64
	Bottleneck string
}

// Analyse models every stage of run.
func Analyse(run *record.Run, o Options) (*Analysis, error) {
	if len(o.Cores) == 0 {
		o.Cores = DefaultCores
	}
	if len(o.PagesPerDay) == 0 {
		o.PagesPerDay = DefaultPagesPerDay
	}
	if o.SLO == (SLO{}) {
		o.SLO = DefaultSLO
	}
	if o.MachineCores == 0 {
		o.MachineCores = max(1, run.Machine.Cores)
	}
	if o.Deployment.CoresPerMachine == 0 {
		o.Deployment.CoresPerMachine = o.MachineCores
	}
	m, err := measuredMachine(run, o)
	if err != nil {
		return nil, err
	}
	a := &Analysis{Machine: m, Options: o}
	for _, s := range Stages(run) {
		sm := StageModel{Stage: s, MaxPagesPerDay: math.Inf(1)}
		// The run itself, at its own speed: a ratio of 1 when probed.
		c, err := check(s, s.Speed, effective(s.Outside, m), s.Connections, s.RPS)
		if err != nil {
			return nil, err
		}
		sm.Check = c
		// Each point of a sweep on the machine as it was during that
		// point: other programs took a different share each time.
		for _, sp := range s.Sweep {
			c, err := check(s, sp.Speed, effective(sp.Outside, m), sp.Connections, sp.RPS)
			if err != nil {
				return nil, err
			}
			c.Calibration = s.Calibrated() && sp.Connections == 1
			sm.SweepChecks = append(sm.SweepChecks, c)
		}
		if o.Think > 0 {
			for _, n := range UserCounts {
				p, err := s.Predict(m, n, o.Think)
				if err != nil {
					return nil, err
				}
				sm.Users = append(sm.Users, p)
			}
		}
		for _, c := range o.Cores {
			x, b := s.Capacity(Machine{Cores: c, ClientCores: -1})
			sm.ByCores = append(sm.ByCores, CorePoint{c, x, b})
		}
		if len(o.Deployment.Machines) > 0 {
			sm.Deployed, sm.DeployedBottleneck = s.DeployedCapacity(o.Deployment)
		}
		for _, pd := range o.PagesPerDay {
			p := s.Plan(pd, o.SLO, o.MachineCores)
			sm.Plans = append(sm.Plans, p)
			sm.MaxPagesPerDay = p.MaxPagesPerDay
		}
		a.Stages = append(a.Stages, sm)
	}
	overtake(a)
	return a, nil
}

// measuredMachine is the run's machine: its cores shared by everything,
// or, for a pinned run, the servers' CPUs and the client's: as o names
// them, or else as the run's record does (lab --client-cpus records both).
func measuredMachine(run *record.Run, o Options) (Machine, error) {
	m := Machine{Cores: run.Machine.Cores}
	servers, client := o.ServerCPUs, o.ClientCPUs
	if servers == "" && client == "" {
		servers, client = run.Settings.ServerCPUs, run.Settings.ClientCPUs
	}
	sc, err := CPUCount(servers)
	if err != nil {
		return m, err
	}
	cc, err := CPUCount(client)
	if err != nil {
		return m, err
	}
	if sc > 0 {
		m.Cores = sc
	}
	if cc > 0 {
		m.ClientCores = cc
	}
	if m.Cores < 1 {
		return m, fmt.Errorf("model: the run's record names no cores (machine.cores is %d)", run.Machine.Cores)
	}
	return m, nil
}

// effective is the machine a stage was measured on, less what other
// programs and the hypervisor took of it while it was: predicting the
// measurement as if the stage had had the whole machine would blame the
// model for the noise.
func effective(lost float64, m Machine) Machine {
	m.Lost = lost
	return m
}

// overtake finds, from the stages table, the one-process stage (stage 2)
// and the first balanced stage without a cache (stage 3), and the fewest
// of the predicted core counts at which the second answers more.
func overtake(a *Analysis) {
	appServer, balanced := stages.ScaleOut()
	var one, many *StageModel
	for i := range a.Stages {
		s := &a.Stages[i]
		switch {
		case one == nil && s.Key == stages.Key(appServer.ID, false):
			one = s
		case many == nil && s.Key == stages.Key(balanced.ID, false):
			many = s
		}
	}
	if one == nil || many == nil {
		return
	}
	for i, p := range many.ByCores {
		if p.RPS > one.ByCores[i].RPS {
			a.Overtake, a.Overtaker, a.Overtaken = p.Cores, many.Key, one.Key
			return
		}
	}
}

// Moves says where a stage's bottleneck is and where it moves as cores
// are added: "the cores (all tiers) from 1 core, app (one process) from 2".
func (sm StageModel) Moves() []string {
	if len(sm.ByCores) == 0 {
		return nil
	}
	out := []string{fmt.Sprintf("%s from %d core%s", Name(sm.ByCores[0].Bottleneck), sm.ByCores[0].Cores, plural(sm.ByCores[0].Cores))}
	for i := 1; i < len(sm.ByCores); i++ {
		if a, b := sm.ByCores[i-1], sm.ByCores[i]; a.Bottleneck != b.Bottleneck {
			out = append(out, fmt.Sprintf("%s from %d", Name(b.Bottleneck), b.Cores))
		}
	}
	return out
}

// Name is a bottleneck as tables say it.
func Name(id string) string {
	switch id {
	case Cores:
		return "the cores (all tiers)"
	case record.CPUServe:
		return "app (one process)"
	case record.CPUClient:
		return "load generator"
	case record.CPUMemcached:
		return "memcached (2 threads)"
	}
	return id
}

// Assumptions are what every reader of the model's numbers must know.
func (a *Analysis) Assumptions() []string {
	var delays []string
	for _, s := range a.Stages {
		switch {
		case s.Latency > 0:
			delays = append(delays, fmt.Sprintf("a delay of %.0f µs for stage %s", s.Latency*1e6, s.Key))
		case s.Overlap > 0:
			delays = append(delays, fmt.Sprintf("%.0f%% of the CPU off the path for stage %s", 100*s.Overlap, s.Key))
		}
	}
	delay := "The run has no sweep point at one connection, so the model has no measure of the time a lone request spends outside every CPU counter (wake-ups, the loopback) or of the CPU it does not wait for: at few connections its error is larger (run with --sweep 1,4,16,64)."
	if len(delays) > 0 {
		delay = "The sweep's point at one connection calibrates the model: a lone request slower than its CPU per request spent the difference where no CPU counter sees it (wake-ups, the loopback), a delay in every prediction; one faster did not wait for all of that CPU (the kernel finishing a send, a collector on the other core), work off the request's path that takes cores but no time from a response. This run: " + strings.Join(delays, ", ") + "; that point agrees by construction and is no check."
	}
	speed := "The record has no speed probes (older than them): a check of a measurement taken while the machine was slower or faster blames the model for the difference."
	for _, s := range a.Stages {
		if s.Speed > 0 {
			speed = "Each measurement probes the machine's speed (the thread CPU time of a fixed piece of work, every half second): a check of a measurement taken at another speed than the demands scales them by the ratio (\"CPU ×1.30\"), since the same requests then cost that much more CPU."
			break
		}
	}
	return []string{
		speed,
		"Demands are the record's CPU per request at its connections; the model assumes they stay the same with more cores, more machines and other loads (no lock contention, no cache effects, no network between machines).",
		"A stage on one machine has two layers (the method of layers): the components' own queues, solved by exact MVA — stage 2's one process, an nginx worker per core, an app server per core each taking its share of requests, memcached's 2 threads — with each component's CPU stretched by the time its threads wait for a core, and the cores, which run at most as many threads at once as they number. At a few connections requests meet in one component's queue while a core idles; with many, the cores (or one component's threads) are the bound.",
		delay,
		"Machines needed: the fewest machines per tier that keep every tier below 100% busy and the model's p99 (an M/M/m tier's mean × ln 100) within the goal, at the day's average rate (no peak hour); the database tier is one primary that takes every write, and read replicas.",
	}
}

// WriteText prints the analysis as scalelab model does.
func WriteText(w io.Writer, a *Analysis) error {
	o := a.Options
	fmt.Fprintf(w, "The capacity model of this run (%d core%s", a.Machine.Cores, plural(a.Machine.Cores))
	if a.Machine.ClientCores > 0 {
		fmt.Fprintf(w, " for the servers, %d for the load generator", a.Machine.ClientCores)
	}
	fmt.Fprintf(w, "), from each stage's CPU per request.\n\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "stage\tmeasured req/s\tmodel req/s\terror\tbottleneck\t\n")
	for _, s := range a.Stages {
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%s\t%s\t\n", s.Key, s.Check.Measured, s.Check.Predicted, Percent(s.Check.Error()), Name(s.Check.Bottleneck))
	}
	tw.Flush()
	if e, at := a.LargestError(); at != "" {
		fmt.Fprintf(w, "The model's largest error against this run's measurements: %.0f%% (%s).\n", 100*e, at)
	}
	if sw := a.sweepLines(); len(sw) > 0 {
		fmt.Fprintf(w, "\nMVA against the measured sweep (req/s, model / measured, error):\n")
		for _, l := range sw {
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
	fmt.Fprintf(w, "\nPredicted req/s on one machine of N cores (the load generator elsewhere), and the bottleneck:\n\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "stage\t")
	for _, c := range o.Cores {
		fmt.Fprintf(tw, "%d\t", c)
	}
	fmt.Fprintf(tw, "\n")
	for _, s := range a.Stages {
		fmt.Fprintf(tw, "%s\t", s.Key)
		for _, p := range s.ByCores {
			fmt.Fprintf(tw, "%s\t", Short(p.RPS))
		}
		fmt.Fprintf(tw, "\n")
	}
	tw.Flush()
	for _, s := range a.Stages {
		fmt.Fprintf(w, "  %s: %s\n", s.Key, strings.Join(s.Moves(), ", "))
	}
	if a.Overtake > 0 {
		fmt.Fprintf(w, "Stage %s overtakes stage %s from %d cores.\n", a.Overtaker, a.Overtaken, a.Overtake)
	}
	if o.Think > 0 {
		fmt.Fprintf(w, "\nUsers who think %s between an answer and their next request, on this run's machine (req/s, mean response time, bottleneck):\n", Seconds(o.Think))
		for _, s := range a.Stages {
			var pts []string
			for _, p := range s.Users {
				pts = append(pts, fmt.Sprintf("%d users %s req/s in %s (%s)", p.Connections, Short(p.X), Seconds(p.R), Name(p.Bottleneck)))
			}
			fmt.Fprintf(w, "  %s: %s\n", s.Key, strings.Join(pts, ", "))
		}
	}
	if len(o.Deployment.Machines) > 0 {
		fmt.Fprintf(w, "\nThe deployment %s:\n", DeploymentString(o.Deployment))
		for _, s := range a.Stages {
			fmt.Fprintf(w, "  %s: %s req/s (%s page views a day), bottleneck %s\n", s.Key, Short(s.Deployed), Count(s.Deployed*s.ViewsPerRequest*86400), s.DeployedBottleneck)
		}
	}
	fmt.Fprintf(w, "\nMachines of %d cores per tier (nginx+app+db+memcached) for page views a day within p%g ≤ %s:\n\n", o.MachineCores, o.SLO.Quantile, Seconds(o.SLO.Seconds))
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "stage\t")
	for _, pd := range o.PagesPerDay {
		fmt.Fprintf(tw, "%s\t", Count(pd))
	}
	fmt.Fprintf(tw, "\n")
	for _, s := range a.Stages {
		fmt.Fprintf(tw, "%s\t", s.Key)
		for _, p := range s.Plans {
			fmt.Fprintf(tw, "%s\t", PlanCell(p))
		}
		fmt.Fprintf(tw, "\n")
	}
	tw.Flush()
	for _, s := range a.Stages {
		for _, p := range s.Plans {
			if p.Unreachable != "" {
				fmt.Fprintf(w, "  %s: %s\n", s.Key, p.Unreachable)
				break
			}
		}
	}
	fmt.Fprintf(w, "\n")
	for _, l := range a.Assumptions() {
		fmt.Fprintf(w, "- %s\n", l)
	}
	return nil
}

// LargestError is the model's largest error, in absolute value, against
// the run's own measurements (the main results and a sweep's points but
// the one its latency was measured at), and where it is ("" when nothing
// was checked).
func (a *Analysis) LargestError() (float64, string) {
	worst, at := 0.0, ""
	for _, s := range a.Stages {
		if e := math.Abs(s.Check.Error()); e >= worst {
			worst, at = e, "stage "+s.Key
		}
		for _, c := range s.SweepChecks {
			if e := math.Abs(c.Error()); e > worst && !c.Calibration {
				worst, at = e, fmt.Sprintf("stage %s at %d connections", s.Key, c.Connections)
			}
		}
	}
	return worst, at
}

// sweepLines are the sweep's checks, a line per stage.
func (a *Analysis) sweepLines() []string {
	var out []string
	for _, s := range a.Stages {
		if len(s.SweepChecks) == 0 {
			continue
		}
		var parts []string
		for _, c := range s.SweepChecks {
			p := fmt.Sprintf("%d conns %s/%s (%s", c.Connections, Short(c.Predicted), Short(c.Measured), c.ErrorText())
			if c.CPURatio != 0 && math.Abs(c.CPURatio-1) >= 0.005 {
				p += fmt.Sprintf("; CPU ×%.2f", c.CPURatio)
			}
			parts = append(parts, p+")")
		}
		out = append(out, s.Key+": "+strings.Join(parts, ", "))
	}
	return out
}

// PlanCell is a plan in a table cell: "1+3+2+1 = 7", or "—" when out of
// reach.
func PlanCell(p Plan) string {
	if p.Unreachable != "" {
		return "out of reach"
	}
	var parts []string
	for _, t := range TierNames {
		if n, ok := p.Machines[t]; ok {
			parts = append(parts, fmt.Sprintf("%d %s", n, t))
		}
	}
	return fmt.Sprintf("%d (%s)", p.Total, strings.Join(parts, ", "))
}

// DeploymentString writes a deployment as --machines takes it.
func DeploymentString(d Deployment) string {
	var parts []string
	for _, t := range TierNames {
		if n, ok := d.Machines[t]; ok {
			parts = append(parts, fmt.Sprintf("%s=%d", t, n))
		}
	}
	return strings.Join(parts, ",") + fmt.Sprintf(" of %d cores each", d.CoresPerMachine)
}

// ParseDeployment reads --machines: "app=4,db=2,nginx=1,memcached=1".
func ParseDeployment(s string) (map[string]int, error) {
	out := map[string]int{}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		var n int
		if _, err := fmt.Sscanf(v, "%d", &n); !ok || err != nil || n < 1 || fmt.Sprint(n) != strings.TrimSpace(v) {
			return nil, fmt.Errorf("--machines %q: write tier=N with N ≥ 1, tiers %s (app=4,db=2)", s, strings.Join(TierNames, ", "))
		}
		if !slices.Contains(TierNames, k) {
			return nil, fmt.Errorf("--machines: unknown tier %q (the tiers are %s)", k, strings.Join(TierNames, ", "))
		}
		out[k] = n
	}
	return out, nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// Percent writes an error: +15%, −3%.
func Percent(e float64) string {
	if math.IsNaN(e) {
		return "–"
	}
	return fmt.Sprintf("%+.0f%%", 100*e)
}

// Short writes req/s with a unit: 820, 8.6k, 1.2M.
func Short(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "∞"
	case v >= 1e6:
		return fmt.Sprintf("%.3gM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.3gk", v/1e3)
	}
	return fmt.Sprintf("%.3g", v)
}

// Against predicts another run from run's costs: each stage both measured,
// on other's machine (its cores, or the CPUs o names for its servers and
// its load generator) at other's connections, and each point of other's
// sweep, beside what other measured. It is how a 2-core run predicts a run
// whose servers had one core, and how a sweep is predicted with a delay
// measured in another run (see Stage.Latency) rather than its own.
func Against(run, other *record.Run, o Options) ([]Check, Machine, error) {
	m, err := measuredMachine(other, o)
	if err != nil {
		return nil, m, err
	}
	costs := map[string]Stage{}
	for _, s := range Stages(run) {
		costs[s.Key] = s
	}
	var out []Check
	for _, t := range Stages(other) {
		s, ok := costs[t.Key]
		if !ok {
			continue
		}
		c, err := check(s, t.Speed, effective(t.Outside, m), t.Connections, t.RPS)
		if err != nil {
			return nil, m, err
		}
		c.Stage = t.Key
		out = append(out, c)
		// The other run's sweep, every point of it a prediction: this
		// run's costs and delay, not the other's, are in the model.
		for _, sp := range t.Sweep {
			c, err := check(s, sp.Speed, effective(sp.Outside, m), sp.Connections, sp.RPS)
			if err != nil {
				return nil, m, err
			}
			c.Stage, c.Sweep = t.Key, true
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return nil, m, fmt.Errorf("model: the two runs have no stage in common with CPU per request")
	}
	return out, m, nil
}

// check predicts a measurement of measured req/s at conns connections on
// machine m, taken while the speed probe read speed: with the demands
// scaled to that speed, and, for the record, without; with no think time,
// as scalelab load sends.
func check(s Stage, speed float64, m Machine, conns int, measured float64) (Check, error) {
	at, r := s.At(speed)
	c := Check{Connections: conns, Measured: measured, CPURatio: r}
	for i, st := range []Stage{at, s} {
		p, err := st.Predict(m, max(1, conns), 0)
		if err != nil {
			return c, err
		}
		if i == 0 {
			c.Predicted, c.Bottleneck = p.X, p.Bottleneck
		} else {
			c.Unscaled = p.X
		}
	}
	return c, nil
}

// WriteAgainst prints Against's checks.
func WriteAgainst(w io.Writer, m Machine, checks []Check) error {
	fmt.Fprintf(w, "Predicted from the first run's CPU per request, on the second run's machine (%d core%s for the servers", m.Cores, plural(m.Cores))
	switch {
	case m.ClientCores > 0:
		fmt.Fprintf(w, ", %d for the load generator", m.ClientCores)
	default:
		fmt.Fprintf(w, ", shared with the load generator")
	}
	fmt.Fprintf(w, "):\n\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "stage\tconnections\tmeasured req/s\tmodel req/s\terror\tbottleneck\tCPU ratio\terror unscaled\t\n")
	worst := 0.0
	for _, c := range checks {
		conns := fmt.Sprint(c.Connections)
		if c.Sweep {
			conns += " (sweep)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t%.0f\t%s\t%s\t%s\t%s\t\n", c.Stage, conns, c.Measured, c.Predicted, Percent(c.Error()), Name(c.Bottleneck),
			c.RatioText(), Percent(c.Unscaled/c.Measured-1))
		if e := math.Abs(c.Error()); e > worst {
			worst = e
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "\nThe model's largest error here: %.0f%%.\n", 100*worst)
	fmt.Fprintf(w, "CPU ratio: how much more CPU time the machine's speed probe took during the measurement than while the costs were measured; the model scales the costs by it (\"error unscaled\": without). – : a record without probes.\n")
	return nil
}
