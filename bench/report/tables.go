package report

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/scalelab/scalelab/bench/record"
	"github.com/scalelab/scalelab/stages"
)

// row is one line of the report's table, computed once for both the HTML
// and the Markdown report so that they always say the same.
type row struct {
	Stage, Label, Tool string
	RPS                float64
	// Lo and Hi are the repeats' range, Repeats how many there were.
	Lo, Hi  float64
	Repeats int
	// RPSCI is the median req/s's confidence interval (see
	// record.MedianInterval).
	RPSCI record.Interval
	// Speedup is over stage 1 measured with the same tool, Prev over the
	// stage before in the talk's order; zero when there is none. Their
	// intervals (record.Run.Ratio) say whether each is beyond the noise.
	Speedup, Prev     float64
	SpeedupCI, PrevCI record.Interval
	// Talk, TalkSpeedup and TalkPrev are the talk's figures (zero for the
	// baselines, which the talk did not publish).
	Talk, TalkSpeedup, TalkPrev float64
	P50, P99                    float64
	Errors                      int64
	// Verification is "passed", "skipped" or "failed": the failure itself
	// is among the warnings, too long for a table cell.
	Verification string
	Warnings     []string
	// Stalled sums up the seconds in which the stage (nearly) stopped
	// answering; empty when it did not.
	Stalled string
}

// rows lists every result of the run: the baselines, then each stage in
// the talk's order with the lab's own tool first and ab or wrk after.
func rows(run *record.Run) []row {
	var xs []*record.Result
	xs = append(xs, baselines(run)...)
	xs = append(xs, stageResults(run, BuiltinTool)...)
	var foreign []*record.Result
	for i := range run.Results {
		x := &run.Results[i]
		if !slices.Contains(xs, x) && !x.Sweep && !x.Crossover {
			foreign = append(foreign, x)
		}
	}
	slices.SortStableFunc(foreign, func(a, b *record.Result) int { return stageOrder(a.Stage) - stageOrder(b.Stage) })
	xs = append(xs, foreign...)

	// A stage's "stage before" is the talk's iteration before it: stages
	// the talk did not have (FastCGI) are compared with the one they
	// follow, and never stand between two of the talk's.
	prev := map[*record.Result]*record.Result{}
	var last *record.Result
	for _, x := range stageResults(run, BuiltinTool) {
		if last != nil {
			prev[x] = last
		}
		if talkRPS(x) > 0 {
			last = x
		}
	}
	var out []row
	for _, x := range xs {
		r := row{Stage: x.Key(), Label: longName(x), Tool: x.Tool, RPS: x.RPS, Repeats: len(x.RPSRuns),
			P50: x.P50Ms, P99: x.P99Ms, Errors: x.Errors, Verification: verdict(x.Verification), Warnings: warnings(x)}
		r.Lo, r.Hi = spread(x)
		r.RPSCI = x.RPSInterval()
		r.Stalled = stallSummary(stallsOf(x))
		if b := run.Stage1(x.Tool); b != nil && b.RPS > 0 && x.RPS > 0 && !isBaseline(x) {
			if b != x { // stage 1 over itself is 1, with no noise
				r.SpeedupCI = run.Ratio(x, b)
			}
			r.Speedup = ratioCenter(r.SpeedupCI, x.RPS/b.RPS)
		}
		if r.Talk = talkRPS(x); r.Talk > 0 {
			r.TalkSpeedup = r.Talk / TalkStage1
		}
		if p := prev[x]; p != nil {
			if p.RPS > 0 && x.RPS > 0 {
				r.PrevCI = run.Ratio(x, p)
				r.Prev = ratioCenter(r.PrevCI, x.RPS/p.RPS)
			}
			if t := talkRPS(p); t > 0 && r.Talk > 0 {
				r.TalkPrev = r.Talk / t
			}
		}
		out = append(out, r)
	}
	return out
}

func verdict(v string) string {
	switch v {
	case "passed", "skipped", "":
		return v
	}
	return "failed"
}

// Formatting shared by both reports; a dash stands for "none".
func fmtRPS(v float64) string {
	if v <= 0 {
		return "–"
	}
	if v < 10 {
		return fmt.Sprintf("%.1f", v)
	}
	return num(v)
}

func fmtTimes(v float64) string {
	if v <= 0 {
		return "–"
	}
	if v < 0.01 {
		// Two significant digits: a collapse to 0.0015× is not 0.00×.
		return strconv.FormatFloat(v, 'f', 1-int(math.Floor(math.Log10(v))), 64) + "×"
	}
	if v < 10 {
		return fmt.Sprintf("%.2f×", v)
	}
	return fmt.Sprintf("%.0f×", v)
}

// ratioCenter is the ratio a table shows: its interval's centre (the
// median of the per-round ratios, when the run was measured in rounds) so
// that the figure always lies in its interval, or plain when there is no
// interval.
func ratioCenter(iv record.Interval, plain float64) float64 {
	if iv.Known() {
		return iv.Center
	}
	return plain
}

// fmtRange is the req/s's interval: "6,100–7,020 (94%, 5 runs)".
func fmtRange(r row) string {
	iv := r.RPSCI
	if !iv.Known() {
		if r.Repeats == 1 {
			return "1 run"
		}
		return "–"
	}
	return fmt.Sprintf("%s–%s (%s, %d runs)", fmtRPS(iv.Lo), fmtRPS(iv.Hi), fmtConf(iv.Confidence), iv.N)
}

// fmtConf is a confidence level as a whole percentage, rounded down: an
// interval is never said to be surer than it is.
func fmtConf(c float64) string {
	return fmt.Sprintf("%d%%", int(math.Floor(100*c+1e-9)))
}

// fmtRatio is a ratio with its interval: "0.78× (0.61–1.10)", with the
// interval's confidence when it is under 95%: "0.78× (0.61–1.10, 93%)".
func fmtRatio(v float64, iv record.Interval) string {
	if v <= 0 {
		return "–"
	}
	if !iv.Known() {
		return fmtTimes(v)
	}
	conf := ""
	if iv.Confidence < record.Confidence {
		// Too few rounds for 95%: the confidence it has, said.
		conf = ", " + fmtConf(iv.Confidence)
	}
	return fmt.Sprintf("%s (%s–%s%s)", fmtTimes(v), bareTimes(iv.Lo), bareTimes(iv.Hi), conf)
}

// bareTimes is a ratio without its "×", for the low end of a range.
func bareTimes(v float64) string { return strings.TrimSuffix(fmtTimes(v), "×") }

// fmtStep is the ratio to the stage before with what it shows: a gain or
// a loss only when its interval excludes 1, else "within noise".
func fmtStep(v float64, iv record.Interval) string {
	if v <= 0 {
		return "–"
	}
	if !iv.Known() {
		return fmtTimes(v) + " (one run)"
	}
	return fmtRatio(v, iv) + " " + iv.Verdict()
}

// fmtTalkStep is the talk's ratio, and where it lies against this run's
// interval for the same step.
func fmtTalkStep(talk float64, iv record.Interval) string {
	if talk <= 0 {
		return "–"
	}
	switch {
	case !iv.Known():
		return fmtTimes(talk)
	case iv.Holds(talk):
		return fmtTimes(talk) + ", in ours"
	case talk > iv.Hi:
		return fmtTimes(talk) + ", above ours"
	}
	return fmtTimes(talk) + ", below ours"
}

func fmtMs(v float64) string {
	switch {
	case v <= 0:
		return "–"
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func fmtDay(v float64) string {
	if v <= 0 {
		return "–"
	}
	return perDay(v)
}

// indexVerdict says whether the talk's last lesson, the collapse without
// the index, showed in this run, and if not, the likeliest reason.
func indexVerdict(run *record.Run) string {
	var with, without float64
	var noIndex *record.Result
	for _, x := range stageResults(run, BuiltinTool) {
		switch {
		case x.Stage == stages.NoIndex.Stage && !x.NoIndex:
			with = x.RPS
		case isTalksNoIndex(x.Key()):
			without, noIndex = x.RPS, x
		}
	}
	if with <= 0 || without <= 0 {
		return ""
	}
	talk := stages.TalkFor(stages.Key(stages.NoIndex.Stage, true), "") / stages.TalkFor(stages.NoIndex.Stage, "")
	r := without / with
	if r < 0.25 {
		v := fmt.Sprintf("Without its index, stage 4 collapsed to %s of its req/s (the talk: %s): the talk's last lesson reproduced.", pct(r), pct(talk))
		if st := stallsOf(noIndex); st.Stalled() {
			v += fmt.Sprintf(" Its %s req/s is a median over seconds that were not alike: it %s.", fmtRPS(without), stallSummary(st))
		}
		return v
	}
	return fmt.Sprintf("Without its index, stage 4 kept %s of its req/s (the talk: %s): the collapse did not show in this run. With %s users the tables are small and a sequential scan is cheap; the talk's setting is the full dataset (scalelab lab without --quick).",
		pct(r), pct(talk), num(float64(run.Settings.Users)))
}

func pct(r float64) string {
	if r < 0.1 {
		return fmt.Sprintf("%.1f%%", 100*r)
	}
	return fmt.Sprintf("%.0f%%", 100*r)
}

// allWarnings are the run's warnings and each result's, each prefixed
// with what it is about.
func allWarnings(run *record.Run, rs []row) []string {
	out := runWarnings(run)
	for _, r := range rs {
		who := r.Label
		if isBaselineKey(r.Stage) {
			who = "stage " + r.Stage + ", " + r.Label
		}
		if r.Tool != BuiltinTool {
			who += " (" + r.Tool + ")"
		}
		for _, w := range r.Warnings {
			out = append(out, who+": "+w)
		}
	}
	return out
}

// Steps are the run's steps in words, one line per stage that has a stage
// before it: its ratio to that stage with the interval, whether that is a
// gain, a loss or within noise, and the talk's ratio for the same step.
// The terminal prints them under the table, as report.md's table says.
func Steps(run *record.Run) []string {
	var out []string
	rs := rows(run)
	for _, r := range rs {
		if r.Prev <= 0 || r.Tool != BuiltinTool {
			continue
		}
		line := fmt.Sprintf("%s: %s the stage before", r.Label, fmtTimes(r.Prev))
		if iv := r.PrevCI; iv.Known() {
			line += fmt.Sprintf(" (%s–%s at %s): %s", bareTimes(iv.Lo), fmtTimes(iv.Hi), fmtConf(iv.Confidence), iv.Verdict())
		} else {
			line += " (one run: no interval)"
		}
		if r.TalkPrev > 0 {
			line += "; the talk: " + fmtTalkStep(r.TalkPrev, r.PrevCI)
		}
		out = append(out, line)
	}
	return out
}
