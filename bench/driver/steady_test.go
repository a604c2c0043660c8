package driver

import (
	"testing"
	"time"

	"github.com/scalelab/scalelab/bench/loadgen"
)

// feed gives s one snapshot per second (or per dt) with these requests in
// each window, and returns the window at which s first said steady (-1:
// never).
func feed(s *settle, dt time.Duration, counts ...int64) int {
	var p loadgen.Progress
	for i, n := range counts {
		p.Elapsed += dt
		p.Requests += n
		if s.add(p) {
			return i
		}
	}
	return -1
}

func TestSettle(t *testing.T) {
	for _, tc := range []struct {
		name   string
		dt     time.Duration
		counts []int64
		want   int
	}{
		{"steady from the start: the fourth window", time.Second, []int64{10000, 10100, 9950, 10000}, 3},
		{"a cache warming: steady once it stops climbing", time.Second,
			[]int64{3000, 6000, 9000, 12000, 14000, 14500, 14600, 14400, 14500}, 7},
		// A machine's noise is not a trend: windows 8% apart, alternately.
		{"noise is steady", time.Second, []int64{10000, 10800, 10000, 10800, 10000}, 3},
		{"a climb of 3% a second is not steady", time.Second, []int64{10000, 10300, 10600, 10900, 11200, 11500, 11800, 12100}, -1},
		{"a stall is not steady until it has passed", time.Second, []int64{10000, 10000, 0, 10000, 10000, 10000, 10000, 10000}, 6},
		{"a dip is not steady", time.Second, []int64{10000, 10000, 7000, 10000, 10000}, -1},
		{"nothing answered", time.Second, []int64{0, 0, 0, 0, 0}, -1},
		{"a 5% step is steady", time.Second, []int64{10000, 10000, 10500, 10500}, 3},
		{"a 6% step is steady once its windows are the later ones", time.Second, []int64{10000, 10000, 10600, 10600, 10600}, 4},
		// 80 requests a second vary by about 11% from counting alone: the
		// tolerances widen to 3/sqrt(80), 34%.
		{"a slow stage's counting noise", time.Second, []int64{80, 72, 98, 80}, 3},
		{"a slow stage that stalls", time.Second, []int64{80, 40, 80, 40, 80, 40}, -1},
		// After a stall, a trickle of 1 request a second is within its
		// counting noise, but far below what the stage did before.
		{"a stall after a good start", time.Second, []int64{10000, 12000, 1, 1, 1, 1}, -1},
		// Windows of 2 s (a busy machine's late ticker): rates, not
		// counts, are compared.
		{"uneven windows", 2 * time.Second, []int64{20000, 20000, 20200, 20100}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := feed(&settle{}, tc.dt, tc.counts...); got != tc.want {
				t.Errorf("steady at window %d, want %d (rates %v)", got, tc.want, tc.counts)
			}
		})
	}
}

// A snapshot at the same elapsed time as the last (a ticker that fired
// twice) is not a window.
func TestSettleIgnoresEmptyWindows(t *testing.T) {
	s := &settle{}
	p := loadgen.Progress{Elapsed: time.Second, Requests: 100}
	s.add(p)
	s.add(p)
	if len(s.rates) != 1 {
		t.Errorf("%d windows from two snapshots of the same second", len(s.rates))
	}
	if got := s.recent(); got != 100 {
		t.Errorf("recent = %v, want 100", got)
	}
}
