package main

import (
	"testing"

	"github.com/scalelab/scalelab/bench/record"
	"github.com/scalelab/scalelab/internal/cpuset"
)

// The app model reaches every process of every stage the lab runs, as
// the record's CPU per request shows (CPU time: a busy machine does not
// lower it), and --client-cpus pins the load generator and the servers
// apart, which the driver reads back from /proc before it measures.
func TestLabAppCostAndClientCPUs(t *testing.T) {
	all, err := cpuset.Allowed()
	if err != nil {
		t.Fatal(err)
	}
	// Four connections and three seconds: with 32, CGI programs that each
	// burn 23 ms on one server core all finish together, and a machine
	// busy with other work may answer nothing in a shorter measurement.
	args := []string{"lab", "--stages", "1,1f,2,3,4", "--users", "300", "--duration", "3s", "--warmup", "0s", "--repeat", "1", "-c", "4",
		"--app-cpu", "3ms", "--app-start-cpu", "50ms"}
	pinned := len(all) >= 2
	if pinned {
		args = append(args, "--client-cpus", all[:1].String())
	}
	dir, out := stateDir(t), t.TempDir()
	r := run(t, nil, append(args, "--state", dir, "--out", out)...)
	needServices(t, r)
	if r.code != 0 {
		t.Fatalf("lab: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	_, rec := onlyRun(t, out)
	if c := rec.Settings.AppCost; c == nil || c.PerRequestMs != 3 || c.StartMs != 50 {
		t.Errorf("settings record the model as %+v", c)
	}
	if pinned && (rec.Settings.ClientCPUs != all[:1].String() || rec.Settings.ServerCPUs != all[1:].String()) {
		t.Errorf("settings record client CPUs %q, servers %q; want %s and %s", rec.Settings.ClientCPUs, rec.Settings.ServerCPUs, all[:1], all[1:])
	}
	for _, x := range rec.Results {
		if x.AppCost == nil || *x.AppCost != *rec.Settings.AppCost {
			t.Errorf("stage %s: result records the model as %+v", x.Key(), x.AppCost)
		}
		if x.Where == nil || x.Requests == 0 {
			t.Errorf("stage %s: no measurement", x.Key())
			continue
		}
		// Where the app's CPU is counted: stages 1 and 2 run it in the
		// serve process (the CGI host's children for stage 1), the others
		// as app servers.
		// Nine tenths of the model's cost (eight for CGI, whose last
		// programs of a measurement may be reaped after it) is far more
		// than Go spends without it (a few hundred µs a request; a CGI
		// program's start some ten milliseconds), so it can only come
		// from the model; the rest allows for the requests in flight at
		// either end of the measurement.
		us := x.Where.CPUUsPerRequest[record.CPUApp] + x.Where.CPUUsPerRequest[record.CPUServe]
		want := 0.9 * 3000
		switch x.Stage {
		case "1":
			want = 0.8 * (3000 + 50000) // a CGI program starts for every request
		case "4":
			// Most of stage 4's requests are nginx's alone, and pay
			// nothing; those that reach the app pay.
			want = 1
		}
		if us < want {
			t.Errorf("stage %s: the app used %.0f µs of CPU per request, less than the model's %.0f", x.Key(), us, want)
		}
	}
	waitNoProcesses(t, dir)
}
