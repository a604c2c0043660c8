package driver

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scalelab/scalelab/bench/record"
	"github.com/scalelab/scalelab/internal/appcost"
	"github.com/scalelab/scalelab/stages"
)

func TestParseWrk(t *testing.T) {
	for _, tc := range []struct {
		file           string
		rps            float64
		requests       int64
		errors         int64
		p50, p99, maxv float64
	}{
		// Numbers as printed in the saved outputs of real runs.
		{"wrk-static.txt", 0, 0, 0, 0, 0, 0},
		{"wrk-404.txt", 121241.97, 254576, 254576, 0.109, 0.225, 2.14},
	} {
		b, err := os.ReadFile(filepath.Join("testdata", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		r, err := ParseWrk(string(b))
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if r.RPS <= 0 || r.Requests <= 0 || r.P50Ms <= 0 || r.P99Ms < r.P50Ms || r.MaxMs < r.P99Ms || r.DurationS <= 0 {
			t.Errorf("%s: implausible %+v", tc.file, r)
		}
		if tc.rps != 0 && (r.RPS != tc.rps || r.Requests != tc.requests || r.Errors != tc.errors || !near(r.P50Ms, tc.p50) || !near(r.P99Ms, tc.p99) || !near(r.MaxMs, tc.maxv)) {
			t.Errorf("%s: got rps %v requests %d errors %d p50 %v p99 %v max %v", tc.file, r.RPS, r.Requests, r.Errors, r.P50Ms, r.P99Ms, r.MaxMs)
		}
	}
	if _, err := ParseWrk("unable to connect to 127.0.0.1:1 Connection refused"); err == nil {
		t.Error("ParseWrk accepted an output without a result")
	}
}

func TestParseAB(t *testing.T) {
	b, err := os.ReadFile("testdata/ab-404.txt")
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseAB(string(b))
	if err != nil {
		t.Fatal(err)
	}
	if r.RPS != 100216.55 || r.Requests != 200434 || r.Errors != 200434 || r.MaxMs != 8 || r.P99Ms != 1 {
		t.Errorf("ab-404.txt: %+v", r)
	}
	b, _ = os.ReadFile("testdata/ab-static.txt")
	if r, err := ParseAB(string(b)); err != nil || r.RPS != 82126.47 || r.Errors != 0 || r.Requests != 164254 {
		t.Errorf("ab-static.txt: %+v %v", r, err)
	}
	if _, err := ParseAB("ab: invalid URL"); err == nil {
		t.Error("ParseAB accepted an output without a result")
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }

func TestRunRecordRoundTrip(t *testing.T) {
	dir := t.TempDir()
	run := &Run{Version: record.RunVersion, Started: time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC), Complete: true,
		Machine: Machine{Hostname: "h", Cores: 2}, Settings: Settings{Stages: []string{"1", "2"}, Users: 10, DurationS: 1},
		Results: []Result{
			{Stage: "1", Name: "CGI", Tool: "scalelab load", RPS: 100, RPSRuns: []float64{90, 100, 110}, DurationS: 1, TalkRPS: 23, Verification: "passed"},
			{Stage: "2", Name: "app server", Tool: "scalelab load", RPS: 1000, RPSRuns: []float64{1000}, DurationS: 1, TalkRPS: 139, Verification: "passed"},
		}}
	if err := run.Write(dir); err != nil {
		t.Fatal(err)
	}
	got, err := ReadRun(filepath.Join(dir, "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Results) != 2 || got.Results[1].RPS != 1000 || !got.Started.Equal(run.Started) || got.Stage1RPS("scalelab load") != 100 {
		t.Errorf("round trip: %+v", got)
	}
	csv, _ := os.ReadFile(filepath.Join(dir, "summary.csv"))
	if !strings.Contains(string(csv), "2,app server,,scalelab load,,,1,1,0,0,1000,,0,0,0,0,0,,,10,139,6.04,passed") {
		t.Errorf("summary.csv:\n%s", csv)
	}
	bench, _ := os.ReadFile(filepath.Join(dir, "bench.txt"))
	if n := strings.Count(string(bench), "\nBenchmarkStage"); n != 4 {
		t.Errorf("bench.txt has %d benchmark lines, want 4 (one per repeat):\n%s", n, bench)
	}
	// A record of another version is refused, not misread.
	run.Version = record.RunVersion + 1
	run.Write(dir)
	if _, err := ReadRun(filepath.Join(dir, "run.json")); err == nil || !strings.Contains(err.Error(), "version") {
		t.Errorf("newer record: %v", err)
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// The stage without its index runs, and is verified against a reference
// that runs, with the long deadline: its pages are slow, not refused.
func TestNoIndexStageHasTheLongDeadline(t *testing.T) {
	lab := LabStages()
	st := lab[len(lab)-1]
	if !st.NoIndex {
		t.Fatal("the lab's last stage is not the one without its index")
	}
	want := "--no-index --query-timeout " + NoIndexQueryTimeout.String()
	if got := strings.Join(st.serveArgs(), " "); !strings.HasSuffix(got, want) {
		t.Errorf("serve %s, want it to end with %s", got, want)
	}
	if got := strings.Join(st.referenceArgs(), " "); got != "2 --query-timeout "+NoIndexQueryTimeout.String() {
		t.Errorf("its reference: serve %s", got)
	}
	two, _ := FindStage("2")
	if got := strings.Join(two.serveArgs(), " "); got != "2" {
		t.Errorf("stage 2: serve %s, want the default deadline", got)
	}
}

// The app model reaches every stage of the site the driver starts, not
// stage 0's baselines, and a default run's command line is unchanged.
func TestAppCostsReachTheServedStages(t *testing.T) {
	o := Options{AppCosts: appcost.Costs{PerRequest: 7 * time.Millisecond, Start: 36 * time.Millisecond}}
	for _, st := range LabStages() {
		got := strings.Join(o.serveArgs(st), " ")
		has := strings.Contains(got, "--app-cpu 7ms --app-start-cpu 36ms")
		if has == (st.Process == stages.Baselines) {
			t.Errorf("stage %s: serve %s", st.Key(), got)
		}
	}
	if c := o.recordedCost(); c == nil || c.PerRequestMs != 7 || c.StartMs != 36 {
		t.Errorf("recorded as %+v", c)
	}
	var plain Options
	two, _ := FindStage("2")
	if got := strings.Join(plain.serveArgs(two), " "); got != "2" || plain.recordedCost() != nil {
		t.Errorf("without the model: serve %s, recorded %+v", got, plain.recordedCost())
	}
}

// A crossover run sets the app's cost itself and measures nothing else.
func TestCrossoverOptions(t *testing.T) {
	base := Options{Users: 10, Connections: 1, Duration: time.Second, Repeat: 1, CapacityStep: time.Second, Crossover: CrossoverCosts}
	if err := base.checkMeasurement(); err != nil {
		t.Fatalf("a plain crossover: %v", err)
	}
	for name, o := range map[string]Options{
		"--app-cpu": {AppCosts: appcost.Costs{PerRequest: time.Millisecond}},
		"--sweep":   {Sweep: []int{1, 2}},
		"--tool":    {Tools: []string{"ab"}},
	} {
		bad := base
		bad.AppCosts, bad.Sweep, bad.Tools = o.AppCosts, o.Sweep, o.Tools
		if err := bad.checkMeasurement(); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("crossover with %s: %v", name, err)
		}
	}
	if len(CrossoverCosts) < 6 || CrossoverCosts[0] != 0 {
		t.Errorf("the crossover's costs %v: want at least 6, from Go as it is", CrossoverCosts)
	}
}
