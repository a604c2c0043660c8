package driver

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/scalelab/scalelab/bench"
	"github.com/scalelab/scalelab/bench/record"
	"github.com/scalelab/scalelab/stages"
)

// timeline makes a record whose seconds carry the given req/s and errors.
func timeline(rps []int64, errs map[int]int64) *record.Record {
	r := &record.Record{}
	for t, n := range rps {
		r.Results.Timeline = append(r.Results.Timeline, record.Second{T: t, Requests: n, Errors: errs[t]})
	}
	r.Results.Seconds = float64(len(rps))
	return r
}

func TestFaultAnalysis(t *testing.T) {
	in := &injector{f: Fault{Kind: "memcached-down", At: 4 * time.Second, For: 2 * time.Second}}
	// A slow first second, 1000 req/s, the fault at 4-6 s, errors in 4
	// and 5, back to 1000 from second 8, a partial last second.
	rec := timeline([]int64{300, 1000, 1000, 1000, 200, 100, 500, 700, 1000, 1000, 1000, 1000, 20}, map[int]int64{4: 50, 5: 7})
	r := in.analyse(rec)
	// The dip counts requests answered without error: second 5's 100 less
	// its 7 errors.
	if r.BeforeRPS != 1000 || r.DipRPS != 93 || r.Errors != 57 {
		t.Errorf("before %.0f (want 1000), dip %.0f (want 93), errors %d (want 57)", r.BeforeRPS, r.DipRPS, r.Errors)
	}
	// Seconds 7, 8, 9 average 900 >= 800: recovered 1 s after the fault's
	// end at 6 s.
	if r.RecoveredS != 1 {
		t.Errorf("recovered after %.0f s, want 1", r.RecoveredS)
	}
	never := in.analyse(timeline([]int64{1000, 1000, 1000, 1000, 0, 0, 100, 200, 300, 200, 100, 5}, nil))
	if never.RecoveredS != -1 || never.DipRPS != 0 {
		t.Errorf("a stage that never came back: recovered %.0f, dip %.0f", never.RecoveredS, never.DipRPS)
	}
}

func TestFaultCheck(t *testing.T) {
	for _, tc := range []struct {
		f     Fault
		stage string
		ok    bool
	}{
		{Fault{Kind: "kill-instance", At: time.Second}, "3", true},
		{Fault{Kind: "kill-instance", At: time.Second}, "2", false}, // one process: nothing to route around it
		{Fault{Kind: "memcached-down", At: time.Second}, "4-noindex", true},
		{Fault{Kind: "memcached-down", At: time.Second}, "2", false},
		{Fault{Kind: "db-restart", At: time.Second}, "0", false},
		{Fault{Kind: "slow-db", At: time.Second}, "1", true},
		{Fault{Kind: "flood", At: time.Second}, "2", false},
		{Fault{Kind: "slow-db", At: 0}, "2", false},
		{Fault{Kind: "slow-db", At: time.Second, Delay: -time.Second}, "2", false},
	} {
		id, noIndex := stages.ParseKey(tc.stage)
		st, _ := FindStage(id)
		st.NoIndex = noIndex
		err := tc.f.Check(st)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, bench.ErrUsage)) {
			t.Errorf("%+v on stage %s: %v", tc.f, tc.stage, err)
		}
	}
	f := Fault{Kind: "slow-db", At: time.Second}
	two, _ := FindStage("2")
	if f.Check(two); f.For != 5*time.Second || f.Delay != 500*time.Millisecond {
		t.Errorf("slow-db defaults: %+v", f)
	}
	f = Fault{Kind: "db-restart", At: time.Second, Delay: time.Second}
	if f.Check(two); f.For != time.Second || f.Delay != 0 {
		t.Errorf("db-restart defaults: %+v", f)
	}
}

// The slow-db proxy passes bytes both ways and, when told, holds what the
// client sends for the delay.
func TestDelayProxy(t *testing.T) {
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	p, err := newDelayProxy(echo.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	roundTrip := func(msg string) time.Duration {
		t.Helper()
		start := time.Now()
		if _, err := c.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != msg {
			t.Fatalf("echo of %q: %q, %v", msg, buf, err)
		}
		return time.Since(start)
	}
	roundTrip("hello")
	p.delay.Store(int64(300 * time.Millisecond))
	if d := roundTrip("slow"); d < 300*time.Millisecond {
		t.Errorf("a round trip with 300ms of delay took %s", d)
	}
	p.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("the proxy's connection outlived Close")
	}
}
