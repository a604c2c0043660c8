package driver

import (
	"testing"

	"github.com/scalelab/scalelab/bench/record"
)

// A later round's where-the-time-went adds to round 1's: CPU-seconds add,
// CPU per request is over every request, per-view counts are the mean over
// every repeat, and a count that was not measured stays unmeasured.
func TestAddWhereOfRounds(t *testing.T) {
	a := &record.Where{CPUS: map[string]float64{record.CPUApp: 2, record.CPUIdle: 1}, SQLPerView: 3, MCGetsPerView: 1, MachineS: 40, OutsideCPUS: 1}
	b := &record.Where{CPUS: map[string]float64{record.CPUApp: 4, record.CPUIdle: 0.5}, SQLPerView: 6, MCGetsPerView: 4, MachineS: 20, OutsideCPUS: 3, Noisy: 1, Remeasured: 1}
	sum := addWhere(a, b, 2, 1, 3000) // a over 2 repeats, b over 1; 3,000 requests in all
	if sum.CPUS[record.CPUApp] != 6 || sum.CPUS[record.CPUIdle] != 1.5 {
		t.Errorf("CPU-s %v", sum.CPUS)
	}
	if sum.MachineS != 60 || sum.OutsideCPUS != 4 || sum.Noisy != 1 || sum.Remeasured != 1 {
		t.Errorf("machine %v, outside %v, noisy %d, re-measured %d: the rounds' noise does not add up", sum.MachineS, sum.OutsideCPUS, sum.Noisy, sum.Remeasured)
	}
	if got := sum.CPUUsPerRequest[record.CPUApp]; got != 2000 {
		t.Errorf("app CPU per request %v µs, want 2000", got)
	}
	if _, ok := sum.CPUUsPerRequest[record.CPUIdle]; ok {
		t.Error("idle has a CPU per request")
	}
	if sum.SQLPerView != 4 || sum.MCGetsPerView != 2 {
		t.Errorf("per view: sql %v, gets %v; want the means over 3 repeats, 4 and 2", sum.SQLPerView, sum.MCGetsPerView)
	}
	c := addWhere(&record.Where{CPUS: map[string]float64{}, SQLPerView: 2}, &record.Where{CPUS: map[string]float64{}, SQLPerView: -1, Note: "not counted"}, 1, 1, 10)
	if c.SQLPerView != -1 || c.Note != "not counted" {
		t.Errorf("an unmeasured round: sql %v, note %q", c.SQLPerView, c.Note)
	}
	if got := addWhere(nil, b, 0, 1, 10); got == b || got.SQLPerView != 6 {
		t.Error("the first round's where is not a copy")
	}
}

func TestInterleavedOnlyWithSeveralStagesAndRepeats(t *testing.T) {
	two := LabStages()[:2]
	for _, tc := range []struct {
		o    Options
		plan []Stage
		want bool
	}{
		{Options{Repeat: 3}, two, true},
		{Options{Repeat: 1}, two, false},
		{Options{Repeat: 3}, two[:1], false},
		{Options{Repeat: 3, Fault: &Fault{Kind: "db-restart"}}, two, false},
	} {
		if got := interleaved(tc.o, tc.plan); got != tc.want {
			t.Errorf("interleaved(repeat %d, %d stages, fault %v) = %v", tc.o.Repeat, len(tc.plan), tc.o.Fault != nil, got)
		}
	}
}

// A stage's speed probe over interleaved rounds is the median of every
// round's measurements, not lost when the rounds' Wheres are added.
func TestRoundsKeepTheSpeedProbe(t *testing.T) {
	rec := func(probe float64) *record.Record {
		r := &record.Record{}
		r.Results.Requests, r.Results.RequestsPerS = 100, 10
		r.Results.CPU.SpeedProbeMs, r.Results.CPU.SpeedProbes = probe, 16
		return r
	}
	x := &Result{}
	for _, probe := range []float64{2.0, 3.0, 2.5} {
		r := Result{Where: &record.Where{CPUS: map[string]float64{record.CPUApp: 1}}}
		addRecord(&r, rec(probe))
		if err := addRound(x, r); err != nil {
			t.Fatal(err)
		}
	}
	if got := x.Where.SpeedProbeMs; got != 2.5 {
		t.Errorf("the stage's speed probe over three rounds is %v, want 2.5", got)
	}
	if got := record.SpeedProbeMs([]*record.Record{rec(1), rec(2), nil, {}}); got != 1.5 {
		t.Errorf("the median of probes 1 and 2 (and two without) is %v, want 1.5", got)
	}
}
