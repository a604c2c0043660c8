package model

import (
	"testing"

	"github.com/scalelab/scalelab/stages"
)

// The stretch is E[K] / E[min(K, cores)], worked out by hand.
func TestStretch(t *testing.T) {
	for _, c := range []struct {
		name  string
		busy  []float64
		cores float64
		n     int
		want  float64
	}{
		{"four threads always in service on 2 cores", []float64{1, 1, 1, 1}, 2, 64, 2},
		{"no more in service than 3 requests", []float64{1, 1, 1, 1}, 2, 3, 1.5},
		// K is 0, 1, 2 with 1/4, 1/2, 1/4: E[K] = 1, E[min(K, 1)] = 3/4.
		{"two half-busy threads on one core", []float64{0.5, 0.5}, 1, 64, 4.0 / 3},
		{"a lone request never waits", []float64{0.9, 0.9, 0.9}, 2, 1, 1},
		{"fewer threads than cores", []float64{0.7, 0.3}, 2, 64, 1},
		// Others left 0.8 of a core: a thread alone runs at 0.8.
		{"a fraction of a core", []float64{1}, 0.8, 64, 1.25},
		{"nothing in service", []float64{0, 0}, 2, 64, 1},
	} {
		if got := stretchOf(c.busy, c.cores, c.n); !near(got, c.want, 1e-12) {
			t.Errorf("%s: stretch %v, want %v", c.name, got, c.want)
		}
	}
}

// With nothing else on the cores — one component whose threads are no
// more than the cores — no thread ever waits for a core, and the layered
// model is the textbook network: an m-server station solved by MVA.
func TestLayersWithNothingSharedAreTheTextbookNetwork(t *testing.T) {
	s := Stage{Key: "3", Process: stages.Balanced, Tiers: []Tier{{ID: "postgres", Demand: 100e-6}}}
	pts, err := MVA([]Station{{Demand: 100e-6, Servers: 2}}, 30e-6, 10)
	if err != nil {
		t.Fatal(err)
	}
	s.Latency = 30e-6
	for _, want := range pts {
		got, err := s.Predict(Machine{Cores: 2}, want.N, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !near(got.X, want.X, 1e-9*want.X) || got.Stretch != 1 {
			t.Errorf("%d connections: %v req/s (stretch %v), want the network's %v", want.N, got.X, got.Stretch, want.X)
		}
	}
}

// Stage 2 on 2 cores: its one process is a queue of its own, so however
// many connections there are, the process, not the cores, holds it, and
// the cores idle a quarter of the time and more.
func TestOneProcessIdlesTheCores(t *testing.T) {
	two := Stages(doctored())[0] // serve 150 µs, PostgreSQL 50, client 18
	p, err := two.Predict(Machine{Cores: 2}, 16, 0)
	if err != nil {
		t.Fatal(err)
	}
	cores := p.X * two.TotalDemand() / 2
	if p.Bottleneck != "serve" || p.X > 1/150e-6 || cores > 0.75 {
		t.Errorf("16 connections: %v req/s (%s), cores %.0f%% busy; want the one process's ≤ 6,667, cores well short of full", p.X, p.Bottleneck, 100*cores)
	}
	// Pinned: the load generator on a core of its own never waits for the
	// servers' core, which holds everything else.
	q, err := two.Predict(Machine{Cores: 1, ClientCores: 1}, 16, 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := 1 / 200e-6; !near(q.X, want, 0.02*want) || q.Bottleneck != Cores {
		t.Errorf("pinned, 16 connections: %v req/s (%s), want about %v, the core", q.X, q.Bottleneck, want)
	}
}
