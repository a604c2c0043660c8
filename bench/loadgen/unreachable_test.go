package loadgen_test

import (
	"context"
	"errors"
	"math"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/scalelab/scalelab/bench/loadgen"
)

// closedPort returns a loopback address where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// A run with a request count ends when its attempts are spent, even if no
// connection could be made: failed connects count as attempts.
func TestRequestCountEndsWithoutAServer(t *testing.T) {
	addr := closedPort(t)
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			for _, n := range []int64{1, 5} {
				rec, err := loadgen.Run(context.Background(), loadgen.Options{
					Targets: []*url.URL{mustURL(t, "http://"+addr+"/")}, Connections: 64,
					Requests: n, Portable: e.portable,
					GiveUpAfter: time.Hour, // only the count may end it
				})
				if err != nil {
					t.Fatalf("-n %d: %v", n, err)
				}
				r := rec.Results
				if r.Requests != 0 || r.Errors["connect"] < n || r.Errors["connect"] > n+int64(rec.Settings.Connections) {
					t.Errorf("-n %d: requests %d, errors %v; want 0 requests and about %d connect errors", n, r.Requests, r.Errors, n)
				}
				if rec.Settings.Connections > int(n) {
					t.Errorf("-n %d opened %d connections", n, rec.Settings.Connections)
				}
			}
		})
	}
}

// A run with a duration gives up with ErrUnreachable once no connection
// could be made for GiveUpAfter, in both loops.
func TestGiveUpOnAnUnreachableServer(t *testing.T) {
	addr := closedPort(t)
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			for _, rate := range []float64{0, 50} {
				_, err := loadgen.Run(context.Background(), loadgen.Options{
					Targets: []*url.URL{mustURL(t, "http://"+addr+"/")}, Connections: 4,
					Duration: time.Hour, Rate: rate, Portable: e.portable,
					GiveUpAfter: 200 * time.Millisecond,
				})
				if !errors.Is(err, loadgen.ErrUnreachable) {
					t.Fatalf("rate %g: err = %v, want ErrUnreachable", rate, err)
				}
			}
		})
	}
}

// NaN and infinite rates are refused, not taken for a closed loop.
func TestNonFiniteRate(t *testing.T) {
	for _, r := range []float64{math.NaN(), math.Inf(1)} {
		_, err := loadgen.Run(context.Background(), loadgen.Options{
			Targets: []*url.URL{mustURL(t, "http://127.0.0.1:1/")}, Rate: r, Requests: 1,
		})
		if !errors.Is(err, loadgen.ErrUsage) {
			t.Errorf("rate %g: err = %v, want a usage error", r, err)
		}
	}
}
