package record_test

import (
	"bytes"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scalelab/scalelab/bench/record"
)

// fake makes a record of n requests with latencies drawn from rng, spread
// over secs seconds, and returns the raw latencies too.
func fake(rng *rand.Rand, n, secs int, status string) (*record.Record, []time.Duration) {
	r := &record.Record{Tool: "scalelab load", Settings: record.Settings{Mode: "closed", Connections: 8, Targets: []string{"http://127.0.0.1:1/"}}}
	res := &r.Results
	res.Seconds = float64(secs)
	res.Latency.Hist = record.NewHist()
	res.Status = map[string]int64{status: int64(n)}
	res.Errors = map[string]int64{"timeout": 1}
	res.BytesRead = int64(n) * 100
	var lats []time.Duration
	for i := 0; i < n; i++ {
		d := time.Duration(rng.ExpFloat64() * float64(time.Millisecond))
		lats = append(lats, d)
		res.Latency.Hist.Record(d)
		s := i * secs / n
		for len(res.Timeline) <= s {
			res.Timeline = append(res.Timeline, record.Second{T: len(res.Timeline), Hist: record.NewTimelineHist()})
		}
		res.Timeline[s].Requests++
		res.Timeline[s].Hist.Record(d)
	}
	res.Requests = int64(n)
	res.CPU = record.CPU{ClientUserS: 1, ClientSysS: 2, ClientCoreLimit: 1}
	res.Summarize()
	return r, lats
}

func TestMergeIsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	a, la := fake(rng, 5000, 3, "200")
	b, lb := fake(rng, 3000, 5, "404")

	// Through JSON, as records are merged from files.
	dir := t.TempDir()
	var read []*record.Record
	for i, r := range []*record.Record{a, b} {
		path := filepath.Join(dir, string(rune('a'+i))+".json")
		if err := r.WriteFile(path); err != nil {
			t.Fatal(err)
		}
		back, err := record.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		read = append(read, back)
	}
	m, err := record.Merge(read...)
	if err != nil {
		t.Fatal(err)
	}

	// The merged histogram is the histogram of all the latencies.
	all := record.NewHist()
	for _, d := range append(la, lb...) {
		all.Record(d)
	}
	res := m.Results
	if !res.Latency.Hist.Equals(all.Histogram) {
		t.Error("merged histogram differs from the histogram of all latencies")
	}
	if res.Requests != 8000 || res.Latency.Hist.TotalCount() != 8000 {
		t.Errorf("requests %d, histogram count %d; want 8000", res.Requests, res.Latency.Hist.TotalCount())
	}
	if want := float64(all.ValueAtQuantile(99)) / 1000; res.Latency.P99Ms != want {
		t.Errorf("p99 %.3f ms, want %.3f", res.Latency.P99Ms, want)
	}
	if res.Status["200"] != 5000 || res.Status["404"] != 3000 || res.Errors["timeout"] != 2 || res.ErrorsTotal != 2 {
		t.Errorf("status %v, errors %v", res.Status, res.Errors)
	}
	if res.Seconds != 5 || res.RequestsPerS != 1600 {
		t.Errorf("seconds %.1f, req/s %.1f; want the longest run and the summed rate", res.Seconds, res.RequestsPerS)
	}
	var tl int64
	for _, s := range res.Timeline {
		tl += s.Requests
		if s.Hist.TotalCount() != s.Requests {
			t.Errorf("second %d: histogram %d, requests %d", s.T, s.Hist.TotalCount(), s.Requests)
		}
	}
	if len(res.Timeline) != 5 || tl != 8000 {
		t.Errorf("timeline %d seconds with %d requests, want 5 and 8000", len(res.Timeline), tl)
	}
	if m.Settings.Connections != 16 || res.CPU.ClientUserS != 2 {
		t.Errorf("connections %d, client user CPU %.1f; want the sums", m.Settings.Connections, res.CPU.ClientUserS)
	}
	if a.Results.Requests != 5000 {
		t.Error("Merge modified its input")
	}
	if _, err := record.Merge(); err == nil {
		t.Error("Merge of nothing: no error")
	}
}

func TestSummaryAndWarnings(t *testing.T) {
	r, _ := fake(rand.New(rand.NewPCG(3, 4)), 1000, 1, "200")
	r.Results.CPU = record.CPU{ClientUserS: 0.1, ClientSysS: 0.88, ClientCores: 0.98, ClientCoreLimit: 1}
	var b bytes.Buffer
	if err := record.WriteSummary(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"1,000 in 1.00 s = 1,000 req/s", "p99.9", "200: 1,000", "timeout: 1",
		"warning: client used 98% of a core: this is a ceiling of the tool, not of the server"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}
