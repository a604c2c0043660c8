package bench_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scalelab/scalelab/bench"
	"github.com/scalelab/scalelab/bench/record"
)

func TestLoadUsageErrors(t *testing.T) {
	for name, opts := range map[string]bench.LoadOptions{
		"no target":        {},
		"remote":           {Targets: []string{"http://192.0.2.1/"}},
		"remote by name":   {Targets: []string{"http://example.com/"}},
		"unparsable":       {Targets: []string{"http://[::1"}},
		"https":            {Targets: []string{"https://127.0.0.1/"}},
		"negative rate":    {Targets: []string{"http://127.0.0.1:1/"}, Rate: -5},
		"negative conns":   {Targets: []string{"http://127.0.0.1:1/"}, Connections: -1},
		"unknown workload": {Targets: []string{"http://127.0.0.1:1/"}, Workload: "videos"},
		"NaN rate":         {Targets: []string{"http://127.0.0.1:1/"}, Rate: math.NaN()},
		"infinite rate":    {Targets: []string{"http://127.0.0.1:1/"}, Rate: math.Inf(1)},
		"out in no folder": {Targets: []string{"http://127.0.0.1:1/"}, Out: "/proc/nope/rec.json"},
		"out a folder":     {Targets: []string{"http://127.0.0.1:1/"}, Out: os.TempDir()},
	} {
		_, err := bench.Load(context.Background(), opts)
		if !errors.Is(err, bench.ErrUsage) {
			t.Errorf("%s: err = %v, want a usage error", name, err)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error is not one line: %q", name, err)
		}
	}
}

func TestLoadWritesRecordAndSummary(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "run.json")
	var stdout bytes.Buffer
	rec, err := bench.Load(context.Background(), bench.LoadOptions{
		Targets: []string{srv.URL}, Connections: 2, Duration: 300 * time.Millisecond,
		Out: out, Stdout: &stdout,
	})
	if err != nil {
		t.Fatal(err)
	}
	back, err := record.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if back.Results.Requests != rec.Results.Requests || back.Results.Latency.Hist.TotalCount() != rec.Results.Requests {
		t.Errorf("record file: %d requests, %d in its histogram; run had %d",
			back.Results.Requests, back.Results.Latency.Hist.TotalCount(), rec.Results.Requests)
	}
	if !strings.Contains(stdout.String(), "req/s") {
		t.Errorf("summary: %q", stdout.String())
	}
}
