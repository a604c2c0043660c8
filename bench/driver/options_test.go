package driver

import (
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scalelab/scalelab/bench"
	"github.com/scalelab/scalelab/infra"
)

// valid are options Validate accepts: the CLI's defaults.
func valid(t *testing.T) Options {
	return Options{Users: 2000, Connections: 32, Duration: 10 * time.Second, Warmup: 2 * time.Second, Repeat: 1,
		CapacityStep: 3 * time.Second, Results: t.TempDir(), Lab: &infra.Lab{}}
}

func TestValidate(t *testing.T) {
	if o := valid(t); o.Validate() != nil || o.Stdout == nil {
		t.Fatalf("the CLI's defaults: %v, stdout %v", o.Validate(), o.Stdout)
	}
	slo := &bench.SLO{Percentile: 99, Max: 100 * time.Millisecond}
	for _, tc := range []struct {
		change func(*Options)
		// flag is what the message must name, for the user to fix.
		flag string
	}{
		{func(o *Options) { o.Users = 0 }, "--users"},
		{func(o *Options) { o.Users = 1 << 30 }, "--users"},
		{func(o *Options) { o.Rate = math.NaN() }, "--rate"},
		{func(o *Options) { o.Rate = math.Inf(1) }, "--rate"},
		{func(o *Options) { o.Rate = -1 }, "--rate"},
		{func(o *Options) { o.Connections = 0 }, "--connections"},
		{func(o *Options) { o.Duration = 0 }, "--duration"},
		{func(o *Options) { o.Warmup = -time.Second }, "--warmup"},
		{func(o *Options) { o.Repeat = 0 }, "--repeat"},
		{func(o *Options) { o.Tools = []string{"ab", "siege"} }, "--tool"},
		{func(o *Options) { o.Sweep = []int{1, 0} }, "--sweep"},
		{func(o *Options) { o.CapacityStep = 0 }, "--capacity-step"},
		{func(o *Options) { o.Results = "/proc/nope" }, "--out"},
		{func(o *Options) { o.Fault = &Fault{Kind: "flood", At: time.Second} }, "unknown fault"},
		{func(o *Options) { o.Fault = &Fault{Kind: "slow-db"} }, "--at"},
		{func(o *Options) { o.Fault = &Fault{Kind: "slow-db", At: 10 * time.Second} }, "--duration"},
		{func(o *Options) {
			o.Duration, o.Repeat, o.Fault = time.Minute, 3, &Fault{Kind: "slow-db", At: time.Second}
		}, "--repeat"},
		{func(o *Options) {
			o.Duration, o.Capacity, o.Fault = time.Minute, slo, &Fault{Kind: "slow-db", At: time.Second}
		}, "--find-capacity"},
		{func(o *Options) {
			o.Duration, o.Lab, o.Fault = time.Minute, &infra.Lab{MemcachedServers: "10.0.0.1:11211"}, &Fault{Kind: "memcached-down", At: time.Second}
		}, "MEMCACHED_SERVERS"},
		{func(o *Options) {
			o.Duration, o.Lab, o.Fault = time.Minute, nil, &Fault{Kind: "db-restart", At: time.Second}
		}, "lab's own"},
	} {
		o := valid(t)
		tc.change(&o)
		err := o.Validate()
		if err == nil || !errors.Is(err, bench.ErrUsage) || !strings.Contains(err.Error(), tc.flag) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%+v: %v; want one line wrapping bench.ErrUsage that names %s", o, err, tc.flag)
		}
		if err != nil && strings.HasPrefix(err.Error(), bench.ErrUsage.Error()) {
			t.Errorf("%q: the message starts with the generic words", err)
		}
	}
}

// Validate normalises what it accepts: an open loop has no connection
// count, a fault its defaults.
func TestValidateNormalises(t *testing.T) {
	o := valid(t)
	o.Rate = 500
	o.Duration = time.Minute
	o.Fault = &Fault{Kind: "slow-db", At: time.Second}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	if o.Connections != 0 || o.Fault.For != 5*time.Second || o.Fault.Delay != 500*time.Millisecond {
		t.Errorf("connections %d, fault %+v", o.Connections, *o.Fault)
	}
	// BenchStage writes no record: it does not need the results folder.
	o.Results = filepath.Join("/proc", "nope")
	if err := o.checkMeasurement(); err != nil {
		t.Errorf("checkMeasurement looked at the results folder: %v", err)
	}
}
