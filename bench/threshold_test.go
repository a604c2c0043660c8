package bench_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/scalelab/scalelab/bench"
	"github.com/scalelab/scalelab/bench/record"
)

func TestParseThreshold(t *testing.T) {
	for _, tc := range []struct {
		expr, stage, metric, op string
		limit                   float64
		share                   bool
	}{
		{"p99<100ms", "", "p99", "<", 100, false},
		{" p50 <= 5ms ", "", "p50", "<=", 5, false},
		{"p99.9<2s", "", "p99.9", "<", 2000, false},
		{"max<1ns", "", "max", "<", 1e-6, false},
		{"errors<0.1%", "", "errors", "<", 0.001, true},
		{"errors<=5", "", "errors", "<=", 5, false},
		{"rps>1000", "", "rps", ">", 1000, false},
		{"stage=4:rps>=10000", "4", "rps", ">=", 10000, false},
		{"stage=cached:p99<10ms", "4", "p99", "<", 10, false},
		{"stage=4-noindex:errors<1%", "4-noindex", "errors", "<", 0.01, true},
	} {
		th, err := bench.ParseThreshold(tc.expr)
		if err != nil {
			t.Errorf("%q: %v", tc.expr, err)
			continue
		}
		if th.Stage != tc.stage || th.Metric != tc.metric || th.Op != tc.op || th.Limit != tc.limit || th.Share != tc.share {
			t.Errorf("%q: %+v", tc.expr, th)
		}
	}
	for _, bad := range []string{"", "p99", "p99<", "p99<100", "p99<-1ms", "p98<1ms", "rps>fast", "rps>NaN", "errors<200%", "errors<-1",
		"stage=9:rps>1", "stage=2-noindex:rps>1", "stg=4:rps>1", "<100ms", "p99=100ms"} {
		_, err := bench.ParseThreshold(bad)
		if err == nil || !errors.Is(err, bench.ErrUsage) || !strings.Contains(err.Error(), "e.g.") {
			t.Errorf("%q: %v, want a usage error with an example", bad, err)
		}
	}
}

func TestThresholdCheck(t *testing.T) {
	m := bench.Measured{RPS: 2000, P50Ms: 1, P99Ms: 50, MaxMs: 200, Errors: 3, Sent: 1000}
	for _, tc := range []struct {
		expr  string
		pass  bool
		value float64
	}{
		{"p99<100ms", true, 50}, {"p99<50ms", false, 50}, {"p99<=50ms", true, 50},
		{"rps>1000", true, 2000}, {"rps>=2001", false, 2000},
		{"errors<0.1%", false, 0.3}, {"errors<0.5%", true, 0.3}, {"errors<3", false, 3}, {"errors<=3", true, 3},
		{"max<1s", true, 200},
	} {
		th, err := bench.ParseThreshold(tc.expr)
		if err != nil {
			t.Fatal(err)
		}
		if c := th.Check(m); c.Pass != tc.pass || c.Value != tc.value {
			t.Errorf("%s: pass %v value %v, want %v %v (%s)", tc.expr, c.Pass, c.Value, tc.pass, tc.value, c)
		}
	}
}

// A run's thresholds apply to every main result or to one stage's, and a
// stage that measured nothing fails them.
func TestCheckRun(t *testing.T) {
	run := &record.Run{Results: []record.Result{
		{Stage: "2", Tool: "scalelab load", RPS: 500, RPSRuns: []float64{500}, P99Ms: 20},
		{Stage: "4", Tool: "scalelab load", RPS: 9000, RPSRuns: []float64{9000}, P99Ms: 5},
		{Stage: "4", Tool: "scalelab load", RPS: 3000, Connections: 1, Sweep: true},
		{Stage: "4", NoIndex: true, Tool: "scalelab load", Verification: "GET /: 503"},
	}}
	ts, err := bench.ParseThresholds([]string{"p99<10ms", "stage=4:rps>10000"})
	if err != nil {
		t.Fatal(err)
	}
	checks := bench.CheckRun(ts, run)
	var got []string
	for _, c := range checks {
		got = append(got, c.String())
	}
	want := []string{
		"p99<10ms: stage 2 (scalelab load) 20 ms: BREACHED",
		"p99<10ms: stage 4 (scalelab load) 5 ms: pass",
		"p99<10ms: stage 4-noindex (scalelab load) not measured (GET /: 503): BREACHED",
		"stage=4:rps>10000: stage 4 (scalelab load) 9000 req/s: BREACHED",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("checks:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	err = bench.ThresholdError(checks)
	if err == nil || !strings.Contains(err.Error(), "3 threshold check(s) breached") {
		t.Errorf("ThresholdError: %v", err)
	}
}
