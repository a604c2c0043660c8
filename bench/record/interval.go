package record

import (
	"math"

	"golang.org/x/perf/benchmath"
)

// Intervals. A stage's req/s is the median of its repeats, and every
// ratio of two stages (× stage 1, × the stage before) is a median too; a
// figure without its noise cannot say whether a step is a gain. Each one
// therefore carries a confidence interval, computed as benchstat does
// (golang.org/x/perf/benchmath, AssumeNothing): the distribution-free
// interval of the median between two order statistics of the sample. It
// assumes nothing of the shape of the noise, which a handful of
// throughput repeats on a shared machine cannot justify (a busy minute
// makes one repeat low, not all of them a little lower), and it is the
// statistics benchstat users already read.
//
// Its price is that a small sample gives a wide interval at a stated
// confidence: 95% needs 6 repeats, and with fewer the interval is the
// sample's whole range at the confidence that range has (1 - 2/2^n: 75%
// with 3, 88% with 4, 94% with 5). The confidence is recorded beside the
// interval and printed with it, never implied.
//
// A ratio of two stages measured in interleaved rounds is computed per
// round (round k of stage A over round k of stage B: the two were measured
// minutes apart, so a busy minute on the shared machine weighs on both)
// and its interval is that of the median of those per-round ratios.
// Stages not measured in rounds (a run of one stage, or an older run)
// give the ratio of the medians, with the interval from the two medians'
// intervals (low over high and high over low), which is wider.

// Confidence is the confidence level the intervals aim for.
const Confidence = 0.95

// Interval is a median with its confidence interval.
type Interval struct {
	Center float64 `json:"center"`
	Lo     float64 `json:"lo"`
	Hi     float64 `json:"hi"`
	// Confidence is the interval's actual confidence level (below
	// Confidence when there are too few values for it; 0 with one value,
	// which gives no interval at all).
	Confidence float64 `json:"confidence"`
	// N is the number of values.
	N int `json:"n"`
}

// MedianInterval is the median of xs with its distribution-free
// confidence interval: at Confidence when xs are enough for it, else the
// range of xs at the confidence it has.
func MedianInterval(xs []float64) Interval {
	n := len(xs)
	switch n {
	case 0:
		return Interval{}
	case 1:
		return Interval{Center: xs[0], Lo: xs[0], Hi: xs[0], N: 1}
	}
	sample := benchmath.NewSample(append([]float64(nil), xs...), &benchmath.DefaultThresholds)
	s := benchmath.AssumeNothing.Summary(sample, Confidence)
	if math.IsInf(s.Lo, 0) || math.IsInf(s.Hi, 0) {
		// Too few values for Confidence: the whole range, whose
		// confidence is 1 - 2 * (1/2)^n.
		s = benchmath.AssumeNothing.Summary(sample, rangeConfidence(n))
	}
	return Interval{Center: s.Center, Lo: s.Lo, Hi: s.Hi, Confidence: s.Confidence, N: n}
}

// rangeConfidence is the confidence of [min, max] as an interval of the
// median of n values: the chance that not all n fall on one side of it.
func rangeConfidence(n int) float64 {
	return 1 - 2*math.Pow(0.5, float64(n))
}

// RatioInterval is the ratio of a's req/s over b's with its interval: per
// round when paired (a[k] and b[k] measured in the same round), else the
// ratio of the medians (see above). Non-positive values (a repeat that
// measured nothing) are left out, with their pair.
func RatioInterval(a, b []float64, paired bool) Interval {
	if paired && len(a) == len(b) {
		var ratios []float64
		for k := range a {
			if a[k] > 0 && b[k] > 0 {
				ratios = append(ratios, a[k]/b[k])
			}
		}
		return MedianInterval(ratios)
	}
	ia, ib := MedianInterval(positive(a)), MedianInterval(positive(b))
	if ia.N == 0 || ib.N == 0 || ib.Lo <= 0 {
		return Interval{}
	}
	iv := Interval{Center: ia.Center / ib.Center, Lo: ia.Lo / ib.Hi, Hi: ia.Hi / ib.Lo, N: min(ia.N, ib.N)}
	if ia.N > 1 && ib.N > 1 {
		// Both intervals hold: at least the product of their confidences
		// (the repeats of a and b are independent).
		iv.Confidence = ia.Confidence * ib.Confidence
	}
	return iv
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

// Known says the interval is an interval: more than one value.
func (iv Interval) Known() bool { return iv.N > 1 && iv.Confidence > 0 }

// Verdict says what a ratio's interval shows: "gain" when it lies wholly
// above 1, "loss" when wholly below, "within noise" when it holds 1, and
// "one run" when there is no interval to judge by.
func (iv Interval) Verdict() string {
	switch {
	case !iv.Known():
		return "one run"
	case iv.Lo > 1:
		return "gain"
	case iv.Hi < 1:
		return "loss"
	}
	return "within noise"
}

// Holds says whether v lies in the interval.
func (iv Interval) Holds(v float64) bool { return iv.Known() && iv.Lo <= v && v <= iv.Hi }

// Ratio is a's req/s over b's, with its interval (see RatioInterval): per
// round when the run was measured in rounds.
func (run *Run) Ratio(a, b *Result) Interval {
	return RatioInterval(a.RPSRuns, b.RPSRuns, run.Paired())
}

// RPSInterval is x's median req/s with its interval.
func (x *Result) RPSInterval() Interval { return MedianInterval(positive(x.RPSRuns)) }

// Paired says whether a run's stages were measured in interleaved rounds,
// so that their k-th repeats were taken in the same round.
func (run *Run) Paired() bool { return len(run.Settings.Order) > 0 }
