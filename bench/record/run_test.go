package record_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scalelab/scalelab/bench/record"
)

// A version 1 record (the report's fixture, written by an earlier
// scalelab) reads as version 2: the same numbers under the new names.
func TestReadRunUpgradesVersion1(t *testing.T) {
	const v1 = "../report/testdata/run.json"
	raw, err := os.ReadFile(v1)
	if err != nil {
		t.Fatal(err)
	}
	var old struct {
		Version int `json:"version"`
		Results []struct {
			Stage string  `json:"stage"`
			RPS   float64 `json:"rps"`
			Where *struct {
				CPUS map[string]float64 `json:"cpu_s"`
			} `json:"where"`
		} `json:"results"`
	}
	if err := json.Unmarshal(raw, &old); err != nil || old.Version != 1 {
		t.Fatalf("fixture: version %d, %v", old.Version, err)
	}
	run, err := record.ReadRun(v1)
	if err != nil {
		t.Fatal(err)
	}
	if run.Version != record.RunVersion || len(run.Results) != len(old.Results) {
		t.Fatalf("version %d, %d results; want %d, %d", run.Version, len(run.Results), record.RunVersion, len(old.Results))
	}
	sawNoIndex := false
	for i, x := range run.Results {
		o := old.Results[i]
		if x.Key() != o.Stage || x.RPS != o.RPS || x.RPS == 0 && o.RPS != 0 {
			t.Errorf("result %d: key %q rps %g, was %q %g", i, x.Key(), x.RPS, o.Stage, o.RPS)
		}
		if strings.HasSuffix(o.Stage, "-noindex") {
			sawNoIndex = true
			if !x.NoIndex || strings.Contains(x.Stage, "-") {
				t.Errorf("result %d: stage %q no_index %v, want the variant as a field", i, x.Stage, x.NoIndex)
			}
		}
		if o.Where == nil {
			continue
		}
		var before, after float64
		for _, v := range o.Where.CPUS {
			before += v
		}
		for k, v := range x.Where.CPUS {
			after += v
			if !contains(record.CPUComponents, k) {
				t.Errorf("result %d: CPU component %q is not one of %v", i, k, record.CPUComponents)
			}
		}
		if before != after {
			t.Errorf("result %d: %g CPU-s upgraded to %g", i, before, after)
		}
	}
	if !sawNoIndex {
		t.Error("the fixture has no stage without its index: the upgrade of the variant is untested")
	}
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// A record written is read back the same, with its summary.csv and
// bench.txt; one of a newer version is refused, not misread.
func TestRunWriteRead(t *testing.T) {
	dir := t.TempDir()
	run := &record.Run{Version: record.RunVersion, Started: time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC), Complete: true,
		Machine: record.Machine{Hostname: "h", Cores: 2},
		Results: []record.Result{
			{Stage: "1", Name: "CGI", Tool: "scalelab load", RPS: 100, RPSRuns: []float64{100}, DurationS: 1},
			{Stage: "4", NoIndex: true, Name: "cached, no index", Tool: "scalelab load", RPS: 50, RPSRuns: []float64{50}, DurationS: 1,
				Where: &record.Where{CPUS: map[string]float64{record.CPUPostgres: 1.5}}},
		}}
	if err := run.Write(dir); err != nil {
		t.Fatal(err)
	}
	got, err := record.ReadRun(filepath.Join(dir, "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	if x := got.Results[1]; !x.NoIndex || x.Key() != "4-noindex" || x.Where.CPUS[record.CPUPostgres] != 1.5 || got.Stage1RPS("scalelab load") != 100 {
		t.Errorf("read back %+v", got.Results[1])
	}
	b, _ := os.ReadFile(filepath.Join(dir, "run.json"))
	for _, name := range []string{`"requests_per_s": 50`, `"no_index": true`, `"postgres": 1.5`} {
		if !strings.Contains(string(b), name) {
			t.Errorf("run.json lacks %s", name)
		}
	}
	csv, _ := os.ReadFile(filepath.Join(dir, "summary.csv"))
	if !strings.Contains(string(csv), "requests_per_s") || !strings.Contains(string(csv), "\n4-noindex,") {
		t.Errorf("summary.csv:\n%s", csv)
	}
	run.Version = record.RunVersion + 1
	run.Write(dir)
	if _, err := record.ReadRun(filepath.Join(dir, "run.json")); err == nil || !strings.Contains(err.Error(), "version") {
		t.Errorf("a newer record: %v", err)
	}
}

// The app model is additive: a run made with it keeps it in its settings
// and results, one made without it (or before it existed) reads as Go as
// it is, and writes no trace of it.
func TestAppCostRoundTrip(t *testing.T) {
	dir := t.TempDir()
	cost := &record.AppCost{PerRequestMs: 7, StartMs: 36}
	run := &record.Run{Version: record.RunVersion, Settings: record.RunSettings{AppCost: cost, ClientCPUs: "1", ServerCPUs: "0"},
		Results: []record.Result{{Stage: "2", Tool: "scalelab load", AppCost: cost}}}
	if err := run.Write(dir); err != nil {
		t.Fatal(err)
	}
	got, err := record.ReadRun(filepath.Join(dir, "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	if *got.Settings.AppCost != *cost || *got.Results[0].AppCost != *cost || got.Settings.ClientCPUs != "1" || got.Settings.ServerCPUs != "0" {
		t.Errorf("read back %+v, %+v", got.Settings, got.Results[0].AppCost)
	}
	if s := cost.String(); !strings.Contains(s, "7 ms") || !strings.Contains(s, "36 ms") {
		t.Errorf("the model says %q", s)
	}
	plain := &record.Run{Version: record.RunVersion, Results: []record.Result{{Stage: "2"}}}
	b, err := json.Marshal(plain)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "app_cost") || strings.Contains(string(b), "client_cpus") {
		t.Errorf("a run without the model records it: %s", b)
	}
}
