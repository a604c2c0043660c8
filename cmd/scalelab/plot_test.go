package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scalelab/scalelab/bench/report"
	"github.com/scalelab/scalelab/stages"
)

// runDir copies the report package's fixture run into a new run folder.
func runDir(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../bench/report/testdata/run.json")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "run.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestPlotCompareMergeCLI(t *testing.T) {
	dir := runDir(t)
	missing := filepath.Join(t.TempDir(), "nope")
	corrupt := t.TempDir()
	os.WriteFile(filepath.Join(corrupt, "run.json"), []byte("{"), 0o644)

	rec, err := report.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	recA, recB := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")
	rec.Results[4].Records[0].WriteFile(recA)
	rec.Results[4].Records[1].WriteFile(recB)
	merged := filepath.Join(dir, "merged.json")
	// A doctored run: every repeat of every stage 10% slower.
	slower := t.TempDir()
	for i := range rec.Results {
		x := &rec.Results[i]
		for k := range x.RPSRuns {
			x.RPSRuns[k] *= 0.9
		}
		x.RPS *= 0.9
		for _, r := range x.Records { // each repeat's own, as bench.txt has it
			r.Results.RequestsPerS *= 0.9
		}
	}
	if err := rec.Write(slower); err != nil {
		t.Fatal(err)
	}
	cmpOut := filepath.Join(t.TempDir(), "cmp")
	loadRun := filepath.Join(t.TempDir(), "k8s-run")
	stage := stages.Reference().ID

	for _, tc := range []struct {
		args   []string
		code   int
		stdout string // a part of stdout, or of stderr when code != 0
	}{
		// plot writes the charts and the report into the run folder
		{[]string{"plot", dir}, 0, filepath.Join(dir, "report.html")},
		// bad input: one line naming the file, exit 1
		{[]string{"plot", missing}, 1, missing + ": no such file"},
		{[]string{"plot", corrupt}, 1, filepath.Join(corrupt, "run.json")},
		// bad usage: exit 2
		{[]string{"plot"}, 2, "plot takes one run folder"},
		{[]string{"compare", dir}, 2, "compare takes two run folders"},
		{[]string{"merge"}, 2, "merge takes one or more record files"},
		// compare: the table and the chart
		{[]string{"compare", dir, dir, "--out", cmpOut}, 0, "~ within noise"},
		{[]string{"compare", dir, missing}, 1, missing},
		// the gate: a run against itself passes, a slower one fails
		{[]string{"compare", dir, dir, "--out", cmpOut, "--fail-on-regression", "5%"}, 0, "no stage slower by more than 5%"},
		{[]string{"compare", dir, slower, "--out", cmpOut, "--fail-on-regression", "5%"}, 1, "slower by more than 5%"},
		{[]string{"compare", dir, slower, "--fail-on-regression", "five"}, 2, "--fail-on-regression takes a percentage"},
		// a baseline kept as bench.txt alone
		{[]string{"compare", filepath.Join(dir, "bench.txt"), filepath.Join(slower, "bench.txt"), "--out", cmpOut, "--fail-on-regression", "5%"}, 1, "slower by more than 5%"},
		{[]string{"compare", filepath.Join(slower, "bench.txt"), slower, "--out", cmpOut, "--fail-on-regression", "5%"}, 0, "no stage slower"},
		{[]string{"compare", filepath.Join(dir, "report.md") + ".txt", dir}, 1, "report.md.txt"},
		// merge: two records into one; a run.json is refused by name
		{[]string{"merge", recA, recB, "--out", merged}, 0, "merged 2 records into " + merged},
		{[]string{"merge", recA, filepath.Join(dir, "run.json")}, 1, "not a load-generator record"},
		// merge --run: a run folder of the stage, which plot draws as any run
		{[]string{"merge", recA, recB, "--run", loadRun, "--stage", stage}, 0, "run: " + filepath.Join(loadRun, "run.json")},
		{[]string{"plot", loadRun}, 0, filepath.Join(loadRun, "report.html")},
		{[]string{"merge", recA, recB, "--run", loadRun}, 2, "--run and --stage go together"},
		{[]string{"merge", recA, recB, "--run", loadRun, "--stage", "nosuch"}, 2, `no stage "nosuch"`},
	} {
		r := run(t, nil, tc.args...)
		out := r.stdout
		if tc.code != 0 {
			out = r.stderr
			if n := strings.Count(strings.TrimSpace(r.stderr), "\n"); n != 0 {
				t.Errorf("scalelab %s: error is %d lines, want one: %q", strings.Join(tc.args, " "), n+1, r.stderr)
			}
		}
		if r.code != tc.code || !strings.Contains(out, tc.stdout) {
			t.Errorf("scalelab %s: exit %d, want %d with %q\nstdout: %s\nstderr: %s", strings.Join(tc.args, " "), r.code, tc.code, tc.stdout, r.stdout, r.stderr)
		}
	}
	for _, f := range []string{"throughput.png", "throughput.svg", "latency.png", "magnitudes.svg", "timeline.png", "report.html", "report.md"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("plot: %v", err)
		}
	}
	if _, err := os.Stat(filepath.Join(cmpOut, "compare.png")); err != nil {
		t.Errorf("compare: %v", err)
	}
	if _, err := os.Stat(merged); err != nil {
		t.Errorf("merge: %v", err)
	}
	for _, f := range []string{"run.json", "summary.csv", "bench.txt", "throughput.png", "latency.png", "timeline.png", "report.html", "report.md"} {
		if _, err := os.Stat(filepath.Join(loadRun, f)); err != nil {
			t.Errorf("merge --run, then plot: %v", err)
		}
	}
}
