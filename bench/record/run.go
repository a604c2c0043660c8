package record

import (
	"fmt"
	"strconv"
	"time"
)

// A run's record — run.json, written by scalelab lab and bench — is a run
// of one or more stages, each measured with one or more tools. Its format
// lives here, beside the load generator's record it embeds, so that the
// report reads records without linking the code that makes them (the
// driver, the lab's servers, the database driver).
//
// One name for a rate everywhere: requests_per_s, as in a load record.

// RunVersion is the version of run.json's format. ReadRun reads this one
// and upgrades older ones; a newer one is refused with a clear error.
//
//   - 1: the first format (req/s as "rps", CPU components keyed by
//     sentences, the no-index variant as a "-noindex" suffix of the stage).
//   - 2: req/s as "requests_per_s" everywhere, CPU components keyed by
//     short ids (see CPUComponents), the no-index variant as "no_index".
const RunVersion = 2

// Run is a run of one or more stages: what run.json holds.
type Run struct {
	Version  int       `json:"version"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitzero"`
	// Complete is false while the run goes on, and after an interrupted
	// run: the stages it lists are the ones it finished.
	Complete bool        `json:"complete"`
	Machine  Machine     `json:"machine"`
	Commit   string      `json:"commit"`
	Settings RunSettings `json:"settings"`
	Results  []Result    `json:"results"`
	// Thresholds are the run's pass/fail criteria (--threshold), each
	// checked against every result it applies to.
	Thresholds []ThresholdCheck `json:"thresholds,omitempty"`
}

// ThresholdCheck is one pass/fail criterion (--threshold, as k6 has them)
// checked against one result or load: what was asked, what was measured,
// and whether it passed. A breached one makes the command exit 1 after the
// record is written.
type ThresholdCheck struct {
	// Expr is the criterion as given: "p99<100ms", "stage=4:rps>10000".
	Expr string `json:"expr"`
	// Stage, Page and Tool say which result it was checked against (empty
	// for a load record).
	Stage string `json:"stage,omitempty"`
	Page  string `json:"page,omitempty"`
	Tool  string `json:"tool,omitempty"`
	// Value is what was measured, in Unit: "ms" (a latency), "req/s",
	// "%" (errors in percent of the requests sent: 0.3 is 0.3%) or ""
	// (errors counted).
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
	Pass  bool    `json:"pass"`
	// Note says why a check failed without a value ("not measured").
	Note string `json:"note,omitempty"`
}

// String is the check on one line: "p99<100ms: stage 2 (scalelab load)
// 28.8 ms: pass".
func (c ThresholdCheck) String() string {
	who := ""
	if c.Stage != "" {
		who = " stage " + c.Stage
		if c.Page != "" {
			who += " " + c.Page
		}
		if c.Tool != "" {
			who += " (" + c.Tool + ")"
		}
	}
	got := c.Note
	if got == "" {
		got = strconv.FormatFloat(c.Value, 'f', -1, 64)
		switch c.Unit {
		case "":
		case "%":
			got += "%"
		default:
			got += " " + c.Unit
		}
	}
	verdict := "pass"
	if !c.Pass {
		verdict = "BREACHED"
	}
	return fmt.Sprintf("%s:%s %s: %s", c.Expr, who, got, verdict)
}

// Breached are the checks that did not pass.
func Breached(checks []ThresholdCheck) []ThresholdCheck {
	var out []ThresholdCheck
	for _, c := range checks {
		if !c.Pass {
			out = append(out, c)
		}
	}
	return out
}

// RunSettings are the run's options, as recorded.
type RunSettings struct {
	Stages      []string `json:"stages"`
	Users       int      `json:"users"`
	Photos      int64    `json:"photos"`
	Seed        uint64   `json:"seed"`
	Connections int      `json:"connections,omitempty"`
	Rate        float64  `json:"rate,omitempty"`
	DurationS   float64  `json:"duration_s"`
	WarmupS     float64  `json:"warmup_s"`
	Repeat      int      `json:"repeat"`
	Tools       []string `json:"tools,omitempty"`
	Workload    string   `json:"workload"`
	// Sweep are the connection counts of a concurrency sweep, if any.
	Sweep []int `json:"sweep,omitempty"`
	// Order is the order the measurements were taken in, when the run
	// measured its stages in interleaved rounds: "3#2" is stage 3's
	// measurement of round 2.
	Order []string `json:"order,omitempty"`
	// AppCost is the modelled app's CPU cost (--app-cpu, --app-start-cpu);
	// nil when the app was Go as it is (and in records made before it
	// could be modelled).
	AppCost *AppCost `json:"app_cost,omitempty"`
	// ClientCPUs are the CPUs the load generator (and ab, wrk) ran on,
	// ServerCPUs those left to every server the lab started
	// (--client-cpus, as the kernel lists them: "0", "1-3"); empty when
	// nothing was pinned.
	ClientCPUs string `json:"client_cpus,omitempty"`
	ServerCPUs string `json:"server_cpus,omitempty"`
	// Crossover are the app costs, in milliseconds of CPU a request, at
	// which a crossover run (lab --crossover) measured its stages: when
	// does a load balancer pay?
	Crossover []float64 `json:"crossover_app_cpu_ms,omitempty"`
}

// AppCost is a model of a costlier app, as GOMAXPROCS=1 is a model of the
// GIL: every request that reached an app process first burnt PerRequestMs
// of its thread's CPU time, and each app process burnt StartMs when it
// started (a CGI process on every request). The talk's Python: 7.2 ms and
// 36 ms, from its own figures (docs/talk-regime.md).
type AppCost struct {
	PerRequestMs float64 `json:"per_request_ms"`
	StartMs      float64 `json:"start_ms"`
}

// String is the model as captions and tables say it.
func (c *AppCost) String() string {
	if c == nil {
		return ""
	}
	return fmt.Sprintf("app modelled: %s ms CPU a request + %s ms at start", trimMs(c.PerRequestMs), trimMs(c.StartMs))
}

// trimMs prints a cost in milliseconds without trailing zeros: 7, 0.25.
func trimMs(v float64) string {
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// Machine is where the run was taken.
type Machine struct {
	Hostname  string `json:"hostname"`
	CPUModel  string `json:"cpu_model"`
	Cores     int    `json:"cores"`
	MemoryMB  int64  `json:"memory_mb"`
	Kernel    string `json:"kernel"`
	Go        string `json:"go"`
	Postgres  string `json:"postgresql"`
	Nginx     string `json:"nginx"`
	Memcached string `json:"memcached"`
}

// Result is one stage measured with one tool.
type Result struct {
	// Stage is the stage's id ("0" … "4", "1f"); NoIndex marks the stage
	// run without its secondary indexes.
	Stage   string `json:"stage"`
	NoIndex bool   `json:"no_index,omitempty"`
	Name    string `json:"name"`
	// Page is set for the baselines: static, dynamic or query.
	Page string `json:"page,omitempty"`
	Tool string `json:"tool"`
	// Target says what a foreign tool loaded (the built-in tool runs the
	// photo workload).
	Target      string  `json:"target,omitempty"`
	Connections int     `json:"connections,omitempty"`
	Rate        float64 `json:"rate,omitempty"`
	// Sweep marks a point of a concurrency sweep, made at Connections
	// beside the stage's main result; tables and speed-ups use the main
	// result.
	Sweep bool `json:"sweep,omitempty"`
	// Crossover marks a point of a crossover run (lab --crossover)
	// measured with the app modelled (AppCost); the same stage measured
	// with Go as it is is the stage's main result, which tables and
	// speed-ups use.
	Crossover bool    `json:"crossover,omitempty"`
	DurationS float64 `json:"duration_s"`
	Requests  int64   `json:"requests"`
	Errors    int64   `json:"errors"`
	// RPS is the median of the repeats' requests per second; RPSRuns are
	// the repeats themselves (the spread).
	RPS       float64   `json:"requests_per_s"`
	RPSRuns   []float64 `json:"requests_per_s_runs"`
	PageViews float64   `json:"page_views_per_s,omitempty"`
	P50Ms     float64   `json:"p50_ms"`
	P90Ms     float64   `json:"p90_ms"`
	P99Ms     float64   `json:"p99_ms"`
	P999Ms    float64   `json:"p99_9_ms"`
	MaxMs     float64   `json:"max_ms"`
	// ClientCPUS and ServerCPUS are CPU-seconds of the load generator and
	// of the stage's processes (serve and its children), summed over repeats.
	ClientCPUS float64 `json:"client_cpu_s"`
	ServerCPUS float64 `json:"server_cpu_s"`
	// Capacity is the stage's capacity at the latency goal (--find-capacity).
	Capacity *Capacity `json:"capacity,omitempty"`
	// Where says where the CPU went and what a page view cost in queries
	// and cache operations (built-in tool only).
	Where *Where `json:"where,omitempty"`
	// Fault is what an injected fault did (scalelab bench --fault).
	Fault *FaultReport `json:"fault,omitempty"`
	// Writes is the check for lost writes over the measured repeats
	// (built-in tool, with the database known).
	Writes *WriteCheck `json:"writes,omitempty"`
	// Stalls are the seconds in which the server (nearly) stopped
	// answering, from Records (built-in tool only; ReadRun fills them in
	// for runs recorded before they were).
	Stalls *Stalls `json:"stalls,omitempty"`
	// Warmups are the warm-ups before the measurements, one per round (a
	// stage measured in rounds is started and warmed up afresh in each);
	// runs recorded before steady-state warm-ups have none.
	Warmups []Warmup `json:"warmups,omitempty"`
	// Verification is "passed", "skipped" or the failure.
	Verification string `json:"verification"`
	// AppCost is the modelled app's cost this result was measured with
	// (see RunSettings.AppCost); nil: Go as it is.
	AppCost *AppCost `json:"app_cost,omitempty"`
	// TalkRPS is the talk's figure for this stage.
	TalkRPS float64 `json:"talk_requests_per_s,omitempty"`
	// Records are the load generator's records (with histograms), one per
	// repeat; foreign tools have none.
	Records []*Record `json:"records,omitempty"`
}

// Warmup is how one warm-up went. A warm-up loads the stage as the
// measurement will until its req/s is steady (see the driver) or its
// limit passes; a stage with a cache is first primed with the very visits
// the measurement will make, so that it is measured on a warm cache.
type Warmup struct {
	// Seconds the warm-up at the measured load took.
	Seconds float64 `json:"seconds"`
	// Settled says the req/s was steady when the warm-up ended; false
	// means the limit passed first, and the measurement may not be of a
	// steady state.
	Settled bool `json:"settled"`
	// RequestsPerS is the mean req/s of the warm-up's last steady windows
	// (of its last windows when it did not settle).
	RequestsPerS float64 `json:"requests_per_s"`
	// PrimeRequests and PrimeSeconds are the cache prime's, for a stage
	// with a cache (zero otherwise).
	PrimeRequests int64   `json:"prime_requests,omitempty"`
	PrimeSeconds  float64 `json:"prime_seconds,omitempty"`
}

// Settled reports whether every warm-up of x settled (true when x has
// none: nothing says otherwise).
func (x *Result) Settled() bool {
	for _, w := range x.Warmups {
		if !w.Settled {
			return false
		}
	}
	return true
}

// CPU components: the parts of a stage whose CPU time Where counts, by
// short stable ids (the report gives them display names).
const (
	CPUClient    = "client"    // the load generator
	CPUNginx     = "nginx"     // nginx's master and workers
	CPUApp       = "app"       // app servers behind nginx (stages 1f, 3, 4)
	CPUServe     = "serve"     // the serve process: CGI host and programs, stage 2's app server, stage 0's Go server
	CPUPostgres  = "postgres"  // postmaster and backends
	CPUMemcached = "memcached" // memcached
	CPUIdle      = "idle"      // cores × wall time used by nothing
)

// CPUComponents are the components in the order charts stack them.
var CPUComponents = []string{CPUClient, CPUNginx, CPUApp, CPUServe, CPUPostgres, CPUMemcached, CPUIdle}

// Where is what one stage's measurements say about where the time went,
// summed over the repeats.
type Where struct {
	// CPUS is CPU-seconds per component (CPUIdle: cores × wall time not
	// used by anything).
	CPUS map[string]float64 `json:"cpu_s"`
	// CPUUsPerRequest is CPU-microseconds per request per component.
	CPUUsPerRequest map[string]float64 `json:"cpu_us_per_request"`
	// SQLPerView is SQL statements per page view (-1: not measured, see Note).
	SQLPerView float64 `json:"sql_per_view"`
	// Memcached operations per page view.
	MCGetsPerView float64 `json:"memcached_gets_per_view"`
	MCHitsPerView float64 `json:"memcached_hits_per_view"`
	MCSetsPerView float64 `json:"memcached_sets_per_view"`
	Note          string  `json:"note,omitempty"`
	// MachineS is the machine's processor time over the measurements
	// (cores × wall time, from /proc/stat): what CPUS adds up to, give or
	// take the ticks /proc counts in, once OutsideCPUS and StealS are
	// added; 0 in records made before it was kept.
	MachineS float64 `json:"machine_cpu_s,omitempty"`
	// OutsideCPUS is the time the machine was busy with something other
	// than the stage and the load generator (another program, the tests of
	// another checkout): the noise of the measurements.
	OutsideCPUS float64 `json:"outside_cpu_s,omitempty"`
	// StealS is the time the hypervisor gave the machine's cores to other
	// machines.
	StealS float64 `json:"steal_s,omitempty"`
	// Noisy counts the measurements kept although outsiders and steal
	// took more than NoisyShare of the machine during them; Remeasured
	// counts the measurements taken again because of it.
	Noisy      int `json:"noisy,omitempty"`
	Remeasured int `json:"remeasured,omitempty"`
	// SpeedProbeMs is the median of the measurements' speed probes (see
	// CPU.SpeedProbeMs): how fast the machine was while the CPU per
	// request was measured. 0 in records made before it was kept.
	SpeedProbeMs float64 `json:"speed_probe_ms,omitempty"`
}

// SpeedProbeMs is the median of the speed probes of records (see
// CPU.SpeedProbeMs), 0 when none was probed.
func SpeedProbeMs(records []*Record) float64 {
	var v []float64
	for _, r := range records {
		if r != nil && r.Results.CPU.SpeedProbes > 0 {
			v = append(v, r.Results.CPU.SpeedProbeMs)
		}
	}
	return medianFloat(v)
}

// NoisyShare is the share of the machine that outsiders (and steal) may
// take during a measurement before it is flagged: above it, the stage did
// not have the machine to itself and its figures are lower than they
// should be, by an amount that cannot be told.
const NoisyShare = 0.10

// Noise is what the machine did besides the measured lab during one
// measurement, from the record's CPU (ok is false for a record with no
// machine account): outsiders' CPU (the machine's busy time less the
// client's and the watched processes'), steal, and cores × wall time.
func (c CPU) Noise() (outsideS, stealS, totalS float64, ok bool) {
	m := c.Machine
	if m == nil || m.TotalS <= 0 {
		return 0, 0, 0, false
	}
	lab := c.ClientUserS + c.ClientSysS
	for _, w := range c.Watched {
		lab += w.UserS + w.SysS
	}
	return max(0, m.BusyS-lab), m.StealS, m.TotalS, true
}

// IsNoisy says whether outsiders and steal took more than NoisyShare of
// the machine's totalS.
func IsNoisy(outsideS, stealS, totalS float64) bool {
	return totalS > 0 && outsideS+stealS > NoisyShare*totalS
}

// Warnings are what a reader of the stage's "where the time went" must
// know before trusting it, one sentence each.
func (w *Where) Warnings() []string {
	if w == nil {
		return nil
	}
	var out []string
	if w.Noisy > 0 {
		out = append(out, fmt.Sprintf("other processes took more than %.0f%% of the machine during %d measurement(s) (outsiders %.1f CPU-s, steal %.1f s of %.1f): the stage did not have the machine to itself",
			100*NoisyShare, w.Noisy, w.OutsideCPUS, w.StealS, w.MachineS))
	}
	if w.Remeasured > 0 {
		out = append(out, fmt.Sprintf("%d measurement(s) taken again because other processes took more than %.0f%% of the machine", w.Remeasured, 100*NoisyShare))
	}
	if w.Overcounted() {
		sum := 0.0
		for _, v := range w.CPUS {
			sum += v
		}
		out = append(out, fmt.Sprintf("the components and idle add up to %.1f CPU-s, more than the machine's %.1f: something is counted twice", sum, w.MachineS))
	}
	return out
}

// Overcounted says whether the components and idle add up to more than
// the machine had (5% allowed for the ticks /proc counts in): a sign the
// accounting counts something twice.
func (w *Where) Overcounted() bool {
	if w == nil || w.MachineS <= 0 {
		return false
	}
	sum := 0.0
	for _, v := range w.CPUS {
		sum += v
	}
	return sum > 1.05*w.MachineS
}

// FaultReport is what a fault did to a stage, read from the measurement's
// per-second timeline.
type FaultReport struct {
	Kind    string  `json:"kind"`
	AtS     float64 `json:"at_s"`
	ForS    float64 `json:"for_s"`
	DelayMs float64 `json:"delay_ms,omitempty"`
	// Events are what the injector did and saw, in seconds from the
	// measurement's start.
	Events []FaultEvent `json:"events"`
	// BeforeRPS is the median req/s answered without error in the whole
	// seconds before the fault; DipRPS the lowest of a whole second from the
	// fault on.
	BeforeRPS float64 `json:"before_requests_per_s"`
	DipRPS    float64 `json:"dip_requests_per_s"`
	// Errors are the errors (failed requests and 5xx) from the fault on;
	// WorstP99Ms is the highest per-second p99 from the fault on.
	Errors     int64   `json:"errors"`
	WorstP99Ms float64 `json:"worst_p99_ms"`
	// RecoveredS is how long after the fault ended (the kill, or the
	// service's return) throughput was back: three whole seconds in a row
	// with no errors and a mean of at least 80% of BeforeRPS; -1 if it was
	// not within the run.
	RecoveredS float64 `json:"recovered_s"`
}

// FaultEvent is one thing that happened during a fault.
type FaultEvent struct {
	T    float64 `json:"t"`
	What string  `json:"what"`
}

// WriteCheck is the check for lost writes over the measurements of a stage
// that posted comments: every comment the site acknowledged must be in the
// database exactly once and on its photo's page at the next read (so the
// cache was invalidated); no comment the site refused may be there.
// Comments that got no answer (the request failed, or the run ended while
// it was in flight) may or may not have been taken; they are counted, not
// judged.
type WriteCheck struct {
	Posted       int `json:"posted"`
	Acknowledged int `json:"acknowledged"`
	Refused      int `json:"refused"`
	Unanswered   int `json:"unanswered"`
	// Checked is how many writes were looked up in the database
	// (acknowledged and refused ones); PagesRead how many photo pages
	// were read to see the acknowledged comments.
	Checked   int `json:"checked"`
	PagesRead int `json:"pages_read"`
	// Lost, Duplicated, Unexpected (refused yet stored) and NotShown
	// (stored but missing from its page) are the failures.
	Lost       int `json:"lost"`
	Duplicated int `json:"duplicated"`
	Unexpected int `json:"unexpected"`
	NotShown   int `json:"not_shown"`
	// Problems describe the first few failures.
	Problems []string `json:"problems,omitempty"`
}

// OK reports whether no write was lost, doubled, wrongly stored or hidden.
func (c *WriteCheck) OK() bool {
	return c.Lost == 0 && c.Duplicated == 0 && c.Unexpected == 0 && c.NotShown == 0
}

func (c *WriteCheck) String() string {
	s := fmt.Sprintf("%d comments posted: %d acknowledged, %d refused, %d unanswered; %d checked in the database, %d pages read",
		c.Posted, c.Acknowledged, c.Refused, c.Unanswered, c.Checked, c.PagesRead)
	if !c.OK() {
		s += fmt.Sprintf("; LOST %d, DUPLICATED %d, STORED THOUGH REFUSED %d, NOT SHOWN %d", c.Lost, c.Duplicated, c.Unexpected, c.NotShown)
	}
	return s
}

// Problem notes a failure, keeping the first ten.
func (c *WriteCheck) Problem(format string, args ...any) {
	if len(c.Problems) < 10 {
		c.Problems = append(c.Problems, fmt.Sprintf(format, args...))
	}
}

// Add sums another measurement's check into c.
func (c *WriteCheck) Add(o *WriteCheck) {
	c.Posted += o.Posted
	c.Acknowledged += o.Acknowledged
	c.Refused += o.Refused
	c.Unanswered += o.Unanswered
	c.Checked += o.Checked
	c.PagesRead += o.PagesRead
	c.Lost += o.Lost
	c.Duplicated += o.Duplicated
	c.Unexpected += o.Unexpected
	c.NotShown += o.NotShown
	for _, p := range o.Problems {
		c.Problem("%s", p)
	}
}

// Trial is one step of a capacity search: a rate and what it did.
type Trial struct {
	Rate float64 `json:"rate"`
	// Achieved is the requests per second actually answered.
	Achieved float64 `json:"achieved_requests_per_s"`
	// LatencyMs is the goal's percentile of the latency, measured from each
	// request's due time (open loop).
	LatencyMs float64 `json:"latency_ms"`
	Errors    int64   `json:"errors"`
	Pass      bool    `json:"pass"`
	Confirm   bool    `json:"confirm,omitempty"`
}

// Capacity is a capacity search's answer: the highest rate that met the
// goal (confirmed by a longer run), and the curve of rate against the
// percentile.
type Capacity struct {
	SLO string `json:"slo"`
	// Rate is the capacity; zero if even the lowest rate tried failed.
	Rate float64 `json:"rate"`
	// AchievedRPS is the requests per second at that rate (more than Rate
	// with a workload: a page view brings its images).
	AchievedRPS float64 `json:"achieved_requests_per_s"`
	// PagesPerDay is Rate × 86,400: "even 40 req/s is 3.4 million pages a day".
	PagesPerDay float64 `json:"pages_per_day"`
	// AtLeast says the search stopped going up without ever failing: the
	// capacity is at least Rate (the load generator's limit, not the server's).
	AtLeast bool    `json:"at_least,omitempty"`
	Trials  []Trial `json:"trials"`
}
