package report

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"golang.org/x/perf/benchmath"
	"gonum.org/v1/plot/vg/draw"

	"github.com/scalelab/scalelab/bench/record"
)

// Alpha is the significance level of the comparison of two runs: a
// difference with p < Alpha is reported as beyond the runs' noise, as
// benchstat does.
const Alpha = 0.05

// Comparison is one stage (with one tool) as measured by two runs.
type Comparison struct {
	// Stage, Page and Tool identify what was measured; Label names it.
	Stage, Page, Tool, Label string
	// A and B are the two runs' results; either may be nil when only one
	// run measured it.
	A, B *record.Result
	// Ratio is B's median req/s over A's.
	Ratio float64
	// Beyond says the difference is beyond the runs' noise, by Method:
	// "Mann-Whitney U, p=0.029" when the repeats are enough for the test
	// to reach p < Alpha, else "ranges apart" or "ranges overlap" (the
	// repeats' min-max ranges).
	Beyond bool
	// Unknown says nothing can be said of the noise: a run has a single
	// measurement (Method says so). The difference is then neither beyond
	// nor within it.
	Unknown bool
	Method  string
}

// Regression says whether B is slower than A by more than share (0.05:
// 5%) beyond the noise, or, where the noise is unknown (one repeat), by
// the ratio alone.
func (c Comparison) Regression(share float64) bool {
	return c.A != nil && c.B != nil && c.Ratio > 0 && c.Ratio < 1-share && (c.Beyond || c.Unknown)
}

// Compare matches the results of two runs stage by stage (and baseline
// page and tool) and says for each whether B differs from A beyond the
// noise of their repeats.
//
// The test is benchstat's own (golang.org/x/perf/benchmath, which assumes
// nothing of the distribution): Mann-Whitney U, two-sided, at Alpha, when
// both runs have enough repeats for it to ever reach p < Alpha (4 and 4, or
// 3 and 5: with 3 and 3 its smallest p-value is 0.1). With fewer repeats it
// falls back to whether the ranges of the repeats overlap, a cruder rule
// that the table names; with one repeat it says it cannot tell.
func Compare(a, b *record.Run) []Comparison {
	// A sweep's points are told apart by their connection count; a
	// main result has conns 0, so it matches whatever the runs used.
	type key struct {
		stage, page, tool string
		conns             int
	}
	var keys []key
	byKey := map[key][2]*record.Result{}
	for side, run := range []*record.Run{a, b} {
		for i := range run.Results {
			x := &run.Results[i]
			if x.Crossover {
				// A crossover's modelled points are not the stage's
				// result: its main one (the app as it is) is compared.
				continue
			}
			k := key{x.Key(), x.Page, x.Tool, 0}
			if x.Sweep {
				k.conns = x.Connections
			}
			pair, seen := byKey[k]
			if !seen {
				keys = append(keys, k)
			}
			pair[side] = x
			byKey[k] = pair
		}
	}
	pageOrder := func(p string) int { return slices.Index([]string{"static", "dynamic", "query"}, p) }
	slices.SortStableFunc(keys, func(x, y key) int {
		if d := stageOrder(x.stage) - stageOrder(y.stage); d != 0 {
			return d
		}
		if d := pageOrder(x.page) - pageOrder(y.page); d != 0 {
			return d
		}
		if d := strings.Compare(x.tool, y.tool); d != 0 {
			return d
		}
		return x.conns - y.conns
	})
	var out []Comparison
	for _, k := range keys {
		pair := byKey[k]
		c := Comparison{Stage: k.stage, Page: k.page, Tool: k.tool, A: pair[0], B: pair[1]}
		some := pair[0]
		if some == nil {
			some = pair[1]
		}
		c.Label = longName(some)
		if k.conns > 0 {
			c.Label += fmt.Sprintf(", %d connections", k.conns)
		}
		if c.A != nil && c.B != nil {
			if c.A.RPS > 0 {
				c.Ratio = c.B.RPS / c.A.RPS
			}
			c.Beyond, c.Unknown, c.Method = beyondNoise(positive(c.A.RPSRuns), positive(c.B.RPSRuns))
		}
		out = append(out, c)
	}
	return out
}

func positive(xs []float64) []float64 {
	var out []float64
	for _, x := range xs {
		if x > 0 {
			out = append(out, x)
		}
	}
	return out
}

// beyondNoise decides whether two sets of repeats differ, and says how;
// unknown when a side has one repeat and no noise can be estimated.
func beyondNoise(a, b []float64) (beyond, unknown bool, method string) {
	if len(a) == 0 || len(b) == 0 {
		return false, false, "not measured"
	}
	if len(a) < 2 || len(b) < 2 {
		return false, true, "one repeat: no noise estimate"
	}
	th := &benchmath.Thresholds{CompareAlpha: Alpha}
	cmp := benchmath.AssumeNothing.Compare(benchmath.NewSample(a, th), benchmath.NewSample(b, th))
	switch {
	case len(cmp.Warnings) == 0: // enough repeats for the test to reach Alpha
		return cmp.P < Alpha, false, fmt.Sprintf("Mann-Whitney U, p=%.3f", cmp.P)
	case slices.Max(a) < slices.Min(b) || slices.Max(b) < slices.Min(a):
		return true, false, fmt.Sprintf("ranges apart (%d vs %d repeats)", len(a), len(b))
	}
	return false, false, fmt.Sprintf("ranges overlap (%d vs %d repeats)", len(a), len(b))
}

// WriteComparison writes the comparison as a table, one line per stage:
// both medians, the ratio B/A and whether the difference is beyond noise.
func WriteComparison(w io.Writer, nameA, nameB string, cs []Comparison) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "stage\ttool\tA req/s\tB req/s\tB/A\tdifference\t  how it was judged\t\n")
	for _, c := range cs {
		ra, rb, ratio, verdict := "–", "–", "–", "–"
		if c.A != nil {
			ra = fmtRPS(c.A.RPS)
		}
		if c.B != nil {
			rb = fmtRPS(c.B.RPS)
		}
		if c.Ratio > 0 {
			ratio = fmt.Sprintf("%.2f×", c.Ratio)
		}
		switch {
		case c.A == nil || c.B == nil:
			verdict = "only in one run"
		case c.Unknown:
			verdict = fmt.Sprintf("? %+.0f%%, cannot tell", 100*(c.Ratio-1))
		case c.Beyond && c.Ratio > 1:
			verdict = fmt.Sprintf("B faster (%+.0f%%)", 100*(c.Ratio-1))
		case c.Beyond:
			verdict = fmt.Sprintf("B slower (%+.0f%%)", 100*(c.Ratio-1))
		default:
			verdict = "~ within noise"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t  %s\t\n", c.Label, c.Tool, ra, rb, ratio, verdict, c.Method)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "A: %s\nB: %s\n", nameA, nameB)
	return err
}

// CompareChart draws both runs' req/s side by side per stage, on a log
// axis: A outlined, B filled, each in its stage's colour.
func CompareChart(a, b *record.Run, nameA, nameB string, cs []Comparison) Chart {
	p := newPlot("Requests per second: A beside B", "", "requests per second (log scale)")
	var bs []bar
	var names []string
	for _, c := range cs {
		if c.Tool != BuiltinTool || (c.A != nil && c.A.Sweep) || (c.B != nil && c.B.Sweep) {
			continue
		}
		i := float64(len(names))
		col := StageColor(c.Stage)
		if c.A != nil {
			lo, hi := spread(c.A)
			bs = append(bs, bar{pos: i - 0.2, value: c.A.RPS, lo: lo, hi: hi, line: col, label: short(c.A.RPS)})
		}
		if c.B != nil {
			lo, hi := spread(c.B)
			bs = append(bs, bar{pos: i + 0.2, value: c.B.RPS, lo: lo, hi: hi, fill: col, line: col, label: short(c.B.RPS)})
		}
		some := c.A
		if some == nil {
			some = c.B
		}
		if isBaselineKey(c.Stage) {
			names = append(names, "stage "+c.Stage+"\n"+some.Page)
		} else {
			names = append(names, tickName(some))
		}
	}
	addBars(p, &bars{bars: bs, width: 0.38}, names)
	// Which bar is which is said in the caption, not in a legend: a legend
	// inside the plot covers the value label of whichever bar is under it.
	capt := compareCaption("A (outlined bars)", nameA, a, b) + "\n" + compareCaption("B (filled bars)", nameB, b, a)
	fig := figure{caption: capt, draw: func(dc draw.Canvas) { drawRow(dc, p) }}
	return Chart{Name: "compare", Title: "Requests per second: A beside B", fig: fig}
}

// compareCaption is one run's line under the comparison chart: which bars
// are its own, its name, its machine when the other run's differs, its
// settings and commit (short enough for one line).
func compareCaption(label, name string, run, other *record.Run) string {
	parts := []string{label + ": " + name}
	if differentMachines(run.Machine, other.Machine) {
		parts = append(parts, machineName(run))
	}
	parts = append(parts, settingsLine(run))
	if c := run.Commit; c != "" && c != "unknown" {
		parts = append(parts, "scalelab "+shortCommit(c))
	}
	return strings.Join(parts, "  ·  ")
}

// CompareNotes are what a reader of a comparison must know before
// believing its verdicts, one sentence each: a run that is a fault run
// (its req/s include the fault), runs taken on different machines or
// with different settings (the difference is theirs as much as the
// code's), and the commits compared.
func CompareNotes(a, b *record.Run, nameA, nameB string) []string {
	var notes []string
	for _, side := range []struct {
		label, name string
		run         *record.Run
	}{{"A", nameA, a}, {"B", nameB, b}} {
		var faults []string
		for _, x := range side.run.Results {
			if f := x.Fault; f != nil {
				faults = append(faults, fmt.Sprintf("%s on stage %s at %.0f s", f.Kind, x.Key(), f.AtS))
			}
		}
		if len(faults) > 0 {
			notes = append(notes, fmt.Sprintf("%s (%s) is a fault run (%s): its req/s include the fault, so a difference from a run without one is the fault's", side.label, side.name, strings.Join(faults, ", ")))
		}
	}
	if differentMachines(a.Machine, b.Machine) {
		notes = append(notes, fmt.Sprintf("A and B ran on different machines (A: %s; B: %s): a difference is the machine's as much as the code's", machineName(a), machineName(b)))
	}
	if sa, sb := settingsLine(a), settingsLine(b); sa != sb && a.Settings.DurationS > 0 && b.Settings.DurationS > 0 {
		notes = append(notes, fmt.Sprintf("A and B were measured with different settings (A: %s; B: %s)", sa, sb))
	}
	if ca, cb := shortCommit(a.Commit), shortCommit(b.Commit); a.Commit != "" && b.Commit != "" && ca != cb {
		notes = append(notes, fmt.Sprintf("commits: A %s, B %s", ca, cb))
	}
	return notes
}

// differentMachines says whether two runs were taken on different
// machines, by what both records know (a bench.txt knows the processor
// and its cores only).
func differentMachines(a, b record.Machine) bool {
	differ := func(x, y string) bool { return x != "" && y != "" && x != y }
	return differ(a.Hostname, b.Hostname) || differ(a.CPUModel, b.CPUModel) || (a.Cores > 0 && b.Cores > 0 && a.Cores != b.Cores) ||
		(a.MemoryMB > 0 && b.MemoryMB > 0 && a.MemoryMB != b.MemoryMB)
}

// machineName names the machine a run was taken on: host, processor,
// cores and memory.
func machineName(run *record.Run) string {
	m := run.Machine
	return fmt.Sprintf("%s, %s, %d cores, %.0f GB", m.Hostname, m.CPUModel, m.Cores, float64(m.MemoryMB)/1024)
}

// Regressions are the comparisons in which B is slower than A by more
// than share beyond the noise (see Comparison.Regression), the main
// results only (not a sweep's points).
func Regressions(cs []Comparison, share float64) []Comparison {
	var out []Comparison
	for _, c := range cs {
		if (c.A != nil && c.A.Sweep) || (c.B != nil && c.B.Sweep) {
			continue
		}
		if c.Regression(share) {
			out = append(out, c)
		}
	}
	return out
}

// BenchFile is the name of a run's bench.txt inside its folder.
const BenchFile = "bench.txt"

// LoadForCompare reads one side of a comparison: a run folder or its
// run.json (see Load), or a bench.txt (record.ReadBenchFmt), which is all
// a baseline kept by a CI job needs to hold.
func LoadForCompare(path string) (*record.Run, error) {
	if strings.HasSuffix(path, ".txt") {
		return record.ReadBenchFmt(path)
	}
	return Load(path)
}

// RunName is how a run is named in a comparison: its folder's name
// ("… (bench.txt)" when given as its bench.txt).
func RunName(path string) string {
	path = filepath.Clean(path)
	switch filepath.Base(path) {
	case RunFile:
		path = filepath.Dir(path)
	case BenchFile:
		return filepath.Base(filepath.Dir(path)) + " (" + BenchFile + ")"
	}
	return filepath.Base(path)
}
