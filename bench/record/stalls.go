package record

import (
	"fmt"
	"math"
	"slices"
)

// StallFraction is the share of the median second below which a whole
// second counts as stalled. A rate's median over the run hides seconds in
// which the server (nearly) stopped answering: 44 req/s can be 400 in one
// second and none for the next five.
const StallFraction = 0.1

// Stalls is what a result's per-second timelines say about the seconds in
// which the server (nearly) stopped answering. Each repeat's whole seconds
// are judged against that repeat's own median second; the partial second
// at the end of a run is not judged (it would always look slow).
type Stalls struct {
	// WorstRPS is the fewest responses of a whole second, and WorstRepeat
	// (from 1) and WorstT the second that had them.
	WorstRPS    float64 `json:"worst_requests_per_s"`
	WorstRepeat int     `json:"worst_repeat"`
	WorstT      int     `json:"worst_t"`
	// Count is how many whole seconds stalled: no response at all, or
	// fewer than StallFraction of their repeat's median second. A second
	// with no response stalls even when the median is zero too (a run
	// that stopped answering for more than half of its time).
	Count   int             `json:"count"`
	Seconds []StalledSecond `json:"seconds,omitempty"`
	// LongestGapMs is the longest time with no response in any repeat.
	// GapEstimated says that for some repeat it was not measured (a
	// record made before it was) and comes from the timeline instead: a
	// run of empty whole seconds, a lower bound in whole seconds.
	LongestGapMs float64 `json:"longest_gap_ms"`
	GapEstimated bool    `json:"gap_estimated,omitempty"`
}

// StalledSecond is one stalled second: the repeat (from 1), the second
// of its timeline and the responses it had.
type StalledSecond struct {
	Repeat   int   `json:"repeat"`
	T        int   `json:"t"`
	Requests int64 `json:"requests"`
}

// Stalled reports whether any second stalled; false for nil.
func (s *Stalls) Stalled() bool { return s != nil && s.Count > 0 }

// StallsOf judges the timelines of one result's repeats; nil when none
// has a timeline (foreign tools). It reads records of any age: a second
// missing from a timeline (older records left out the seconds without a
// response, so a stall at the end made the timeline short) counts as zero
// up to the run's last whole second.
func StallsOf(recs []*Record) *Stalls {
	var st *Stalls
	for i, r := range recs {
		if r == nil || len(r.Results.Timeline) == 0 {
			continue
		}
		counts, tail := wholeSeconds(&r.Results)
		if len(counts) == 0 {
			continue
		}
		if st == nil {
			st = &Stalls{WorstRPS: math.Inf(1)}
		}
		med := medianOf(counts)
		for t, n := range counts {
			if float64(n) < st.WorstRPS {
				st.WorstRPS, st.WorstRepeat, st.WorstT = float64(n), i+1, t
			}
			if n == 0 || float64(n) < StallFraction*med {
				st.Count++
				st.Seconds = append(st.Seconds, StalledSecond{Repeat: i + 1, T: t, Requests: n})
			}
		}
		gap := r.Results.LongestGapMs
		if gap == 0 {
			gap = emptyRunMs(counts, tail, r.Results.Seconds)
			st.GapEstimated = true
		}
		st.LongestGapMs = max(st.LongestGapMs, gap)
	}
	return st
}

// wholeSeconds returns the responses of each whole second of the run,
// zeros for the seconds the timeline lacks, and those of the partial
// second after them. A record without its duration is judged on the
// seconds its timeline has.
func wholeSeconds(res *Results) (counts []int64, tail int64) {
	n := int(res.Seconds)
	if res.Seconds == 0 {
		for _, s := range res.Timeline {
			n = max(n, s.T+1)
		}
	}
	counts = make([]int64, n)
	for _, s := range res.Timeline {
		switch {
		case s.T < 0:
		case s.T < n:
			counts[s.T] += s.Requests
		default:
			tail += s.Requests
		}
	}
	return counts, tail
}

// emptyRunMs is the longest run of whole seconds without a response, in
// ms: what a timeline says of the longest gap, at least. A run that goes
// on to the end (the partial second empty too) lasts to the run's end.
func emptyRunMs(counts []int64, tail int64, seconds float64) float64 {
	var best float64
	start := -1
	for t, n := range counts {
		if n == 0 {
			if start < 0 {
				start = t
			}
			best = max(best, float64(t-start+1))
			continue
		}
		start = -1
	}
	if start >= 0 && tail == 0 && seconds > 0 {
		best = max(best, seconds-float64(start))
	}
	return best * 1000
}

func medianOf(xs []int64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return float64(s[m])
	}
	return float64(s[m-1]+s[m]) / 2
}

// String sums the stalls up in a line for a terminal: the load's summary
// and the driver's stage lines.
func (s *Stalls) String() string {
	if s == nil {
		return "not measured"
	}
	out := "none"
	if s.Count > 0 {
		out = fmt.Sprintf("%d stalled %s (no response, or under %.0f%% of the median second)", s.Count, plural(s.Count, "second"), 100*StallFraction)
	}
	out += fmt.Sprintf("; worst second %s req/s", num(s.WorstRPS))
	switch {
	case s.LongestGapMs > 0 && s.GapEstimated:
		out += "; longest gap at least " + gapText(s.LongestGapMs)
	case s.LongestGapMs > 0:
		out += "; longest gap " + gapText(s.LongestGapMs)
	}
	return out
}

func gapText(ms float64) string {
	if ms < 1000 {
		return fmt.Sprintf("%.0f ms", ms)
	}
	return fmt.Sprintf("%.1f s", ms/1000)
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
