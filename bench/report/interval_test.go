package report_test

import (
	"strings"
	"testing"
	"time"

	"github.com/scalelab/scalelab/bench/record"
	"github.com/scalelab/scalelab/bench/report"
)

// Every ratio in the table carries its interval, and a step is called a
// gain or a loss only when its interval excludes 1. The run is measured in
// five interleaved rounds, so each ratio is the median of the per-round
// ratios: round 3 was slow for every stage and cancels out.
func TestTableIntervals(t *testing.T) {
	result := func(stage, name string, runs ...float64) record.Result {
		return record.Result{Stage: stage, Name: name, Tool: report.BuiltinTool, RPSRuns: runs, RPS: median(runs), DurationS: 10, Verification: "passed"}
	}
	run := &record.Run{Version: record.RunVersion, Started: time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC), Complete: true,
		Settings: record.RunSettings{Repeat: 5, Order: []string{"1#1", "2#1", "3#1", "4#1", "1#2", "2#2", "3#2", "4#2"}},
		Results: []record.Result{
			result("1", "cgi", 20, 22, 10, 21, 19),
			// Stage 2: 5x stage 1 in every round, 100 or 50 (round 3).
			result("2", "app server", 100, 110, 50, 105, 95),
			// Stage 3 against stage 2, per round: 0.9, 1.09, 1.1, 0.95,
			// 1.05: its interval holds 1 (median 1.05).
			result("3", "balanced", 90, 120, 55, 100, 100),
			// Stage 4 against stage 3, per round: 3.33, 3.33, 3.27, 3.2,
			// 3.3.
			result("4", "cached", 300, 400, 180, 320, 330),
		}}
	md := string(report.Markdown(run, nil))
	for _, want := range []string{
		"| 20 | 10–22 (93%, 5 runs) |",                             // stage 1's median and range at 1 - 2/32
		"| 5.00× (5.00–5.00, 93%) | 5.00× (5.00–5.00, 93%) gain |", // stage 2, every round alike
		"1.05× (0.90–1.10, 93%) within noise",                      // stage 3 over stage 2
		"| 1.56×, above ours |",                                    // the talk's stage 3 step is not in ours
		"3.30× (3.20–3.33, 93%) gain",                              // stage 4 over stage 3
		"| 2.84×, below ours |",                                    // the talk's stage 4 step
		"| 1.00× | – |",                                            // stage 1 over itself, no interval
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q:\n%s", want, md)
		}
	}
	steps := strings.Join(report.Steps(run), "\n")
	for _, want := range []string{
		"stage 2 app server: 5.00× the stage before (5.00–5.00× at 93%): gain; the talk: 6.04×, above ours",
		"stage 3 balanced: 1.05× the stage before (0.90–1.10× at 93%): within noise; the talk: 1.56×, above ours",
	} {
		if !strings.Contains(steps, want) {
			t.Errorf("the steps lack %q:\n%s", want, steps)
		}
	}
	html, err := report.HTML(run, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(html), "within noise over the stage before") {
		t.Errorf("report.html does not say stage 3 is within noise:\n%s", html)
	}
}

func median(xs []float64) float64 { return record.MedianInterval(xs).Center }

// The warm-ups are listed per stage, and one that did not settle is a
// warning: its measurement may not be of a steady state.
func TestWarmupsShown(t *testing.T) {
	run := &record.Run{Version: record.RunVersion, Complete: true, Results: []record.Result{
		{Stage: "2", Tool: report.BuiltinTool, RPS: 100, RPSRuns: []float64{100, 100}, Verification: "passed",
			Warmups: []record.Warmup{{Seconds: 4, Settled: true, RequestsPerS: 100}, {Seconds: 15, Settled: false, RequestsPerS: 90}}},
		{Stage: "4", Tool: report.BuiltinTool, RPS: 900, RPSRuns: []float64{900}, Verification: "passed",
			Warmups: []record.Warmup{{Seconds: 3, Settled: true, RequestsPerS: 900, PrimeRequests: 12000, PrimeSeconds: 9}}},
	}}
	md := string(report.Markdown(run, nil))
	for _, want := range []string{
		"**Warm-ups:**",
		"Stage 2: 2 warm-ups of 4–15 s, 1 of them steady.",
		"Stage 4: a warm-up of 3 s, steady; its cache primed with 12,000 requests in all.",
		"the warm-up of round 2 did not settle in 15 s",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "round 1 did not settle") {
		t.Errorf("round 1 settled:\n%s", md)
	}
}
