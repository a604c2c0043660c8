package record

import (
	"math"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// The intervals of known samples: the order statistics and confidences of
// the binomial distribution of the median's rank.
func TestMedianInterval(t *testing.T) {
	for _, tc := range []struct {
		xs                 []float64
		center, lo, hi, cf float64
	}{
		{nil, 0, 0, 0, 0},
		{[]float64{7}, 7, 7, 7, 0},
		// Fewer than 6: the range, at 1 - 2/2^n.
		{[]float64{30, 10, 20}, 20, 10, 30, 0.75},
		{[]float64{4, 1, 3, 2}, 2.5, 1, 4, 0.875},
		{[]float64{5, 1, 4, 2, 3}, 3, 1, 5, 0.9375},
		// 6 values: still the range, now at 1 - 2/64 >= 95%.
		{[]float64{6, 5, 4, 3, 2, 1}, 3.5, 1, 6, 0.96875},
		// 10 values: the 2nd and 9th, at 1 - 2 * P(Bin(10, 1/2) <= 1)
		// = 1 - 22/1024.
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 5.5, 2, 9, 1 - 22.0/1024},
	} {
		iv := MedianInterval(tc.xs)
		if !near(iv.Center, tc.center) || !near(iv.Lo, tc.lo) || !near(iv.Hi, tc.hi) || !near(iv.Confidence, tc.cf) || iv.N != len(tc.xs) {
			t.Errorf("MedianInterval(%v) = %+v, want %v [%v, %v] at %v", tc.xs, iv, tc.center, tc.lo, tc.hi, tc.cf)
		}
	}
}

func TestRatioInterval(t *testing.T) {
	// Paired: round k over round k. Each round's ratio is 2 however
	// much the rounds differ (a busy round slowed both stages).
	iv := RatioInterval([]float64{2, 4, 6}, []float64{1, 2, 3}, true)
	if !near(iv.Center, 2) || !near(iv.Lo, 2) || !near(iv.Hi, 2) || iv.Verdict() != "gain" {
		t.Errorf("paired: %+v, %s", iv, iv.Verdict())
	}
	// The same figures unpaired: the ratio of the medians, 2, with the
	// interval from both ranges, [10/15, 30/5], which holds 1.
	iv = RatioInterval([]float64{10, 20, 30}, []float64{5, 10, 15}, false)
	if !near(iv.Center, 2) || !near(iv.Lo, 10.0/15) || !near(iv.Hi, 6) || !near(iv.Confidence, 0.75*0.75) || iv.Verdict() != "within noise" {
		t.Errorf("unpaired: %+v, %s", iv, iv.Verdict())
	}
	// A loss, and a repeat that measured nothing left out with its pair.
	iv = RatioInterval([]float64{5, 0, 6, 5.5}, []float64{10, 10, 11, 10}, true)
	if iv.N != 3 || !(iv.Hi < 1) || iv.Verdict() != "loss" {
		t.Errorf("loss: %+v, %s", iv, iv.Verdict())
	}
	// One round: no interval to judge by.
	if v := RatioInterval([]float64{3}, []float64{1}, true).Verdict(); v != "one run" {
		t.Errorf("one round: %s", v)
	}
	if iv := RatioInterval([]float64{1, 2}, []float64{0, 0}, false); iv.Known() {
		t.Errorf("over nothing: %+v", iv)
	}
}

func TestIntervalHolds(t *testing.T) {
	iv := Interval{Center: 1.5, Lo: 1.2, Hi: 1.9, Confidence: 0.94, N: 5}
	if !iv.Holds(1.56) || iv.Holds(1.1) || iv.Holds(2) {
		t.Errorf("%+v: holds 1.56, not 1.1 nor 2", iv)
	}
	if (Interval{Center: 1, Lo: 1, Hi: 1, N: 1}).Holds(1) {
		t.Error("a single value holds nothing: it is no interval")
	}
}
