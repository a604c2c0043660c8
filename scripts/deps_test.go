// Package scripts holds the shell scripts of make deps and make test-busy;
// its test runs deps.sh against stand-ins for apt-get and PostgreSQL's
// cluster tools, which a test must not run for real (they change the
// machine).
package scripts

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// sandbox is a PATH with stand-ins: each present tool is a script that
// does nothing, apt-get and pg_ctlcluster log their arguments, apt-get's
// install of postgresql creates a cluster, and pg_lsclusters lists the
// clusters.
type sandbox struct {
	dir, log, clusters string
}

func newSandbox(t *testing.T, present []string, clusters string) *sandbox {
	t.Helper()
	s := &sandbox{dir: t.TempDir()}
	s.log = filepath.Join(s.dir, "calls.log")
	s.clusters = filepath.Join(s.dir, "clusters")
	os.WriteFile(s.clusters, []byte(clusters), 0o644)
	bin := filepath.Join(s.dir, "bin")
	os.Mkdir(bin, 0o755)
	// The few real tools the script uses.
	for _, tool := range []string{"bash", "env", "awk", "grep", "id", "cat"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Skipf("%s is not installed: %v", tool, err)
		}
		os.Symlink(p, filepath.Join(bin, tool))
	}
	script := func(name, body string) {
		os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/bash\n"+body+"\n"), 0o755)
	}
	for _, tool := range present {
		script(tool, "exit 0")
	}
	script("apt-get", `echo "apt-get $*" >> `+s.log+`
case " $* " in *" postgresql "*) echo "15 main 5432 online postgres /var/lib/postgresql/15/main log" >> `+s.clusters+`;; esac`)
	script("pg_lsclusters", "cat "+s.clusters)
	script("pg_ctlcluster", `echo "pg_ctlcluster $*" >> `+s.log)
	return s
}

func (s *sandbox) run(t *testing.T, pgServer bool) (string, []string) {
	t.Helper()
	glob := filepath.Join(s.dir, "pg", "*", "postgres")
	if pgServer {
		os.MkdirAll(filepath.Join(s.dir, "pg", "15"), 0o755)
		os.WriteFile(filepath.Join(s.dir, "pg", "15", "postgres"), nil, 0o755)
	}
	cmd := exec.Command(filepath.Join(s.dir, "bin", "bash"), "deps.sh")
	cmd.Env = []string{"PATH=" + filepath.Join(s.dir, "bin"), "DEPS_PG_GLOB=" + glob, "DEPS_NGINX=/nonexistent"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("deps.sh: %v\n%s", err, out)
	}
	b, _ := os.ReadFile(s.log)
	var calls []string
	if len(b) > 0 {
		calls = strings.Split(strings.TrimSpace(string(b)), "\n")
	}
	return string(out), calls
}

var all = []string{"memcached", "nginx", "ab", "wrk"}

// With everything installed, deps.sh says nothing and runs nothing.
func TestDepsQuietWhenAllPresent(t *testing.T) {
	s := newSandbox(t, all, "13 old 5433 online postgres /x log\n")
	out, calls := s.run(t, true)
	if out != "" || len(calls) != 0 {
		t.Errorf("output %q, calls %q; want neither", out, calls)
	}
}

// Installing wrk alone stops no PostgreSQL cluster.
func TestDepsInstallsOnlyWhatIsMissing(t *testing.T) {
	s := newSandbox(t, []string{"memcached", "nginx", "ab"}, "13 old 5433 online postgres /x log\n")
	_, calls := s.run(t, true)
	want := []string{"apt-get update -qq", "apt-get install -y -qq --no-install-recommends wrk"}
	if strings.Join(calls, "\n") != strings.Join(want, "\n") {
		t.Errorf("calls %q, want %q", calls, want)
	}
}

// Installing PostgreSQL stops the cluster the package created, and only it.
func TestDepsStopsOnlyTheClusterItsInstallCreated(t *testing.T) {
	s := newSandbox(t, all, "13 old 5433 online postgres /x log\n")
	_, calls := s.run(t, false)
	var stops []string
	for _, c := range calls {
		if strings.HasPrefix(c, "pg_ctlcluster") {
			stops = append(stops, c)
		}
	}
	if len(stops) != 1 || stops[0] != "pg_ctlcluster 15 main stop" {
		t.Errorf("cluster stops %q, want only the new one: pg_ctlcluster 15 main stop (calls %q)", stops, calls)
	}
}
