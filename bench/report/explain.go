package report

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/scalelab/scalelab/bench/model"
	"github.com/scalelab/scalelab/bench/record"
	"github.com/scalelab/scalelab/stages"
)

// Why a step differs from the talk's. A teacher who puts this run's chart
// on a slide must not see the talk's lesson inverted without a word: so
// wherever a stage gains less than the talk's step, or loses to the stage
// before, the report (and the terminal, after the table) says why, in
// sentences built from this run's own record — the machine's cores, its
// idle share, each component's CPU per request, the app's modelled cost —
// and says what would change it. No sentence carries a number of its own:
// explain_test.go feeds doctored records and checks the words follow them.

// ShortOfTheTalk is how much of the talk's step a stage may reach
// without a word: a step within a tenth of the talk's is the talk's, give
// or take the noise of a shared machine.
const ShortOfTheTalk = 0.9

// Explanation is one stage's step explained.
type Explanation struct {
	// Stage is the result's key ("3"); Text one or a few sentences.
	Stage, Text string
}

// Explanations are the run's steps that need a word, in the talk's order,
// after a line that puts a modelled run's req/s beside the talk's own.
func Explanations(run *record.Run) []Explanation {
	var out []Explanation
	if line := talkBeside(run); line != "" {
		out = append(out, Explanation{Text: line})
	}
	if len(run.Settings.Crossover) > 0 {
		if line := breakEvenText(run); line != "" {
			out = append(out, Explanation{Text: line})
		}
	}
	xs := stageResults(run, BuiltinTool)
	var prev *record.Result
	for _, x := range xs {
		p := prev
		if talkRPS(x) > 0 {
			prev = x
		}
		if p == nil || p.RPS <= 0 || x.RPS <= 0 || x.NoIndex || !verifiedOK(x) {
			continue
		}
		gain, talkGain := x.RPS/p.RPS, 0.0
		if t, tp := talkRPS(x), talkRPS(p); t > 0 && tp > 0 {
			talkGain = t / tp
		}
		if gain >= 1 && (talkGain == 0 || gain >= ShortOfTheTalk*talkGain) {
			continue
		}
		if text := explainStep(run, x, p, gain, talkGain); text != "" {
			out = append(out, Explanation{Stage: x.Key(), Text: text})
		}
	}
	return out
}

func verifiedOK(x *record.Result) bool {
	return x.Verification == "passed" || x.Verification == "skipped"
}

// talkBeside is, for a run with the app modelled on the talk's Python,
// this machine's req/s beside the talk's own, stage by stage: in that
// regime the absolute numbers compare, not only the shape.
func talkBeside(run *record.Run) string {
	if run.Settings.AppCost == nil {
		return ""
	}
	var parts []string
	for _, x := range stageResults(run, BuiltinTool) {
		t := talkRPS(x)
		if t <= 0 || x.RPS <= 0 {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %s req/s (the talk: %s, %+.0f%%)", longName(x), fmtRPS(x.RPS), fmtRPS(t), 100*(x.RPS/t-1)))
	}
	if len(parts) == 0 {
		return ""
	}
	return fmt.Sprintf("With the app modelled (%s), this machine's requests per second stand beside the talk's own: %s.",
		strings.TrimPrefix(run.Settings.AppCost.String(), "app modelled: "), strings.Join(parts, "; "))
}

// cpuStory is what a result's record says of its CPU: the machine's idle
// share, the CPU a request took in all and by component, the app's part.
type cpuStory struct {
	idle      float64 // share of the machine's processor time, 0–1
	totalUs   float64 // CPU µs per request, every component
	clientUs  float64 // of it the load generator's
	appUs     float64 // of it the app's (app servers, or serve's own process)
	parts     string  // "app servers 104 µs, nginx 49 µs, …"
	busyCores float64 // cores' worth of CPU the lab kept busy
}

func storyOf(run *record.Run, x *record.Result) (cpuStory, bool) {
	w := x.Where
	if w == nil || len(w.CPUUsPerRequest) == 0 {
		return cpuStory{}, false
	}
	var s cpuStory
	type part struct {
		name string
		us   float64
	}
	var ps []part
	for _, c := range record.CPUComponents {
		us := w.CPUUsPerRequest[c]
		if c == record.CPUIdle || us < 0.5 {
			continue
		}
		s.totalUs += us
		if c == record.CPUClient {
			s.clientUs = us
		}
		if c == record.CPUApp || c == record.CPUServe {
			s.appUs += us
		}
		ps = append(ps, part{shortComponent(c), us})
	}
	slices.SortStableFunc(ps, func(a, b part) int { return cmp.Compare(b.us, a.us) })
	var words []string
	for _, p := range ps {
		words = append(words, fmt.Sprintf("%s %s µs", p.name, num(p.us)))
	}
	s.parts = strings.Join(words, ", ")
	if m := machineOf(w); m > 0 {
		s.idle = w.CPUS[record.CPUIdle] / m
		s.busyCores = (1 - s.idle) * float64(run.Machine.Cores)
	}
	return s, s.totalUs > 0
}

// explainStep says why x gained gain over p where the talk's step was
// talkGain (zero: the talk had none).
func explainStep(run *record.Run, x, p *record.Result, gain, talkGain float64) string {
	st, _ := stages.Find(x.Stage)
	pst, _ := stages.Find(p.Stage)
	xs, ok := storyOf(run, x)
	if !ok {
		return ""
	}
	cores := run.Machine.Cores
	var b strings.Builder
	fmt.Fprintf(&b, "%s served %s the requests per second of %s", capitalise(longName(x)), fmtTimes(gain), longName(p))
	if talkGain > 0 {
		fmt.Fprintf(&b, " (the talk's step: %s)", fmtTimes(talkGain))
	}
	b.WriteString(". ")
	model := run.Settings.AppCost
	switch {
	case pst.Process == stages.CGIHost && (st.Process == stages.AppServer || st.Process == stages.FastCGI):
		// The step from CGI to one long-running process: CGI's processes
		// run on every core, a GIL-bound app server on one.
		ps, ok := storyOf(run, p)
		if !ok {
			return ""
		}
		fmt.Fprintf(&b, "%s's processes kept %s of this machine's %d cores busy (%s µs of CPU a request), while %s, one process held to one core by GOMAXPROCS=1 (the GIL), kept %s busy at %s µs a request (%s).",
			capitalise(longName(p)), trimCores(ps.busyCores), cores, num(ps.totalUs), longName(x), trimCores(xs.busyCores), num(xs.totalUs), xs.parts)
		b.WriteString(" More cores widen this gap, since CGI uses them all and the app server one; a costlier app start-up widens it too.")
	case st.Process == stages.Balanced && !st.Cache && pst.Process == stages.AppServer:
		// The talk's scaling out: it pays only if the app is most of
		// what a request costs.
		// The machine's ceiling at this cost per request: all its cores
		// busy with nothing else.
		if n, ok := serverCores(run); ok {
			// Pinned: the servers had n cores and the load generator its
			// own, so the ceiling is the servers' alone, and the machine's
			// idle share (the load generator's core half idle) says
			// nothing of them.
			ceiling := float64(n) * 1e6 / (xs.totalUs - xs.clientUs)
			fmt.Fprintf(&b, "It spreads the app over several app servers behind nginx, but a request cost %s µs of CPU in all (%s), of which the app's own work was %s µs: at that cost the %d %s the servers were pinned to (the load generator had its own) serve at most %s req/s, only %s what %s already served with one core.",
				num(xs.totalUs), xs.parts, num(xs.appUs), n, plural(n, "core"), fmtRPS(ceiling), fmtTimes(ceiling/p.RPS), longName(p))
		} else {
			ceiling := float64(cores) * 1e6 / xs.totalUs
			fmt.Fprintf(&b, "It spreads the app over several app servers behind nginx, but a request cost %s µs of CPU in all (%s), of which the app's own work was %s µs: at that cost this machine's %d cores serve at most %s req/s, only %s what %s already served with one core, and they were %s idle.",
				num(xs.totalUs), xs.parts, num(xs.appUs), cores, fmtRPS(ceiling), fmtTimes(ceiling/p.RPS), longName(p), pct(xs.idle))
		}
		b.WriteString(" The balancer, the sessions in memcached, the database and the load generator share the app servers' cores.")
		if be, ok := breakEven(run); ok && !be.Never && be.CostMs > 0 && model == nil {
			fmt.Fprintf(&b, " By these figures it starts to win from an app cost of about %s ms of CPU a request.", trimFloat(math.Round(be.CostMs*100)/100))
		}
		b.WriteString(" " + whatWouldChange(model))
	default:
		if n, ok := serverCores(run); ok {
			fmt.Fprintf(&b, "With the servers pinned to %d %s and the load generator to its own, a request cost %s µs of CPU: %s.", n, plural(n, "core"), num(xs.totalUs), xs.parts)
		} else {
			fmt.Fprintf(&b, "On this machine's %d cores (%s idle) a request cost %s µs of CPU: %s.", cores, pct(xs.idle), num(xs.totalUs), xs.parts)
		}
		if model == nil {
			b.WriteString(" The app here is Go, far cheaper per request than the talk's Python, so the app's work a stage saves is worth less than in 2007: a costlier app (make lab-talk models the talk's Python) or more cores change the balance.")
		} else {
			fmt.Fprintf(&b, " The app was modelled at %s ms of CPU a request; a costlier app, or more cores, change the balance.", trimFloat(model.PerRequestMs))
		}
	}
	return b.String()
}

// serverCores is how many CPUs a pinned run (--client-cpus) left its
// servers; ok is false for a run that pinned nothing.
func serverCores(run *record.Run) (int, bool) {
	n, err := model.CPUCount(run.Settings.ServerCPUs)
	return n, err == nil && n > 0
}

// whatWouldChange points at what makes the app's share, and so the
// load balancer's gain, larger.
func whatWouldChange(model *record.AppCost) string {
	balanced := balancedStage()
	if model == nil {
		return fmt.Sprintf("The app here is Go, far cheaper per request than the talk's Python, so nginx, memcached, PostgreSQL and the load generator weigh as much as the app: more cores, or a costlier app (make lab-talk models the talk's Python), make the app most of the work and %s pay — the crossover chart (scalelab lab --crossover) shows from which cost of the app it wins.", balanced)
	}
	return fmt.Sprintf("The app was modelled at %s ms of CPU a request: more cores, or a costlier app, make the app more of the work and widen the step — the crossover chart (scalelab lab --crossover) shows from which cost of the app %s wins.",
		trimFloat(model.PerRequestMs), balanced)
}

// balancedStage names the talk's scaling-out stage (stages.ScaleOut).
func balancedStage() string {
	if _, st := stages.ScaleOut(); st.ID != "" {
		return "stage " + st.ID
	}
	return "the load-balanced stage"
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// trimCores says a number of cores' worth of CPU: "1.8".
func trimCores(v float64) string { return fmt.Sprintf("%.1f", v) }

func trimFloat(v float64) string {
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", v), "0"), ".")
}
