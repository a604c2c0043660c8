package bench_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/scalelab/scalelab/bench"
)

// A server with a fixed service time and a fixed concurrency limit has a
// known capacity: limit / service time. The search must find it.
func TestFindCapacityOfAKnownServer(t *testing.T) {
	if testing.Short() {
		t.Skip("a capacity search takes about half a minute")
	}
	const limit, service = 4, 10 * time.Millisecond // 400 requests/s
	slots := make(chan struct{}, limit)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slots <- struct{}{}
		time.Sleep(service)
		<-slots
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	slo, err := bench.ParseSLO("p99=100ms")
	if err != nil {
		t.Fatal(err)
	}
	c, err := bench.FindCapacity(context.Background(), bench.CapacityOptions{
		Load:  bench.LoadOptions{Targets: []string{srv.URL}, Connections: 64, Timeout: 5 * time.Second},
		SLO:   slo,
		Start: 50,
		Step:  1500 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := float64(limit) / service.Seconds()
	if c.Rate < 0.85*want || c.Rate > 1.15*want {
		t.Errorf("capacity %.0f requests/s, want %.0f ± 15%%; trials: %+v", c.Rate, want, c.Trials)
	}
	t.Logf("capacity %.0f requests/s (known: %.0f) after %d trials", c.Rate, want, len(c.Trials))
	if c.PagesPerDay != c.Rate*86400 || len(c.Trials) < 3 {
		t.Errorf("capacity record: %+v", c)
	}
}

func TestParseSLO(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"p99=100ms", true}, {"p99.9=1s", true}, {"p50=20ms", true},
		{"99=100ms", false}, {"p99", false}, {"p100=1s", false}, {"p99=-1s", false}, {"p99=fast", false},
	} {
		if _, err := bench.ParseSLO(tc.in); (err == nil) != tc.ok {
			t.Errorf("ParseSLO(%q): %v", tc.in, err)
		}
	}
}
