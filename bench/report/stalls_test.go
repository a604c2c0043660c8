package report_test

import (
	"strings"
	"testing"
	"time"

	"github.com/scalelab/scalelab/bench/record"
	"github.com/scalelab/scalelab/bench/report"
)

// stalledRecord is a 10 s repeat that answered in its first three seconds
// only; its timeline stops there, as older records' did.
func stalledRecord(started time.Time) *record.Record {
	r := &record.Record{Tool: report.BuiltinTool, Started: started}
	r.Results.Seconds = 10.002
	for t, n := range []int64{300, 40, 20} {
		h := record.NewTimelineHist()
		h.Record(time.Duration(t+1) * time.Millisecond)
		r.Results.Timeline = append(r.Results.Timeline, record.Second{T: t, Requests: n, Hist: h})
	}
	r.Results.Requests = 360
	r.Results.Summarize()
	return r
}

// A stage that stopped answering is flagged in the table, the warnings and
// the no-index verdict, its "× stage before" is a ratio rather than 0.00×,
// and the timeline chart draws its empty seconds.
func TestStalledStageIsFlagged(t *testing.T) {
	start := time.Date(2026, 11, 28, 18, 0, 0, 0, time.UTC)
	run := &record.Run{Version: record.RunVersion, Started: start, Complete: true, Results: []record.Result{
		{Stage: "4", Name: "cached", Tool: report.BuiltinTool, RPS: 30000, RPSRuns: []float64{30000}, DurationS: 10, Verification: "passed"},
		{Stage: "4", NoIndex: true, Name: "cached, no index", Tool: report.BuiltinTool, RPS: 36, RPSRuns: []float64{36}, DurationS: 10,
			Verification: "passed", Records: []*record.Record{stalledRecord(start)}},
	}}
	md := string(report.Markdown(run, nil))
	for _, want := range []string{
		"| 36 (stalled) |",
		"| 0.0012× (one run) |",
		"stage 4 without index: 7 whole seconds stalled",
		"(repeat 1: seconds 3–9)",
		"the longest time without a response was at least 7.0 s",
		"it stalled in 7 seconds (the worst answered 0 req/s",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "0.00×") {
		t.Errorf("report.md prints a collapse as 0.00×:\n%s", md)
	}
	for _, c := range report.Charts(run) {
		if _, err := c.PNG(); err != nil {
			t.Errorf("chart %s: %v", c.Name, err)
		}
	}
}
