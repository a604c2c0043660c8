package record_test

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchmath"

	"github.com/scalelab/scalelab/bench/record"
)

// loadRecord is one repeat of the built-in tool: n requests in secs
// seconds, every one of them lat long, and cpu CPU-seconds in all.
func loadRecord(n int64, secs float64, lat time.Duration, cpu float64) *record.Record {
	rec := &record.Record{Tool: "scalelab load"}
	h := record.NewHist()
	for range n {
		h.Record(lat)
	}
	rec.Results = record.Results{Seconds: secs, Requests: n, Latency: record.Latency{Hist: h}, Errors: map[string]int64{}, Status: map[string]int64{},
		CPU: record.CPU{ClientUserS: cpu / 2, Watched: []record.ProcCPU{{PID: 1, UserS: cpu / 2}}}}
	rec.Results.Summarize()
	return rec
}

// stageResult is a stage measured by the built-in tool, one record per
// element of rps (one-second repeats, latency 1000/rps ms).
func stageResult(stage string, rps ...float64) record.Result {
	x := record.Result{Stage: stage, Name: "stage " + stage, Tool: "scalelab load", Connections: 8, DurationS: 1, Verification: "passed"}
	for _, r := range rps {
		rec := loadRecord(int64(r), 1, time.Duration(float64(time.Second)/r), 0.5)
		x.Records = append(x.Records, rec)
		x.RPSRuns = append(x.RPSRuns, rec.Results.RequestsPerS)
		x.Requests += rec.Results.Requests
	}
	x.RPS = x.RPSRuns[len(x.RPSRuns)/2]
	return x
}

// readBench parses bench.txt as benchstat does and returns each
// benchmark's values of unit, in file order.
func readBench(t *testing.T, b []byte, unit string) (map[string][]float64, map[string]string) {
	t.Helper()
	values, config := map[string][]float64{}, map[string]string{}
	rd := benchfmt.NewReader(bytes.NewReader(b), "bench.txt")
	for rd.Scan() {
		switch r := rd.Result().(type) {
		case *benchfmt.SyntaxError:
			t.Fatalf("bench.txt: %v", r)
		case *benchfmt.Result:
			for _, c := range r.Config {
				config[c.Key] = string(c.Value)
			}
			if v, ok := r.Value(unit); ok {
				values[r.Name.String()] = append(values[r.Name.String()], v)
			}
		}
	}
	if err := rd.Err(); err != nil {
		t.Fatal(err)
	}
	return values, config
}

// bench.txt has one line per repeat with that repeat's own figures, keyed
// names, the machine in its configuration and throughput as a
// higher-is-better unit.
func TestBenchFmtOneLinePerRepeat(t *testing.T) {
	base := stageResult("1", 100, 110, 90)
	base.Records[1] = loadRecord(110, 1, 20*time.Millisecond, 0.5) // one repeat slower per request
	run := &record.Run{Commit: "abc", Machine: record.Machine{CPUModel: "Test CPU", Cores: 2},
		Results: []record.Result{base, stageResult("4", 1000), {Stage: "4", Name: "cached", Tool: "ab", RPS: 900, RPSRuns: []float64{900}, DurationS: 1, P50Ms: 1, P99Ms: 2}}}
	run.Results[1].NoIndex = true
	b := run.BenchFmt()
	rps, config := readBench(t, b, record.UnitRPS)
	if config["cpu"] != "Test CPU" || config["cores"] != "2" || config["commit"] != "" {
		t.Errorf("configuration %v: want the machine, and no commit (two commits must compare in one table)", config)
	}
	want := map[string][]float64{
		"Stage/stage=1/tool=scalelab":         {100, 110, 90},
		"Stage/stage=4-noindex/tool=scalelab": {1000},
		"Stage/stage=4/tool=ab":               {900},
	}
	for name, w := range want {
		if got := rps[name]; !equal(got, w) {
			t.Errorf("%s: req/s %v, want %v\n%s", name, got, w, b)
		}
	}
	p99, _ := readBench(t, b, record.UnitP99)
	if got := p99["Stage/stage=1/tool=scalelab"]; len(got) != 3 || got[1] < 0.019 || got[0] > 0.011 {
		t.Errorf("p99 per repeat %v: each repeat's own (the second 20 ms), not the merged one copied", got)
	}
	cpu, _ := readBench(t, b, record.UnitCPUPerRq)
	if got := cpu["Stage/stage=1/tool=scalelab"]; len(got) != 3 || got[0] != 0.005 {
		t.Errorf("CPU per request %v, want 0.005 s (1 CPU-s over 100 requests) first", got)
	}
	if !strings.Contains(string(b), "Unit req/s better=higher") {
		t.Errorf("bench.txt does not say more req/s is better:\n%s", b)
	}
}

// A 30% drop over 5 repeats is significant by benchstat's own test, as
// bench.txt hands the repeats to it.
func TestBenchFmtThirtyPercentDropIsSignificant(t *testing.T) {
	old := &record.Run{Results: []record.Result{stageResult("2", 1000, 1010, 990, 1020, 980)}}
	slower := &record.Run{Results: []record.Result{stageResult("2", 700, 707, 693, 714, 686)}}
	a, _ := readBench(t, old.BenchFmt(), record.UnitRPS)
	b, _ := readBench(t, slower.BenchFmt(), record.UnitRPS)
	name := "Stage/stage=2/tool=scalelab"
	cmp := benchmath.AssumeNothing.Compare(benchmath.NewSample(a[name], &benchmath.DefaultThresholds), benchmath.NewSample(b[name], &benchmath.DefaultThresholds))
	if cmp.P >= cmp.Alpha {
		t.Errorf("30%% drop over 5 repeats: p=%.3f, want < %.2f", cmp.P, cmp.Alpha)
	}
}

// summary.csv: totals are totals, rates and latencies the result's,
// and what does not apply or was not measured an empty cell.
func TestCSVConsistentRows(t *testing.T) {
	run := &record.Run{Results: []record.Result{
		{Stage: "0", Page: "static", Name: "baseline", Tool: "scalelab load", Connections: 8, RPS: 5000, RPSRuns: []float64{5000}, DurationS: 1},
		stageResult("1", 100, 110, 90),
		{Stage: "3", Name: "load-balanced", Tool: "scalelab load", Rate: 500, Verification: "differs from stage 2", TalkRPS: 217},
	}}
	run.Results[1].TalkRPS = 23
	run.Results[1].AppCost = &record.AppCost{PerRequestMs: 7, StartMs: 36}
	run.Results[1].Where = &record.Where{SpeedProbeMs: 1.6}
	rows, err := csv.NewReader(bytes.NewReader(run.CSV())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, c := range rows[0] {
		col[c] = i
	}
	cell := func(row int, name string) string { return rows[row][col[name]] }
	if cell(1, "speedup_over_stage1") != "" || cell(1, "talk_requests_per_s") != "" || cell(1, "talk_speedup") != "" {
		t.Errorf("baseline: speed-up %q, talk %q/%q: want empty (not a stage of the site)", cell(1, "speedup_over_stage1"), cell(1, "talk_requests_per_s"), cell(1, "talk_speedup"))
	}
	if cell(2, "repeats") != "3" || cell(2, "measured_s") != "3" || cell(2, "requests") != "300" || cell(2, "speedup_over_stage1") != "1" {
		t.Errorf("stage 1: repeats %q, measured_s %q, requests %q, speed-up %q: want 3, 3 (total seconds), 300 (total), 1",
			cell(2, "repeats"), cell(2, "measured_s"), cell(2, "requests"), cell(2, "speedup_over_stage1"))
	}
	if rps, _ := strconv.ParseFloat(cell(2, "requests_per_s"), 64); rps != 110 && rps != 100 {
		t.Errorf("stage 1 req/s %v", rps)
	}
	for _, c := range []string{"connections", "repeats", "requests", "requests_per_s", "p99_ms", "speedup_over_stage1"} {
		if cell(3, c) != "" {
			t.Errorf("stage 3, not measured (open loop): %s is %q, want empty", c, cell(3, c))
		}
	}
	if cell(2, "app_cpu_ms") != "7" || cell(2, "app_start_cpu_ms") != "36" || cell(2, "speed_probe_ms") != "1.6" {
		t.Errorf("stage 1: app model %q/%q, speed probe %q; want 7, 36, 1.6", cell(2, "app_cpu_ms"), cell(2, "app_start_cpu_ms"), cell(2, "speed_probe_ms"))
	}
	if cell(1, "app_cpu_ms") != "" || cell(1, "speed_probe_ms") != "" {
		t.Errorf("baseline without a model or a probe: %q, %q; want empty", cell(1, "app_cpu_ms"), cell(1, "speed_probe_ms"))
	}
	if cell(3, "rate") != "500" || cell(3, "talk_requests_per_s") != "217" {
		t.Errorf("stage 3: rate %q, talk %q", cell(3, "rate"), cell(3, "talk_requests_per_s"))
	}
}

// Each result with histograms gets an .hgrm file in HdrHistogram's
// percentile-distribution format, values in milliseconds.
func TestWriteExportsHGRM(t *testing.T) {
	dir := t.TempDir()
	run := &record.Run{Results: []record.Result{stageResult("2", 100, 100), {Stage: "2", Name: "app server", Tool: "wrk", RPS: 90, RPSRuns: []float64{90}}}}
	files, err := run.WriteExports(dir)
	if err != nil {
		t.Fatal(err)
	}
	var hgrm []string
	for _, f := range files {
		if filepath.Ext(f) == ".hgrm" {
			hgrm = append(hgrm, filepath.Base(f))
		}
	}
	if len(hgrm) != 1 || hgrm[0] != "latency-2-scalelab.hgrm" {
		t.Fatalf(".hgrm files %v, want latency-2-scalelab.hgrm only (wrk keeps no histogram)", hgrm)
	}
	f, err := os.Open(filepath.Join(dir, hgrm[0]))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var lines int
	var last []string
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 4 && fields[0] != "Value" {
			lines, last = lines+1, fields
		}
	}
	// 200 requests of 10 ms each: every percentile is 10 ms.
	if lines == 0 || last[0] != "10.007" && last[0] != "10.000" || last[2] != "200" {
		t.Errorf("%d percentile lines, the last %v: want 10 ms and 200 requests", lines, last)
	}
}

func equal(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// bench.txt reads back into a run that compares: the same results, their
// repeats' req/s and medians, the machine and the commit.
func TestReadBenchFmtRoundTrip(t *testing.T) {
	run := &record.Run{Commit: "abc123", Machine: record.Machine{CPUModel: "Test CPU", Cores: 4},
		Results: []record.Result{stageResult("1", 100, 110, 90), stageResult("4", 1000, 1200),
			{Stage: "0", Page: "static", Name: "baseline", Tool: "wrk", RPS: 900, RPSRuns: []float64{900}, DurationS: 1, P50Ms: 1.5, P99Ms: 2}}}
	run.Results[1].NoIndex = true
	path := filepath.Join(t.TempDir(), "bench.txt")
	if err := os.WriteFile(path, run.BenchFmt(), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := record.ReadBenchFmt(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Commit != "abc123" || got.Machine.CPUModel != "Test CPU" || got.Machine.Cores != 4 || len(got.Results) != 3 {
		t.Fatalf("read back: commit %q, machine %+v, %d results", got.Commit, got.Machine, len(got.Results))
	}
	for i, want := range run.Results {
		x := got.Results[i]
		if x.Key() != want.Key() || x.Page != want.Page || x.Tool != want.Tool || !equal(x.RPSRuns, want.RPSRuns) || x.Name != stageName(want) {
			t.Errorf("result %d: %s %s %s %v %q, want %s %s %s %v", i, x.Key(), x.Page, x.Tool, x.RPSRuns, x.Name, want.Key(), want.Page, want.Tool, want.RPSRuns)
		}
	}
	if x := got.Results[0]; x.RPS != 100 || x.P99Ms < 10 || x.P99Ms > 10.01 || x.Requests != 300 {
		t.Errorf("stage 1: req/s %v, p99 %v ms, %d requests; want 100, 10, 300", x.RPS, x.P99Ms, x.Requests)
	}
	old := filepath.Join(t.TempDir(), "bench.txt")
	os.WriteFile(old, []byte("cpu: x\nBenchmarkStage2_appserver_scalelabload-2\t100\t1000 ns/op\n"), 0o644)
	if _, err := record.ReadBenchFmt(old); err == nil || !strings.Contains(err.Error(), "scalelab plot") {
		t.Errorf("an older bench.txt: %v, want an error saying how to rewrite it", err)
	}
}

func stageName(x record.Result) string {
	switch {
	case x.NoIndex:
		return "cached, no index"
	case x.Stage == "0":
		return "baseline"
	case x.Stage == "1":
		return "CGI"
	}
	return "cached"
}

// A stage measured with the app modelled is another benchmark than the
// same stage with Go as it is, and reads back with its model.
func TestBenchNameKeepsTheAppModel(t *testing.T) {
	plain, modelled := stageResult("3", 100), stageResult("3", 50)
	modelled.AppCost = &record.AppCost{PerRequestMs: 0.25, StartMs: 36}
	if plain.BenchName() == modelled.BenchName() || !strings.HasSuffix(modelled.BenchName(), "/appcpu=0.25ms") {
		t.Errorf("names %q and %q", plain.BenchName(), modelled.BenchName())
	}
	if plain.HGRMName() == modelled.HGRMName() {
		t.Errorf("one .hgrm name for both: %q", plain.HGRMName())
	}
	run := &record.Run{Machine: record.Machine{Cores: 2}, Results: []record.Result{plain, modelled}}
	path := filepath.Join(t.TempDir(), "bench.txt")
	if err := os.WriteFile(path, run.BenchFmt(), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := record.ReadBenchFmt(path)
	if err != nil || len(got.Results) != 2 {
		t.Fatalf("read back: %v, %+v", err, got)
	}
	if got.Results[0].AppCost != nil || got.Results[1].AppCost == nil || got.Results[1].AppCost.PerRequestMs != 0.25 {
		t.Errorf("models read back: %+v, %+v", got.Results[0].AppCost, got.Results[1].AppCost)
	}
}
