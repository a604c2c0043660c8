package loadgen

import (
	"context"
	"testing"
	"time"

	"github.com/scalelab/scalelab/bench/record"
)

// TestLongestGap feeds the run's clock by hand: the longest gap is the
// longest time without a response, counted from the start and to the end
// too, and a response reported late by one worker (an earlier time after
// a later one) is not a gap.
func TestLongestGap(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	for _, c := range []struct {
		name      string
		responses []int // ms since the start, in the order workers report them
		end       int
		want      int
	}{
		{"steady", []int{100, 200, 300, 400}, 450, 100},
		{"a stall inside", []int{100, 200, 1500, 1600, 1550, 1700}, 2000, 1300},
		{"slow to start", []int{900, 1000}, 1100, 900},
		{"stopped before the end", []int{100, 200}, 3000, 2800},
		{"no response", nil, 1000, 1000},
	} {
		t.Run(c.name, func(t *testing.T) {
			run := newRunState(context.Background(), &Options{})
			defer run.cancel()
			w := newRecorder(run)
			for _, r := range c.responses {
				w.ok(ms(r), time.Millisecond, 200, false)
			}
			w.close()
			var res record.Results
			run.results(&res, ms(c.end))
			if res.LongestGapMs != float64(c.want) {
				t.Errorf("longest gap %.1f ms, want %d", res.LongestGapMs, c.want)
			}
			// Every whole second of the run is in the timeline.
			if len(res.Timeline) < c.end/1000 {
				t.Errorf("timeline of %d seconds for a run of %d ms", len(res.Timeline), c.end)
			}
		})
	}
}
