package main

import (
	"slices"
	"strings"
	"testing"
)

// lab --stages measures the stages listed, and --repeat N measures them in
// interleaved rounds: every stage once, then every stage again, each
// repeat kept in the record with the order it was taken in. Each round
// warms its stage up afresh (the stage is started again), and only the
// stage with a cache primes it first.
func TestLabInterleavedRounds(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the lab")
	}
	dir, out := stateDir(t), t.TempDir()
	r := run(t, nil, "lab", "--stages", "4,2", "--repeat", "2", "--users", "300", "--duration", "1s", "--warmup", "3s", "--state", dir, "--out", out)
	needServices(t, r)
	if r.code != 0 {
		t.Fatalf("lab: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	_, rec := onlyRun(t, out)
	if want := []string{"2#1", "4#1", "2#2", "4#2"}; !slices.Equal(rec.Settings.Order, want) {
		t.Errorf("order %v, want %v (the lab's order, round by round)", rec.Settings.Order, want)
	}
	if len(rec.Results) != 2 {
		t.Fatalf("%d results, want stages 2 and 4", len(rec.Results))
	}
	for _, x := range rec.Results {
		var requests int64
		for _, l := range x.Records {
			requests += l.Results.Requests
		}
		if len(x.RPSRuns) != 2 || len(x.Records) != 2 || x.Requests != requests || x.RPS <= 0 || x.Verification != "passed" {
			t.Errorf("stage %s: repeats %v, %d records, requests %d (records say %d), verification %q",
				x.Key(), x.RPSRuns, len(x.Records), x.Requests, requests, x.Verification)
		}
		if len(x.Warmups) != 2 {
			t.Fatalf("stage %s: %d warm-ups recorded, want one per round", x.Key(), len(x.Warmups))
		}
		for _, w := range x.Warmups {
			if w.Seconds <= 0 || w.RequestsPerS <= 0 || (w.PrimeRequests > 0) != (x.Stage == "4") {
				t.Errorf("stage %s: warm-up %+v (only stage 4 has a cache to prime)", x.Key(), w)
			}
		}
		// Each round's measurement is its own: taken after the other
		// stage's measurement of the round before.
		if a, b := x.Records[0].Started, x.Records[1].Started; !a.Before(b) {
			t.Errorf("stage %s: its repeats started at %v and %v", x.Key(), a, b)
		}
	}
	if n := strings.Count(r.stdout, "steady after"); n != 4 {
		t.Errorf("the output says how %d warm-ups went, want 4:\n%s", n, r.stdout)
	}
	if strings.Count(r.stdout, "round 2 of 2") != 2 {
		t.Errorf("the output does not show round 2 of each stage:\n%s", r.stdout)
	}
}

func TestLabPlan(t *testing.T) {
	for _, tc := range []struct {
		only []string
		want string // keys, or "error"
	}{
		{nil, "0 1 1f 2 3 4 4-noindex"},
		{[]string{"4", "2", "cgi"}, "1 2 4"},
		{[]string{"4-noindex", "balanced"}, "3 4-noindex"},
		{[]string{"9"}, "error"},
		{[]string{"2-noindex"}, "error"},
	} {
		plan, err := labPlan(tc.only)
		var keys []string
		for _, st := range plan {
			keys = append(keys, st.Key())
		}
		got := strings.Join(keys, " ")
		if err != nil {
			got = "error"
		}
		if got != tc.want {
			t.Errorf("labPlan(%v) = %s (%v), want %s", tc.only, got, err, tc.want)
		}
	}
}
