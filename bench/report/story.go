package report

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/scalelab/scalelab/bench/record"
	"github.com/scalelab/scalelab/stages"
)

// BuiltinTool is the tool name of the lab's own load generator: charts
// draw its results, tables list every tool's.
const BuiltinTool = "scalelab load"

// TalkStage1 is the talk's CGI figure, the base of the talk's speed-ups.
var TalkStage1 = stages.Base().Talk

// talkAB is what the talk measured with ab instead of its own tool (at the
// cached stage): the tool changes the answer.
var talkAB = func() float64 {
	for _, st := range stages.All {
		if st.TalkAB > 0 {
			return st.TalkAB
		}
	}
	return 0
}()

// chapter is what the report tells about a stage: what changed from the
// stage before and the bottleneck it exposed (the stages' table has both).
type chapter struct {
	changed, bottleneck string
}

// chapterOf is the chapter of the stage with this key ("4", "4-noindex").
func chapterOf(key string) chapter {
	id, noIndex := stages.ParseKey(key)
	st, ok := stages.Find(id)
	switch {
	case noIndex && id == stages.NoIndex.Stage:
		return chapter{stages.NoIndex.Changed, stages.NoIndex.Bottleneck}
	case ok && !noIndex:
		return chapter{st.Changed, st.Bottleneck}
	}
	return chapter{}
}

// isBaseline says whether a result is one of stage 0's baselines.
func isBaseline(x *record.Result) bool { return isBaselineKey(x.Stage) }

func isBaselineKey(key string) bool {
	st, ok := stages.Find(key)
	return ok && st.Process == stages.Baselines
}

// isTalksNoIndex says whether a key is the talk's stage without its index
// (the talk's last lesson), as opposed to another stage run without it.
func isTalksNoIndex(key string) bool {
	id, noIndex := stages.ParseKey(key)
	return noIndex && id == stages.NoIndex.Stage
}

// pageNames are how the baselines are named on charts and in tables.
var pageNames = map[string]string{
	"static":  "static file (nginx)",
	"dynamic": "dynamic page, no DB",
	"query":   "one indexed query",
}

// stageOrder is the position of a stage in the talk, for sorting results
// the way the lab runs them: the table's order, a stage's no-index variant
// right after it; unknown stages go last.
func stageOrder(key string) int {
	id, noIndex := stages.ParseKey(key)
	for i, s := range stages.All {
		if s.ID == id {
			if noIndex {
				return 2*i + 1
			}
			return 2 * i
		}
	}
	return 2 * len(stages.All)
}

// talkRPS is the talk's figure for a result: its own tool's, or ab's at
// the cached stage.
func talkRPS(x *record.Result) float64 {
	if x.Tool == "ab" {
		return stages.TalkFor(x.Key(), "ab")
	}
	if x.Tool != BuiltinTool {
		return 0
	}
	if x.TalkRPS > 0 {
		return x.TalkRPS
	}
	return stages.TalkFor(x.Key(), "")
}

// stageResults returns the main results of the site's stages (not the
// baselines, not the points of a sweep or a crossover) measured with tool,
// in the talk's order.
func stageResults(run *record.Run, tool string) []*record.Result {
	var out []*record.Result
	for i := range run.Results {
		x := &run.Results[i]
		if x.Tool == tool && x.Page == "" && !isBaseline(x) && !x.Sweep && !x.Crossover {
			out = append(out, x)
		}
	}
	slices.SortStableFunc(out, func(a, b *record.Result) int { return stageOrder(a.Key()) - stageOrder(b.Key()) })
	return out
}

// baselines returns stage 0's results in the order static, dynamic, query.
func baselines(run *record.Run) []*record.Result {
	var out []*record.Result
	for _, page := range []string{"static", "dynamic", "query"} {
		for i := range run.Results {
			if x := &run.Results[i]; isBaseline(x) && x.Page == page && x.Tool == BuiltinTool && !x.Sweep {
				out = append(out, x)
			}
		}
	}
	return out
}

// label names a result on a chart: "1 CGI", or the baseline's page.
func label(x *record.Result) string {
	if x.Page != "" {
		if n, ok := pageNames[x.Page]; ok {
			return n
		}
		return x.Page
	}
	return x.Key() + " " + x.Name
}

// spread is the range of a result's repeats (zero with fewer than two).
func spread(x *record.Result) (lo, hi float64) {
	var runs []float64
	for _, v := range x.RPSRuns {
		if v > 0 {
			runs = append(runs, v)
		}
	}
	if len(runs) < 2 {
		return 0, 0
	}
	return slices.Min(runs), slices.Max(runs)
}

// mergedHist adds up a result's latency histograms over its repeats: the
// distribution of every request measured, not an average of percentiles.
func mergedHist(x *record.Result) *record.Hist {
	h := record.NewHist()
	for _, r := range x.Records {
		h.Merge(r.Results.Latency.Hist)
	}
	if h.TotalCount() == 0 {
		return nil
	}
	return h
}

// caption says where and when a run was taken, under every chart: a chart
// copied into a slide keeps its provenance.
func caption(run *record.Run) string {
	m := run.Machine
	parts := []string{m.Hostname}
	machine := m.CPUModel
	if m.Cores > 0 {
		machine += fmt.Sprintf(", %d cores", m.Cores)
	}
	if m.MemoryMB > 0 {
		machine += fmt.Sprintf(", %.0f GB", float64(m.MemoryMB)/1024)
	}
	parts = append(parts, strings.TrimPrefix(machine, ", "))
	if !run.Started.IsZero() {
		parts = append(parts, run.Started.UTC().Format("2006-01-02 15:04 UTC"))
	}
	parts = append(parts, settingsLine(run))
	if c := run.Commit; c != "" && c != "unknown" {
		parts = append(parts, "scalelab "+shortCommit(c))
	}
	line := strings.Join(nonEmpty(parts), "  ·  ")
	if m := modelLine(run); m != "" {
		line += "\n" + m
	}
	return line
}

func settingsLine(run *record.Run) string {
	s := run.Settings
	load := fmt.Sprintf("%d connections", s.Connections)
	if s.Rate > 0 {
		load = fmt.Sprintf("%s req/s open loop", num(s.Rate))
	}
	return fmt.Sprintf("%s users, %s, %d × %s s per stage", num(float64(s.Users)), load, max(s.Repeat, 1), trim(s.DurationS))
}

// modelLine says the models and the pinning a run was made with, "" for
// none: they change what the numbers mean, so a chart copied into a slide
// says them, as it says the machine.
func modelLine(run *record.Run) string {
	s := run.Settings
	var parts []string
	if c := s.AppCost; c != nil {
		parts = append(parts, c.String()+" (every stage of the site; a model of the talk's Python, as GOMAXPROCS=1 is of its GIL)")
	}
	if len(s.Crossover) > 0 {
		var cs []string
		for _, c := range s.Crossover {
			cs = append(cs, trimFloatMs(c))
		}
		parts = append(parts, "crossover: each stage with the app costing "+strings.Join(cs, ", ")+" ms of CPU a request")
	}
	if s.ClientCPUs != "" {
		parts = append(parts, fmt.Sprintf("load generator pinned to CPU %s, servers to CPU %s", s.ClientCPUs, s.ServerCPUs))
	}
	return strings.Join(parts, "  ·  ")
}

func shortCommit(c string) string {
	dirty := strings.HasSuffix(c, "-dirty")
	c = strings.TrimSuffix(c, "-dirty")
	if len(c) > 7 {
		c = c[:7]
	}
	if dirty {
		c += " (uncommitted changes)"
	}
	return c
}

func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	return out
}

// num formats a count or rate with thousands separators: 3,400,000.
func num(f float64) string {
	neg := f < 0
	if neg {
		f = -f
	}
	s := fmt.Sprintf("%.0f", f)
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// perDay says how many a day a rate is, the talk's way of making a rate
// tangible ("even 40 req/s is 3.4 million pages a day").
func perDay(rps float64) string {
	d := rps * 86400
	switch {
	case d >= 1e9:
		return fmt.Sprintf("%.1f billion", d/1e9)
	case d >= 1e6:
		return fmt.Sprintf("%.1f million", d/1e6)
	}
	return num(d)
}

// warnings are what a reader must know before trusting a result, one
// sentence each: the records' own warnings (a saturated client, errors),
// failed verification, seconds in which the server stalled, and no
// measurement at all.
func warnings(x *record.Result) []string {
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	if v := x.Verification; v != "" && v != "passed" && v != "skipped" {
		add("verification failed, so the stage was not measured: " + v)
	} else if v == "skipped" {
		add("verification was skipped (bench --no-verify, or a run made of merged records by merge --run): the pages were not checked")
	}
	if x.Errors > 0 {
		add(fmt.Sprintf("%s errors in %s requests", num(float64(x.Errors)), num(float64(x.Requests))))
	}
	for i, r := range x.Records {
		for _, w := range r.Warnings() {
			if len(x.Records) > 1 {
				w = fmt.Sprintf("repeat %d: %s", i+1, w)
			}
			add(w)
		}
	}
	if w := stallWarning(stallsOf(x)); w != "" {
		add(w)
	}
	for i, w := range x.Warmups {
		if !w.Settled {
			round := ""
			if len(x.Warmups) > 1 {
				round = fmt.Sprintf(" of round %d", i+1)
			}
			add(fmt.Sprintf("the warm-up%s did not settle in %.0f s (its req/s still moved by more than 5%% a second; last at %s req/s): that measurement may not be of a steady state",
				round, w.Seconds, num(w.RequestsPerS)))
		}
	}
	if x.RPS == 0 && (x.Verification == "passed" || x.Verification == "skipped") {
		add("no throughput was measured")
	}
	return out
}

// runWarnings are warnings about the run as a whole.
func runWarnings(run *record.Run) []string {
	out := thresholdWarnings(run)
	if !run.Complete {
		out = append(out, "the run is incomplete (interrupted, or a stage failed): only the stages listed were measured")
	}
	have := map[string]bool{}
	for _, x := range run.Results {
		have[x.Key()] = true
	}
	for _, s := range run.Settings.Stages {
		if !have[s] {
			out = append(out, fmt.Sprintf("stage %s has no result", s))
		}
	}
	if strings.HasSuffix(run.Commit, "-dirty") {
		out = append(out, "the run was made from a working tree with uncommitted changes")
	}
	return out
}

// trimFloatMs prints a cost in ms without trailing zeros: 0.25, 8.
func trimFloatMs(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
