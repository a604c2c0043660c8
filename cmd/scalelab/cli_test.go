package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/scalelab/scalelab/bench/record"
)

// closedAddr returns a loopback address where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// A load of a server that is not there ends, with exit code 1 and one line
// that says nothing answered: with a request count at once, with a
// duration after a few seconds without a connection.
func TestLoadOfNothingEnds(t *testing.T) {
	addr := closedAddr(t)
	for _, args := range [][]string{
		{"load", "http://" + addr + "/", "-n", "1"},
		{"load", "http://" + addr + "/", "-n", "1", "--portable"},
		{"load", "http://" + addr + "/", "--duration", "1h"},
	} {
		r := run(t, nil, args...)
		if r.code != 1 {
			t.Errorf("scalelab %v: exit code %d, want 1; stderr %q", args, r.code, r.stderr)
		}
		if lines := strings.Split(strings.TrimSpace(r.stderr), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "nothing answered") {
			t.Errorf("scalelab %v: stderr %q, want one line saying nothing answered", args, r.stderr)
		}
		if r.stdout != "" {
			t.Errorf("scalelab %v: stdout %q, want nothing", args, r.stdout)
		}
	}
}

// Bad flags are found before any work: no request sent, no state folder
// made, no server started, exit code 2.
func TestBadFlagsStopBeforeAnyWork(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	state := filepath.Join(t.TempDir(), "lab")
	for _, args := range [][]string{
		{"load", srv.URL, "-n", "10", "--out", "/proc/nope/rec.json"},
		{"load", srv.URL, "-n", "10", "--out", t.TempDir()},
		{"load", srv.URL, "-n", "10", "--rate", "NaN"},
		{"load", srv.URL, "-n", "10", "--rate", "+Inf"},
		{"bench", "2", "--state", state, "--slo", "garbage"},
		{"bench", "2", "--state", state, "--rate", "NaN"},
		{"bench", "2", "--state", state, "--capacity-step", "0s"},
		{"bench", "2", "--state", state, "--fault", "nope"},
		{"bench", "2", "--state", state, "--fault", "kill-instance"},
		{"bench", "2", "--state", state, "--out", "/proc/nope"},
		{"bench", "2", "--state", state, "--users", "0"},
		{"bench", "3", "--state", state, "--fault", "kill-instance", "--duration", "5s"},
		{"bench", "3", "--state", state, "--fault", "kill-instance", "--repeat", "2"},
		{"lab", "--state", state, "--slo", "p99"},
		{"lab", "--quick", "--state", state, "--repeat", "0"},
		{"load", srv.URL, "-n", "10", "--threshold", "p99<100"},
		{"load", srv.URL, "-n", "10", "--threshold", "stage=4:p99<100ms"},
		{"bench", "2", "--state", state, "--threshold", "latency<1s"},
		{"bench", "2", "--state", state, "--threshold", "stage=4:rps>1"},
		{"lab", "--state", state, "--threshold", "stage=9:rps>1"},
		{"lab", "--state", state, "--stages", "2,3", "--threshold", "stage=4-noindex:errors<1%"},
	} {
		r := run(t, nil, args...)
		if r.code != 2 {
			t.Errorf("scalelab %v: exit code %d, want 2; stderr %q", args, r.code, r.stderr)
		}
		if lines := strings.Split(strings.TrimSpace(r.stderr), "\n"); len(lines) != 1 {
			t.Errorf("scalelab %v: stderr %q, want one line", args, r.stderr)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the server got %d requests from commands with bad flags", n)
	}
	if _, err := os.Stat(state); err == nil {
		t.Errorf("a command with bad flags made the state folder %s", state)
	}
}

// A threshold is checked after the load and its record is written: a
// breached one exits 1, with the record and the summary saying which; one
// that holds exits 0.
func TestLoadThresholds(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	for _, tc := range []struct {
		threshold string
		code      int
		pass      bool
	}{{"p99<1ns", 1, false}, {"p99<10s", 0, true}, {"errors<0.1%", 0, true}, {"rps>1000000000", 1, false}} {
		out := filepath.Join(t.TempDir(), "rec.json")
		r := run(t, nil, "load", srv.URL, "-n", "200", "-c", "2", "--threshold", tc.threshold, "--out", out)
		if r.code != tc.code || !strings.Contains(r.stdout, "threshold "+tc.threshold) {
			t.Errorf("--threshold %s: exit %d, want %d; stdout %q stderr %q", tc.threshold, r.code, tc.code, r.stdout, r.stderr)
		}
		if tc.code != 0 && !strings.Contains(r.stderr, "breached: "+tc.threshold) {
			t.Errorf("--threshold %s: stderr %q does not name it", tc.threshold, r.stderr)
		}
		rec, err := record.ReadFile(out)
		if err != nil {
			t.Fatalf("--threshold %s: the record was not written: %v", tc.threshold, err)
		}
		if len(rec.Thresholds) != 1 || rec.Thresholds[0].Expr != tc.threshold || rec.Thresholds[0].Pass != tc.pass {
			t.Errorf("--threshold %s: record's checks %+v, want it with pass=%v", tc.threshold, rec.Thresholds, tc.pass)
		}
	}
}

func TestVersion(t *testing.T) {
	r := run(t, nil, "--version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "scalelab ") || !strings.Contains(r.stdout, runtime.Version()) {
		t.Errorf("scalelab --version: exit %d, %q", r.code, r.stdout)
	}
}

// A scalelab built from a checkout names its commit, as make build does.
func TestVersionNamesTheCommit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds scalelab")
	}
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("not in a git checkout: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "scalelab")
	build := exec.Command("go", "build", "-ldflags", "-X main.commit="+strings.TrimSpace(string(head)), "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "commit "+strings.TrimSpace(string(head))) {
		t.Errorf("scalelab --version: %q, want the commit %s", out, head)
	}
}

func TestHelpTopics(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"help"}, 0},
		{[]string{"help", "serve"}, 0},
		{[]string{"help", "index"}, 0},
		{[]string{"help", "nosuch"}, 2},
		{[]string{"help", "serve", "nosuch"}, 2},
		{[]string{"nosuch"}, 2},
	} {
		if r := run(t, nil, tc.args...); r.code != tc.code {
			t.Errorf("scalelab %v: exit code %d, want %d; stderr %q", tc.args, r.code, tc.code, r.stderr)
		}
	}
}

// Every command that takes a stage lists every stage in its help.
func TestHelpListsEveryStage(t *testing.T) {
	for _, cmd := range []string{"serve", "bench", "lab"} {
		r := run(t, nil, cmd, "--help")
		for _, name := range []string{"baseline", "cgi", "1f", "fastcgi", "appserver", "balanced", "cached"} {
			if !strings.Contains(r.stdout, name) {
				t.Errorf("scalelab %s --help does not name the stage %q", cmd, name)
			}
		}
	}
}
