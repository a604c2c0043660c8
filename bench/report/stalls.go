package report

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/scalelab/scalelab/bench/record"
)

// stallsOf are a result's stalls: as recorded, or judged from its
// records for a run that was not read by record.ReadRun.
func stallsOf(x *record.Result) *record.Stalls {
	if x.Stalls != nil {
		return x.Stalls
	}
	return record.StallsOf(x.Records)
}

// stallSummary is a stalled result's stalls in a few words, for its line
// in the report; empty when it did not stall. A median req/s over the run
// hides them: this is what says the rate was not steady.
func stallSummary(s *record.Stalls) string {
	if !s.Stalled() {
		return ""
	}
	out := fmt.Sprintf("stalled in %d %s (the worst answered %s req/s", s.Count, plural(s.Count, "second"), trim(s.WorstRPS))
	if g := fmtGap(s); g != "" {
		out += "; the longest gap between responses " + g
	}
	return out + ")"
}

// stallWarning says in full which seconds stalled, for the warnings.
func stallWarning(s *record.Stalls) string {
	if !s.Stalled() {
		return ""
	}
	w := fmt.Sprintf("%d whole %s stalled, with no response or under %.0f%% of their repeat's median second (%s); the worst second answered %s requests",
		s.Count, plural(s.Count, "second"), 100*record.StallFraction, stalledList(s.Seconds), trim(s.WorstRPS))
	if g := fmtGap(s); g != "" {
		w += "; the longest time without a response was " + g
		if s.GapEstimated {
			w += " (from the per-second timeline: this record did not measure it)"
		}
	}
	return w
}

// fmtGap is the longest gap, "at least" when it was read off the timeline
// (whole empty seconds); empty when it is not known.
func fmtGap(s *record.Stalls) string {
	if s.LongestGapMs <= 0 {
		return ""
	}
	g := fmt.Sprintf("%.1f s", s.LongestGapMs/1000)
	if s.LongestGapMs < 1000 {
		g = fmt.Sprintf("%.0f ms", s.LongestGapMs)
	}
	if s.GapEstimated {
		return "at least " + g
	}
	return g
}

// stalledList names the stalled seconds by repeat, runs of seconds as
// ranges: "repeat 1: seconds 4–9; repeat 2: seconds 2, 5–9".
func stalledList(ss []record.StalledSecond) string {
	var parts []string
	for i := 0; i < len(ss); {
		rep := ss[i].Repeat
		var ranges []string
		for i < len(ss) && ss[i].Repeat == rep {
			from := ss[i].T
			to := from
			for i+1 < len(ss) && ss[i+1].Repeat == rep && ss[i+1].T == to+1 {
				i++
				to++
			}
			i++
			if from == to {
				ranges = append(ranges, strconv.Itoa(from))
			} else {
				ranges = append(ranges, fmt.Sprintf("%d–%d", from, to))
			}
		}
		word := "seconds"
		if len(ranges) == 1 && !strings.Contains(ranges[0], "–") {
			word = "second"
		}
		parts = append(parts, fmt.Sprintf("repeat %d: %s %s", rep, word, strings.Join(ranges, ", ")))
	}
	return strings.Join(parts, "; ")
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// rpsCell is a row's req/s in the table, flagged when the stage stalled:
// the median alone reads as a steady rate.
func rpsCell(r row) string {
	if r.Stalled != "" {
		return fmtRPS(r.RPS) + " (stalled)"
	}
	return fmtRPS(r.RPS)
}
