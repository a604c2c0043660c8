package procstat_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/scalelab/scalelab/bench/procstat"
)

// The probe counts its own thread's CPU time: never zero for its fixed
// work, and no more than the wall time it took (a descheduled thread is
// not charged), however busy the machine.
func TestProbe(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs CLOCK_THREAD_CPUTIME_ID")
	}
	start := time.Now()
	d, err := procstat.Probe()
	wall := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if d <= 0 || d > wall {
		t.Errorf("the probe's CPU time %v, wall %v: want above 0 and at most the wall", d, wall)
	}
}

// A prober takes its first probe at once, before it looks at Stop: stopped
// at once with an hour's interval, it has exactly that one.
func TestProber(t *testing.T) {
	m, n := procstat.StartProbes(time.Hour).Stop()
	if n != 1 || m <= 0 {
		t.Errorf("%d probes, median %v; want 1 probe above 0", n, m)
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []time.Duration
		want time.Duration
	}{{nil, 0}, {[]time.Duration{3}, 3}, {[]time.Duration{5, 1, 3}, 3}, {[]time.Duration{4, 1, 3, 2}, 2}} {
		if got := procstat.Median(tc.in); got != tc.want {
			t.Errorf("Median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
