package report

import (
	"math"
	"slices"
)

// Alpha is the significance level of the comparison of two runs: a
// difference with p < Alpha is reported as beyond the runs' noise, as
// benchstat does.
const Alpha = 0.05

// mannWhitney returns the two-sided p-value of the Mann-Whitney U test
// (Wilcoxon rank-sum) that samples a and b come from the same
// distribution. It makes no assumption of normality, which a handful of
// throughput repeats cannot justify; benchstat uses the same test.
//
// The p-value is exact (every assignment of the pooled ranks, ties given
// their mid-ranks) up to 20 values, and from the normal approximation with
// a tie correction beyond.
func mannWhitney(a, b []float64) float64 {
	n1, n2 := len(a), len(b)
	if n1 == 0 || n2 == 0 {
		return 1
	}
	ranks := midRanks(append(append([]float64(nil), a...), b...))
	var w float64 // the rank sum of a
	for i := range n1 {
		w += ranks[i]
	}
	n := n1 + n2
	mean := float64(n1) * float64(n+1) / 2
	dev := math.Abs(w - mean)
	if n <= 20 {
		var extreme, total float64
		combinations(n, n1, func(idx []int) {
			var s float64
			for _, i := range idx {
				s += ranks[i]
			}
			total++
			if math.Abs(s-mean) >= dev-1e-9 {
				extreme++
			}
		})
		return extreme / total
	}
	// Normal approximation with the tie correction.
	var ties float64
	sorted := slices.Sorted(slices.Values(ranks))
	for i := 0; i < len(sorted); {
		j := i
		for j < len(sorted) && sorted[j] == sorted[i] {
			j++
		}
		t := float64(j - i)
		ties += t*t*t - t
		i = j
	}
	nf := float64(n)
	variance := float64(n1*n2) / 12 * ((nf + 1) - ties/(nf*(nf-1)))
	if variance <= 0 {
		return 1
	}
	z := (dev - 0.5) / math.Sqrt(variance)
	return math.Erfc(z / math.Sqrt2)
}

// minP is the smallest p-value the exact test can give for samples of
// these sizes: all of one below all of the other. With 3 repeats each it
// is 0.1, so no difference could ever reach p < 0.05.
func minP(n1, n2 int) float64 {
	return 2 / binomial(n1+n2, n1)
}

func binomial(n, k int) float64 {
	r := 1.0
	for i := 1; i <= k; i++ {
		r = r * float64(n-k+i) / float64(i)
	}
	return r
}

// midRanks ranks xs from 1, ties sharing the mean of their ranks.
func midRanks(xs []float64) []float64 {
	idx := make([]int, len(xs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(i, j int) int {
		switch {
		case xs[i] < xs[j]:
			return -1
		case xs[i] > xs[j]:
			return 1
		}
		return 0
	})
	ranks := make([]float64, len(xs))
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && xs[idx[j]] == xs[idx[i]] {
			j++
		}
		r := float64(i+j+1) / 2 // mean of ranks i+1 .. j
		for k := i; k < j; k++ {
			ranks[idx[k]] = r
		}
		i = j
	}
	return ranks
}

// combinations calls f with every k-subset of 0..n-1 (f must not keep idx).
func combinations(n, k int, f func(idx []int)) {
	idx := make([]int, k)
	var rec func(start, depth int)
	rec = func(start, depth int) {
		if depth == k {
			f(idx)
			return
		}
		for i := start; i <= n-(k-depth); i++ {
			idx[depth] = i
			rec(i+1, depth+1)
		}
	}
	rec(0, 0)
}
