package main

import (
	"strings"
	"testing"
)

// scalelab model on the committed reference run prints, for every stage,
// the machines a billion page views a day take, or why none do.
func TestModelOfTheReferenceRun(t *testing.T) {
	r := run(t, nil, "model", "../../results/20261128T184105Z-vm", "--machines", "app=4,db=2", "--machine-cores", "16")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	_, plans, ok := strings.Cut(r.stdout, "1 billion")
	if !ok {
		t.Fatalf("no plan for a billion page views a day:\n%s", r.stdout)
	}
	table, _, _ := strings.Cut(plans, "\n\n")
	for _, key := range []string{"1 ", "1f ", "2 ", "3 ", "4 ", "4-noindex "} {
		found := false
		for _, line := range strings.Split(table, "\n") {
			if strings.HasPrefix(line, key) && (strings.Contains(line, "db)") || strings.Contains(line, "memcached)") || strings.Contains(line, "out of reach")) {
				found = true
			}
		}
		if !found {
			t.Errorf("stage %q has no machines for a billion page views a day:\n%s", key, table)
		}
	}
	for _, want := range []string{"The deployment app=4,db=2 of 16 cores each", "Stage 3 overtakes stage 2", "its one app process (GOMAXPROCS=1) is the limit"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
}

func TestModelBadFlagsExit2(t *testing.T) {
	for _, args := range [][]string{
		{"--cores", "0"}, {"--cores", "two"}, {"--pages-per-day", "-5"}, {"--slo", "p99"}, {"--machines", "web=2"},
		{"--machines", "app=0"}, {"--think", "-1s"}, {"--against", "x", "--server-cpus", "3-1"}, {"--server-cpus", "1"},
	} {
		r := run(t, nil, append([]string{"model", "../../results/20261128T184105Z-vm"}, args...)...)
		if r.code != 2 || r.stderr == "" || strings.Contains(r.stderr, "panic") {
			t.Errorf("model %v: exit %d, %q; want 2 and a message", args, r.code, r.stderr)
		}
	}
	if r := run(t, nil, "model", t.TempDir()); r.code != 1 || !strings.Contains(r.stderr, "run.json") {
		t.Errorf("model of an empty folder: exit %d, %q", r.code, r.stderr)
	}
}
