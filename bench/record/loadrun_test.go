package record_test

import (
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scalelab/scalelab/bench/record"
	"github.com/scalelab/scalelab/stages"
)

// The merged record of several generators becomes a run of one stage,
// whose result is that record's figures, and which reads back as any run.
func TestRunOfLoad(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	a, _ := fake(rng, 4000, 10, "200")
	b, _ := fake(rng, 2000, 10, "200")
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	a.Started, b.Started = t0, t0.Add(time.Second)
	a.Settings.Params = map[string]string{"users": "2000", "seed": "7"}
	a.Settings.Workload = "photos"
	m, err := record.Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	st := stages.Reference()
	run, err := record.RunOfLoad(st.ID, m)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := run.Write(dir); err != nil {
		t.Fatal(err)
	}
	back, err := record.ReadRun(filepath.Join(dir, "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Results) != 1 {
		t.Fatalf("%d results, want 1", len(back.Results))
	}
	r := back.Results[0]
	if r.Stage != st.ID || r.NoIndex || r.Name != st.Name || r.Verification != "skipped" || r.TalkRPS != st.Talk {
		t.Errorf("result %s %q no-index %v, verification %q, talk %g", r.Stage, r.Name, r.NoIndex, r.Verification, r.TalkRPS)
	}
	if r.Requests != 6000 || r.RPS != m.Results.RequestsPerS || len(r.RPSRuns) != 1 || r.P99Ms != m.Results.Latency.P99Ms {
		t.Errorf("requests %d, req/s %g (runs %v), p99 %g; the merged record has %d, %g, %g",
			r.Requests, r.RPS, r.RPSRuns, r.P99Ms, m.Results.Requests, m.Results.RequestsPerS, m.Results.Latency.P99Ms)
	}
	if len(r.Records) != 1 || r.Records[0].Results.Requests != 6000 || r.Records[0].Results.Latency.Hist == nil {
		t.Error("the run does not keep the merged record with its histogram")
	}
	s := back.Settings
	if s.Users != 2000 || s.Seed != 7 || s.Workload != "photos" || s.Repeat != 1 || !slices.Equal(s.Stages, []string{st.ID}) || !back.Complete {
		t.Errorf("settings %+v, complete %v", s, back.Complete)
	}
	if !back.Started.Equal(t0) {
		t.Errorf("started %v, want the first generator's start %v", back.Started, t0)
	}

	// The no-index variant, by its key; and a stage that is not one.
	noIndex := stages.Key(stages.NoIndex.Stage, true)
	if run, err := record.RunOfLoad(noIndex, m); err != nil || !run.Results[0].NoIndex || run.Settings.Stages[0] != noIndex {
		t.Errorf("%s: %v", noIndex, err)
	}
	for _, key := range []string{"nosuch", stages.Key(stages.Base().ID, true)} {
		if _, err := record.RunOfLoad(key, m); err == nil || !strings.Contains(err.Error(), "no") {
			t.Errorf("%s: err %v, want one that says what exists", key, err)
		}
	}
}
