package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A bench run out of a terminal (a CI log) says where it is at every
// phase in plain lines, writes its record with an .hgrm per result, and
// then fails (exit 1) on a breached threshold, which the terminal, the
// record and the report name; the threshold that held is recorded as
// passed.
func TestBenchProgressThresholdsAndExports(t *testing.T) {
	dir, out := stateDir(t), t.TempDir()
	r := run(t, nil, "bench", "2", "--users", "300", "--duration", "1s", "--warmup", "0s", "--state", dir, "--out", out,
		"--threshold", "p50<1ns", "--threshold", "errors<=100%")
	needServices(t, r)
	if r.code != 1 || !strings.Contains(r.stderr, "1 threshold check(s) breached: p50<1ns: stage 2 (scalelab load)") {
		t.Fatalf("bench with a threshold of 1 ns: exit %d, want 1 naming it\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, phase := range []string{"stage 2 [1/1]: start", "stage 2 [1/1]: verify", "stage 2 [1/1]: prime", "stage 2 [1/1]: measure, repeat 1/1", "stage 2 [1/1]: stop"} {
		if !strings.Contains(r.stdout, "progress [") || !strings.Contains(r.stdout, phase) {
			t.Errorf("the output has no progress line %q:\n%s", phase, r.stdout)
		}
	}
	if !strings.Contains(r.stdout, "threshold p50<1ns: stage 2 (scalelab load)") || !strings.Contains(r.stdout, "threshold errors<=100%: stage 2 (scalelab load) 0%: pass") {
		t.Errorf("the output does not list the threshold checks:\n%s", r.stdout)
	}
	runDir, rec := onlyRun(t, out)
	if len(rec.Thresholds) != 2 || rec.Thresholds[0].Pass || !rec.Thresholds[1].Pass {
		t.Errorf("record's thresholds %+v, want p50<1ns breached and errors<=100%% passed", rec.Thresholds)
	}
	if md, _ := os.ReadFile(filepath.Join(runDir, "report.md")); !strings.Contains(string(md), "threshold p50<1ns") {
		t.Errorf("report.md does not name the breached threshold:\n%s", md)
	}
	if st, err := os.Stat(filepath.Join(runDir, "latency-2-scalelab.hgrm")); err != nil || st.Size() == 0 {
		t.Errorf("latency-2-scalelab.hgrm: %v", err)
	}
	waitNoProcesses(t, dir)
}
