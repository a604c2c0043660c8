package record_test

import (
	"reflect"
	"testing"

	"github.com/scalelab/scalelab/bench/record"
)

// timeline makes a record of a run of seconds whose timeline has the given
// responses per second; a missing second (as older records left them out)
// is absent from the map.
func timeline(seconds float64, gapMs float64, reqs map[int]int64) *record.Record {
	r := &record.Record{}
	r.Results.Seconds = seconds
	r.Results.LongestGapMs = gapMs
	last := -1
	for t := range reqs {
		last = max(last, t)
	}
	for t := 0; t <= last; t++ {
		if n, ok := reqs[t]; ok {
			r.Results.Timeline = append(r.Results.Timeline, record.Second{T: t, Requests: n})
		}
	}
	return r
}

func TestStallsOf(t *testing.T) {
	// 16.3 s: a hole at 2, a zero at 3, 9 and 10 responses at 4 and 5
	// against a median of 100 (10% of it is 10: 9 stalls, 10 does not),
	// 14 and 15 missing at the end, and the partial second 16 empty. No
	// gap measured: the timeline's is the empty run from 14 to the end.
	a := map[int]int64{0: 100, 1: 100, 3: 0, 4: 9, 5: 10}
	for s := 6; s <= 13; s++ {
		a[s] = 100
	}
	// 3 s, steady, its partial second not judged, the gap measured.
	b := map[int]int64{0: 50, 1: 50, 2: 50, 3: 5}
	// 3.5 s, answering only in its first second and its partial last:
	// the median is zero, the empty seconds stall all the same, and the
	// empty run ends before the run does.
	c := map[int]int64{0: 10, 3: 4}

	got := record.StallsOf([]*record.Record{timeline(16.3, 0, a), timeline(3, 1234.5, b), timeline(3.5, 0, c)})
	want := &record.Stalls{
		WorstRPS: 0, WorstRepeat: 1, WorstT: 2,
		Count: 7,
		Seconds: []record.StalledSecond{
			{1, 2, 0}, {1, 3, 0}, {1, 4, 9}, {1, 14, 0}, {1, 15, 0},
			{3, 1, 0}, {3, 2, 0},
		},
		LongestGapMs: 2300, GapEstimated: true,
	}
	if got.LongestGapMs > 2299.99 && got.LongestGapMs < 2300.01 {
		got.LongestGapMs = 2300 // 16.3 - 14 in floating point
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("StallsOf:\n got %+v\nwant %+v", got, want)
	}
	if !got.Stalled() {
		t.Error("Stalled() false with stalled seconds")
	}
	if s, want := got.String(), "7 stalled seconds (no response, or under 10% of the median second); worst second 0 req/s; longest gap at least 2.3 s"; s != want {
		t.Errorf("String() = %q, want %q", s, want)
	}

	steady := record.StallsOf([]*record.Record{timeline(3, 1234.5, b)})
	if steady.Stalled() || steady.WorstRPS != 50 || steady.LongestGapMs != 1234.5 || steady.GapEstimated {
		t.Errorf("steady run: %+v, want no stall, worst 50, the measured gap", steady)
	}
	if s, want := steady.String(), "none; worst second 50 req/s; longest gap 1.2 s"; s != want {
		t.Errorf("String() = %q, want %q", s, want)
	}
	if s := record.StallsOf([]*record.Record{{}, nil}); s != nil || s.Stalled() {
		t.Errorf("records without timelines: %+v, want nil", s)
	}
}

// TestCommittedNoIndexStalls reads the committed run whose no-index stage
// answered nothing after its first seconds: a version 1 record, without
// the stalls, whose timelines end early. ReadRun must find them.
func TestCommittedNoIndexStalls(t *testing.T) {
	run, err := record.ReadRun("../../results/20261128T184105Z-vm/run.json")
	if err != nil {
		t.Skipf("committed run not readable here: %v", err)
	}
	for _, x := range run.Results {
		switch {
		case x.NoIndex:
			s := x.Stalls
			if !s.Stalled() || s.WorstRPS != 0 || !s.GapEstimated || s.LongestGapMs < 5000 {
				t.Errorf("no-index stage: %+v, want its empty seconds 5 to 9 as stalls and a gap of 5 s at least", s)
			}
		case x.Stalls.Stalled():
			t.Errorf("stage %s stalled: %+v", x.Key(), x.Stalls)
		}
	}
}
