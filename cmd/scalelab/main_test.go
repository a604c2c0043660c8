package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/scalelab/scalelab/bench/driver"
	"github.com/scalelab/scalelab/bench/record"
	"github.com/scalelab/scalelab/data"
	"github.com/scalelab/scalelab/infra"
	"github.com/scalelab/scalelab/infra/infratest"
	"github.com/scalelab/scalelab/internal/cpuset"
	"github.com/scalelab/scalelab/internal/wait"
)

// TestMain runs the real CLI when the test binary is started with
// SCALELAB_RUN_MAIN=1: the tests below run scalelab as a separate process,
// with real signals and exit codes, without building it first.
func TestMain(m *testing.M) {
	if os.Getenv("SCALELAB_RUN_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

type result struct {
	code           int
	stdout, stderr string
}

// scalelab starts the CLI with args and the given extra environment.
func scalelab(env []string, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "SCALELAB_RUN_MAIN=1")
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	return cmd, &stdout, &stderr
}

func run(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd, stdout, stderr := scalelab(env, args...)
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	return result{cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()}
}

func stateDir(t *testing.T) string {
	t.Helper()
	dir, err := infratest.StateDir("scalelab-cli-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		(&infra.Lab{State: dir}).Down(context.Background())
		os.RemoveAll(dir)
	})
	return dir
}

func needServices(t *testing.T, r result) {
	t.Helper()
	if r.code != 0 && strings.Contains(r.stderr, infra.ErrMissingBinary.Error()) {
		infratest.NeedBinary(t, infra.ErrMissingBinary)
	}
}

// seeded runs "scalelab seed --users N" into the state folder dir and
// returns the lab's services; it skips the test where they cannot run.
func seeded(t *testing.T, dir string, users int) infra.Services {
	t.Helper()
	r := run(t, nil, "seed", "--users", strconv.Itoa(users), "--state", dir)
	needServices(t, r)
	if r.code != 0 {
		t.Fatalf("seed: %+v", r)
	}
	svc, err := (&infra.Lab{State: dir}).Services()
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// onlyRun returns the one run folder under out and its record.
func onlyRun(t *testing.T, out string) (string, *driver.Run) {
	t.Helper()
	runs, _ := filepath.Glob(filepath.Join(out, "*", "run.json"))
	if len(runs) != 1 {
		t.Fatalf("want one run folder under %s, found %v", out, runs)
	}
	rec, err := driver.ReadRun(runs[0])
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(runs[0]), rec
}

// waitNoProcesses waits until no process of the lab in dir runs: stopped
// processes take their time to exit on a busy machine.
func waitNoProcesses(t *testing.T, dir string) {
	t.Helper()
	if !wait.Until(func() bool { return len(infratest.LabProcesses(dir)) == 0 }) {
		t.Fatalf("processes of the lab still run: %v", infratest.LabProcesses(dir))
	}
}

func TestUpStatusEnvDown(t *testing.T) {
	dir := stateDir(t)
	r := run(t, nil, "up", "--state", dir)
	needServices(t, r)
	if r.code != 0 || !strings.Contains(r.stdout, "started postgres") || !strings.Contains(r.stdout, "started memcached") {
		t.Fatalf("up: %+v", r)
	}
	if r := run(t, nil, "up", "--state", dir); r.code != 0 || !strings.Contains(r.stdout, "already running") {
		t.Fatalf("second up: %+v", r)
	}
	password, err := infra.ReadPassword((&infra.Lab{State: dir}).PassFile())
	if err != nil {
		t.Fatal(err)
	}
	r = run(t, nil, "status", "--state", dir)
	if r.code != 0 || strings.Count(r.stdout, "running") != 2 || !strings.Contains(r.stdout, "Unix socket") || strings.Contains(r.stdout, password) {
		t.Errorf("status (password hidden, the socket named): %+v", r)
	}
	r = run(t, nil, "env", "--state", dir)
	if r.code != 0 || !strings.Contains(r.stdout, "DATABASE_URL='postgres://postgres@127.0.0.1:") || !strings.Contains(r.stdout, "passfile=") ||
		!strings.Contains(r.stdout, "MEMCACHED_SERVERS='"+filepath.Join(dir, "memcached", "memcached.sock")+"'") || strings.Contains(r.stdout, password) {
		t.Errorf("env (no password, the pass file named): %+v", r)
	}
	shown := run(t, nil, "env", "--show-password", "--state", dir)
	if shown.code != 0 || !strings.Contains(shown.stdout, "postgres:"+password+"@127.0.0.1:") {
		t.Errorf("env --show-password: %+v", shown)
	}
	// The printed URLs work.
	for _, out := range []string{r.stdout, shown.stdout} {
		url := strings.Trim(strings.TrimPrefix(strings.Split(out, "\n")[0], "DATABASE_URL="), "'")
		pool, err := pgxpool.New(context.Background(), url)
		if err == nil {
			err = pool.Ping(context.Background())
			pool.Close()
		}
		if err != nil {
			t.Errorf("DATABASE_URL from env does not connect: %v", err)
		}
	}
	if len(infratest.LabProcesses(dir)) == 0 {
		t.Fatal("no process of the lab found while it runs: the check below would prove nothing")
	}
	if r := run(t, nil, "down", "--state", dir); r.code != 0 || strings.Count(r.stdout, "stopped") != 2 {
		t.Errorf("down: %+v", r)
	}
	waitNoProcesses(t, dir)
}

// Ctrl-C during a seed on a fresh state folder stops everything that seed
// started.
func TestSeedInterruptedStopsWhatItStarted(t *testing.T) {
	dir := stateDir(t)
	cmd, stdout, stderr := scalelab(nil, "seed", "--users", "100000", "--state", dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the load is under way (the services are up), then Ctrl-C.
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(stdout.String(), "started memcached") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	if strings.Contains(stderr.String(), infra.ErrMissingBinary.Error()) {
		infratest.NeedBinary(t, infra.ErrMissingBinary)
	}
	if err == nil {
		t.Fatalf("seed interrupted by SIGINT exited 0: %s %s", stdout, stderr)
	}
	if lines := strings.Count(strings.TrimSpace(stderr.String()), "\n"); lines > 0 {
		t.Errorf("error is %d lines, want one: %s", lines+1, stderr)
	}
	waitNoProcesses(t, dir)
}

// Ctrl-C during a seed into a running lab leaves the lab running and the
// dataset marked incomplete.
func TestSeedInterruptedLeavesIncompleteDataset(t *testing.T) {
	dir := stateDir(t)
	r := run(t, nil, "up", "--state", dir)
	needServices(t, r)
	if r.code != 0 {
		t.Fatalf("up: %+v", r)
	}
	cmd, _, _ := scalelab(nil, "seed", "--users", "100000", "--state", dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err == nil {
		t.Skip("the seed finished before the interrupt")
	}
	svc, err := (&infra.Lab{State: dir}).Services()
	if err != nil {
		t.Fatalf("the lab stopped: %v", err)
	}
	pool, err := pgxpool.New(context.Background(), svc.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := data.CheckLoaded(context.Background(), pool); !errors.Is(err, data.ErrIncomplete) {
		t.Errorf("after an interrupted seed CheckLoaded = %v, want ErrIncomplete", err)
	}
}

func TestBadInput(t *testing.T) {
	dir := stateDir(t)
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		code int
		says string
	}{
		{"zero users", nil, []string{"seed", "--users", "0"}, 2, "--users must be between"},
		{"negative users", nil, []string{"seed", "--users", "-5"}, 2, "--users must be between"},
		{"not a number", nil, []string{"seed", "--users", "abc"}, 2, "invalid argument"},
		{"unknown flag", nil, []string{"up", "--bogus"}, 2, "unknown flag"},
		{"unknown command", nil, []string{"bogus"}, 2, "unknown command"},
		{"index without action", nil, []string{"index"}, 2, "create or drop"},
		{"unreachable database", []string{"DATABASE_URL=postgres://postgres@127.0.0.1:1/x?connect_timeout=2", "MEMCACHED_SERVERS=127.0.0.1:2"},
			[]string{"seed", "--users", "10"}, 1, "cannot reach PostgreSQL at 127.0.0.1:1"},
		{"env with the lab down", nil, []string{"env"}, 1, "scalelab up"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, tc.env, append(tc.args, "--state", dir)...)
			if r.code != tc.code {
				t.Errorf("exit code %d, want %d (%s)", r.code, tc.code, r.stderr)
			}
			msg := strings.TrimSpace(r.stderr)
			if strings.Contains(msg, "\n") || !strings.Contains(msg, tc.says) || strings.Contains(msg, "goroutine") {
				t.Errorf("stderr %q: want one line saying %q", msg, tc.says)
			}
		})
	}
	waitNoProcesses(t, dir)
}

// serve runs a stage on a fresh state folder, checks that it answers, then
// stops it with Ctrl-C: every process it started must be gone.
func TestServeStopsEverythingOnCtrlC(t *testing.T) {
	for _, tc := range []struct {
		stage string
		extra []string
	}{
		{"baseline", nil},
		{"cgi", nil},
		{"fastcgi", nil},
		{"2", nil},
		{"balanced", nil},
		{"4", []string{"--no-index"}},
	} {
		stage := tc.stage
		t.Run(stage, func(t *testing.T) {
			dir := stateDir(t)
			addr := "127.0.0.1:0"
			if stage == "baseline" || stage == "fastcgi" || stage == "balanced" || stage == "4" {
				// nginx needs a real port to listen on.
				port, _ := infra.FreePort()
				addr = fmt.Sprintf("127.0.0.1:%d", port)
			}
			args := append([]string{"serve", stage, "--addr", addr, "--seed-users", "200", "--state", dir}, tc.extra...)
			cmd, stdout, stderr := scalelab(nil, args...)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			var url string
			for deadline := time.Now().Add(60 * time.Second); url == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				for _, line := range strings.Split(stdout.String(), "\n") {
					if rest, ok := strings.CutPrefix(line, "serving "); ok {
						url, _, _ = strings.Cut(rest, " ")
					}
				}
				if cmd.ProcessState != nil {
					break
				}
			}
			if strings.Contains(stderr.String(), infra.ErrMissingBinary.Error()) {
				infratest.NeedBinary(t, infra.ErrMissingBinary)
			}
			if url == "" {
				t.Fatalf("serve printed no URL: %s %s", stdout, stderr)
			}
			if !strings.Contains(stdout.String(), "seeding 200 users") {
				t.Errorf("serve on an empty database did not say it seeds: %s", stdout)
			}
			page := "/u/user000001"
			if stage == "baseline" {
				page = "/"
			}
			resp, err := http.Get(url + page)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("GET %s: %d", page, resp.StatusCode)
			}
			if len(infratest.LabProcesses(dir)) == 0 {
				t.Fatal("no process of the lab found while it serves: the check below would prove nothing")
			}
			cmd.Process.Signal(syscall.SIGINT)
			if err := cmd.Wait(); err != nil {
				t.Errorf("serve after Ctrl-C: %v: %s", err, stderr)
			}
			waitNoProcesses(t, dir)
			if len(tc.extra) > 0 && !strings.Contains(stdout.String(), "indexes restored") {
				t.Errorf("serve --no-index did not restore the indexes: %s", stdout)
			}
		})
	}
}

func TestServeBadUsage(t *testing.T) {
	for _, args := range [][]string{
		{"serve"},
		{"serve", "9"},
		{"serve", "2", "--addr", "10.1.2.3:8080"},
		{"serve", "2", "--addr", "nonsense"},
		{"serve", "2", "--procs", "-1"},
		{"serve", "3", "--instances", "-2"},
		{"serve", "3", "--sessions", "cookies"},
	} {
		r := run(t, nil, args...)
		if r.code != 2 || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q; want 2 and one line", args, r.code, r.stderr)
		}
	}
}

// The whole talk, quickly, against the real services: every stage has a
// record with requests, no errors, and a passed verification.
func TestLabQuick(t *testing.T) {
	dir, out := stateDir(t), t.TempDir()
	r := run(t, nil, "lab", "--quick", "--users", "300", "--duration", "1s", "--warmup", "0s", "--state", dir, "--out", out)
	needServices(t, r)
	if r.code != 0 {
		t.Fatalf("lab --quick: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	runDir, rec := onlyRun(t, out)
	want := []string{"0/static", "0/dynamic", "0/query", "1/", "1f/", "2/", "3/", "4/", "4-noindex/"}
	var got []string
	for _, x := range rec.Results {
		got = append(got, x.Key()+"/"+x.Page)
		if x.Requests == 0 || x.Errors != 0 || x.Verification != "passed" || x.RPS <= 0 || len(x.Records) == 0 {
			t.Errorf("stage %s %s: requests %d, errors %d, rps %.0f, verification %q", x.Stage, x.Page, x.Requests, x.Errors, x.RPS, x.Verification)
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("stages measured %v, want %v", got, want)
	}
	// Every stage that ran the photo workload was checked for lost writes
	// (in one-second runs a stage may post no comment: TestBenchFaults
	// checks that comments are found).
	for _, x := range rec.Results {
		if x.Stage != "0" && (x.Writes == nil || !x.Writes.OK()) {
			t.Errorf("stage %s: write check %+v", x.Stage, x.Writes)
		}
	}
	if !strings.Contains(r.stdout, "writes: ") {
		t.Errorf("the run's output says nothing of its writes:\n%s", r.stdout)
	}
	for _, x := range rec.Results {
		w := x.Where
		if w == nil {
			t.Errorf("stage %s %s: no record of where the CPU went", x.Stage, x.Page)
			continue
		}
		switch {
		case x.Stage == "0" && x.Page == "query" && (w.SQLPerView < 0.95 || w.SQLPerView > 1.05):
			// The query baseline runs exactly one statement per request.
			t.Errorf("query baseline: %.3f SQL statements per view, want 1", w.SQLPerView)
		case x.Stage == "0" && x.Page == "static" && w.SQLPerView != 0:
			t.Errorf("static baseline: %.3f SQL statements per view, want 0", w.SQLPerView)
		case x.Stage == "1" && w.CPUUsPerRequest[record.CPUServe] < 100:
			// The CGI programs' time reaches the host through its reaped
			// children: a process started per request costs far more than
			// 100 µs of CPU (fork, exec, a database connection), however
			// busy the machine, so less means the children's time is lost.
			t.Errorf("CGI stage: its host and programs used %.0f µs of CPU per request: the children's time is lost", w.CPUUsPerRequest[record.CPUServe])
		}
		checkCPUAddsUp(t, &x)
		// Every measurement probed the machine's speed.
		if w.SpeedProbeMs <= 0 {
			t.Errorf("stage %s %s: no speed probe in its record", x.Stage, x.Page)
		}
	}
	if !rec.Complete || rec.Machine.Cores == 0 || rec.Settings.Users != 300 {
		t.Errorf("record: complete %v, machine %+v, settings %+v", rec.Complete, rec.Machine, rec.Settings)
	}
	for _, f := range []string{"summary.csv", "bench.txt"} {
		if st, err := os.Stat(filepath.Join(runDir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s missing or empty: %v", f, err)
		}
	}
	waitNoProcesses(t, dir)
}

// A stage that serves a stale page (a cached page nobody invalidated) is
// refused, not measured.
func TestBenchRefusesAStalePage(t *testing.T) {
	dir, out := stateDir(t), t.TempDir()
	svc := seeded(t, dir, 300)
	// The driver empties memcached before a stage starts, so the stale page
	// is planted again and again while the bench runs, as a cache nobody
	// invalidates would keep serving it.
	mc := memcache.New(svc.MemcachedServers)
	stop := make(chan struct{})
	planted := make(chan error, 1)
	go func() {
		defer close(planted)
		for {
			if err := mc.Set(&memcache.Item{Key: "page:/p/1", Value: []byte("<!DOCTYPE html><p>an old page</p>")}); err != nil {
				planted <- err
				return
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	r := run(t, nil, "bench", "4", "--users", "300", "--duration", "1s", "--warmup", "0s", "--state", dir, "--out", out)
	close(stop)
	if err := <-planted; err != nil {
		t.Fatal(err)
	}
	if r.code != 1 || !strings.Contains(r.stderr, "verification failed") || !strings.Contains(r.stderr, "/p/1") {
		t.Fatalf("bench of a stage with a stale page: exit %d, stderr %q", r.code, r.stderr)
	}
	if _, rec := onlyRun(t, out); len(rec.Results) != 1 || rec.Results[0].Requests != 0 || rec.Complete {
		t.Errorf("record of the refused stage: %+v", rec)
	}
}

// startServing runs "scalelab serve ARGS" and returns its URL once it serves.
func startServing(t *testing.T, args ...string) string {
	t.Helper()
	cmd, stdout, stderr := scalelab(nil, append([]string{"serve"}, args...)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGINT)
		cmd.Wait()
	})
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		for _, line := range strings.Split(stdout.String(), "\n") {
			if rest, ok := strings.CutPrefix(line, "serving "); ok {
				url, _, _ := strings.Cut(rest, " ")
				return url
			}
		}
	}
	t.Fatalf("serve %v printed no URL: %s %s", args, stdout, stderr)
	return ""
}

// A stage 3 spread over "hosts": two app servers on other loopback
// addresses (127.0.0.2, 127.0.0.3), nginx on 127.0.0.1 balancing over them.
func TestStage3AcrossHosts(t *testing.T) {
	dir := stateDir(t)
	seeded(t, dir, 200)
	port, _ := infra.FreePort()
	var hosts []string
	for _, ip := range []string{"127.0.0.2", "127.0.0.3"} {
		addr := fmt.Sprintf("%s:%d", ip, port)
		startServing(t, "app", "--addr", addr, "--state", dir)
		hosts = append(hosts, addr)
	}
	front, _ := infra.FreePort()
	url := startServing(t, "3", "--upstream", strings.Join(hosts, ","), "--addr", fmt.Sprintf("127.0.0.1:%d", front), "--state", dir)
	c := newCookieClient()
	if err := login(c, url, "user000007"); err != nil {
		t.Fatal(err)
	}
	pids := map[string]bool{}
	for i := 0; i < 20; i++ {
		resp, err := c.Get(url + "/p/2")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		pids[resp.Header.Get("X-App-Pid")] = true
		if resp.StatusCode != 200 || !strings.Contains(string(body), "Signed in as") {
			t.Fatalf("request %d: %d, signed in: %v", i, resp.StatusCode, strings.Contains(string(body), "Signed in as"))
		}
	}
	if len(pids) != 2 {
		t.Errorf("20 requests reached %d app servers, want the 2 hosts: %v", len(pids), pids)
	}
	// (Another state folder: this one is held by the running serve.)
	if r := run(t, nil, "serve", "3", "--upstream", "10.0.0.1:8080", "--state", stateDir(t)); r.code != 2 {
		t.Errorf("a non-loopback upstream without --allow-remote: exit %d, %s", r.code, r.stderr)
	}
}

func newCookieClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 10 * time.Second}
}

func login(c *http.Client, base, name string) error {
	resp, err := c.PostForm(base+"/login", neturl.Values{"name": {name}, "password": {"pw-" + name}})
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 { // the redirect to the front page was followed
		return fmt.Errorf("login: %d", resp.StatusCode)
	}
	return nil
}

// A load split over two generator processes merges, histograms and all,
// into one record with both totals.
func TestDistributedLoadMerges(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer srv.Close()
	dir := t.TempDir()
	for i, n := range []string{"300", "500"} {
		r := run(t, nil, "load", srv.URL, "--requests", n, "--connections", "4", "--out", filepath.Join(dir, fmt.Sprintf("part%d.json", i)))
		if r.code != 0 {
			t.Fatalf("load %d: %+v", i, r)
		}
	}
	merged := filepath.Join(dir, "merged.json")
	r := run(t, nil, "merge", filepath.Join(dir, "part0.json"), filepath.Join(dir, "part1.json"), "--out", merged)
	if r.code != 0 {
		t.Fatalf("merge: %+v", r)
	}
	rec, err := record.ReadFile(merged)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Results.Requests != 800 || rec.Results.Latency.Hist.TotalCount() != 800 {
		t.Errorf("merged record: %d requests, histogram of %d, want 800", rec.Results.Requests, rec.Results.Latency.Hist.TotalCount())
	}
}

func TestBenchBadUsage(t *testing.T) {
	for _, args := range [][]string{
		{"bench"},
		{"bench", "9"},
		{"bench", "2", "--find-capacity", "--slo", "p99"},
		{"bench", "2", "--find-capacity", "--slo", "p99=-5ms"},
		{"bench", "2", "--repeat", "0"},
		{"bench", "2", "--tool", "siege"},
		{"lab", "--duration", "0s"},
		{"lab", "--app-cpu", "-1ms"},
		{"bench", "2", "--app-start-cpu", "11s"},
		{"lab", "--client-cpus", "x"},
		{"bench", "2", "--client-cpus", "1000"},
		{"load", "http://127.0.0.1:1/", "--client-cpus", "1000"},
	} {
		r := run(t, nil, args...)
		if r.code != 2 || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q; want 2 and one line", args, r.code, r.stderr)
		}
	}
}

// A driver killed outright (SIGKILL: no cleanup of its own) leaves a lab
// that "scalelab down" still stops completely, by the pid records.
func TestDownCleansUpAfterAKilledDriver(t *testing.T) {
	dir, out := stateDir(t), t.TempDir()
	r := run(t, nil, "seed", "--users", "200", "--state", dir)
	needServices(t, r)
	cmd, _, stderr := scalelab(nil, "bench", "3", "--users", "200", "--duration", "60s", "--warmup", "0s", "--no-verify", "--state", dir, "--out", out)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the stage runs: its serve child and app servers are recorded.
	deadline := time.Now().Add(60 * time.Second)
	for {
		files, _ := filepath.Glob(filepath.Join(dir, "run", "stage3-app-*.json"))
		serve, _ := filepath.Glob(filepath.Join(dir, "run", "driver-serve-*.json"))
		if len(files) > 0 && len(serve) > 0 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the stage never started: %s", stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	cmd.Process.Kill()
	cmd.Wait()
	if len(infratest.LabProcesses(dir)) == 0 {
		t.Fatal("no process of the lab left after killing the driver: the test proves nothing")
	}
	if r := run(t, nil, "down", "--state", dir); r.code != 0 {
		t.Fatalf("down: %+v", r)
	}
	waitNoProcesses(t, dir)
}

// While one command holds the lab, a second that would change it says the
// lab is in use and changes nothing; commands that only read it still run.
func TestLabInUse(t *testing.T) {
	dir := stateDir(t)
	svc := seeded(t, dir, 200)
	url := startServing(t, "2", "--state", dir, "--seed-users", "200")
	for _, args := range [][]string{{"seed", "--users", "300"}, {"down"}, {"bench", "2", "--users", "200"}, {"index", "drop"}} {
		r := run(t, nil, append(args, "--state", dir)...)
		if r.code != 1 || !strings.Contains(r.stderr, "in use") || !strings.Contains(r.stderr, "scalelab serve 2") || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
			t.Errorf("%v while serve runs: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
	if r := run(t, nil, "status", "--state", dir); r.code != 0 {
		t.Errorf("status while serve runs: %+v", r)
	}
	// Nothing was changed: the dataset is whole, the indexes are there and
	// the stage still serves.
	resp, err := http.Get(url + "/u/" + data.UserName(200))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("after the refused commands, user 200's page: %d", resp.StatusCode)
	}
	pool, err := pgxpool.New(context.Background(), svc.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var users, indexes int
	pool.QueryRow(context.Background(), "SELECT count(*) FROM users").Scan(&users)
	pool.QueryRow(context.Background(), "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'").Scan(&indexes)
	if users != 200 || indexes < 5 {
		t.Errorf("after the refused commands: %d users, %d indexes", users, indexes)
	}
}

// Each fault under load: injected at its time, recorded with its events,
// the stage's pages and writes still right, the lab whole afterwards.
func TestBenchFaults(t *testing.T) {
	dir, out := stateDir(t), t.TempDir()
	before := seeded(t, dir, 300)
	for _, tc := range []struct {
		stage, kind string
		extra       []string
		events      []string
	}{
		{"3", "kill-instance", nil, []string{"killed stage3-app-1", "restarted it"}},
		{"4", "memcached-down", []string{"--fault-for", "1s"}, []string{"memcached stopped", "memcached started again"}},
		{"2", "db-restart", nil, []string{"postgres stopped", "postgres started again"}},
		{"2", "slow-db", []string{"--fault-for", "1s", "--fault-delay", "200ms"}, []string{"200ms longer", "full speed again"}},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			o := filepath.Join(out, tc.kind)
			// No warm-up, to keep the test short: the fault comes at 3 s,
			// so that the req/s before it is the median of two seconds,
			// and a cold stage on a busy machine that answers nothing in
			// its first whole second still has one before the fault.
			args := append([]string{"bench", tc.stage, "--fault", tc.kind, "--at", "3s", "--duration", "9s", "--warmup", "0s",
				"--users", "300", "--state", dir, "--out", o}, tc.extra...)
			// memcached, stopped and started again by the load generator,
			// must come back on the servers' CPUs, not the load
			// generator's; and after the run, on the CPUs it had before.
			all, err := cpuset.Allowed()
			if err != nil {
				t.Fatal(err)
			}
			pinned := tc.kind == "memcached-down" && len(all) >= 2
			if pinned {
				args = append(args, "--client-cpus", all[:1].String())
				tc.events = append(tc.events, "pinned to CPU "+all[1:].String())
			}
			r := run(t, nil, args...)
			if r.code != 0 {
				t.Fatalf("bench: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
			}
			runDir, rec := onlyRun(t, o)
			if len(rec.Results) != 1 {
				t.Fatalf("record: %+v", rec)
			}
			x := rec.Results[0]
			f := x.Fault
			if f == nil || f.Kind != tc.kind || f.AtS != 3 || f.BeforeRPS <= 0 {
				t.Fatalf("fault record %+v", f)
			}
			var said []string
			for _, e := range f.Events {
				said = append(said, e.What)
				if e.T < 2.9 {
					t.Errorf("event %q at %.2f s, before the fault's time", e.What, e.T)
				}
			}
			for _, want := range tc.events {
				if !strings.Contains(strings.Join(said, " | "), want) {
					t.Errorf("events %q lack %q", said, want)
				}
			}
			if x.Writes == nil || !x.Writes.OK() || x.Writes.Checked == 0 || x.Writes.PagesRead == 0 {
				t.Errorf("writes under the fault: %+v", x.Writes)
			}
			if tc.kind == "db-restart" {
				// Requests during the gap failed fast (503), none hung until
				// the client's timeout; at the end, with the same app server,
				// pages were served again without errors (the pool
				// reconnected by itself).
				res := x.Records[0].Results
				if n := res.Errors["timeout"]; n > 0 {
					t.Errorf("%d requests timed out during the database's restart", n)
				}
				if tl := res.Timeline; len(tl) < 3 || tl[len(tl)-2].Errors > 0 || tl[len(tl)-2].Requests == 0 {
					t.Errorf("the last whole second after the restart: %+v", tl[len(tl)-2])
				}
			}
			if tc.kind == "slow-db" && f.WorstP99Ms < 200 {
				t.Errorf("with 200ms added to each query, the worst p99 was %.0f ms", f.WorstP99Ms)
			}
			if _, err := os.Stat(filepath.Join(runDir, "fault.png")); err != nil {
				t.Errorf("no fault chart: %v", err)
			}
			// The services are back where they were.
			after, err := (&infra.Lab{State: dir}).Services()
			if err != nil || after != before {
				t.Errorf("services after the fault: %+v, %v; before: %+v", after, err, before)
			}
			if pinned {
				for _, p := range (&infra.Lab{State: dir}).Recorded() {
					if p.Name != "postgres" && p.Name != "memcached" {
						continue
					}
					if got, err := cpuset.Of(p.PID); err != nil || got.String() != all.String() {
						t.Errorf("%s runs on CPU %s after the pinned run (%v), want %s as before it", p.Name, got, err, all)
					}
				}
			}
		})
	}
	for _, args := range [][]string{
		{"bench", "2", "--fault", "kill-instance"},                     // stage 2 has one process
		{"bench", "3", "--fault", "flood"},                             // no such fault
		{"bench", "3", "--fault", "kill-instance", "--duration", "5s"}, // no time to recover
	} {
		if r := run(t, nil, append(args, "--state", dir, "--out", out)...); r.code != 2 {
			t.Errorf("%v: exit %d, %s", args, r.code, r.stderr)
		}
	}
	if r := run(t, nil, "down", "--state", dir); r.code != 0 {
		t.Fatalf("down: %+v", r)
	}
	waitNoProcesses(t, dir)
}

// A results folder that cannot be written is refused before anything
// starts; one that fills up during the run loses nothing: the record goes
// to the temporary folder, and the one left behind is whole.
func TestResultsFolderFullOrUnwritable(t *testing.T) {
	dir := stateDir(t)
	file := filepath.Join(t.TempDir(), "a-file")
	os.WriteFile(file, nil, 0o644)
	r := run(t, nil, "bench", "2", "--users", "300", "--state", dir, "--out", filepath.Join(file, "runs"))
	if r.code != 2 || !strings.Contains(r.stderr, "cannot be written") || !strings.Contains(r.stderr, "--out") {
		t.Errorf("bench into a folder under a file: exit %d, %q", r.code, r.stderr)
	}
	if len(infratest.LabProcesses(dir)) > 0 {
		t.Error("services were started for a run that could not be recorded")
	}

	// A small disk of its own: the run's first record fits, the one with
	// the measurements does not.
	tiny := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=48k", "tmpfs", tiny).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs here (%v: %s)", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", tiny).Run() })
	tmp := t.TempDir()
	r = run(t, []string{"TMPDIR=" + tmp}, "bench", "0", "--users", "300", "--duration", "1s", "--warmup", "0s", "--state", dir, "--out", tiny)
	needServices(t, r)
	if r.code != 1 || !strings.Contains(r.stderr, "no space left on device") || !strings.Contains(r.stderr, tmp) {
		t.Fatalf("bench into a full disk: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	left, _ := filepath.Glob(filepath.Join(tiny, "*", "run.json"))
	saved, _ := filepath.Glob(filepath.Join(tmp, "scalelab-results", "*", "run.json"))
	if len(left) != 1 || len(saved) != 1 {
		t.Fatalf("records: %v in the full folder, %v in the temporary one", left, saved)
	}
	// Whichever write failed, what it left is a whole record of an
	// unfinished run.
	if rec, err := driver.ReadRun(left[0]); err != nil || rec.Complete {
		t.Errorf("the record left in the full folder: complete %v, %v", rec != nil && rec.Complete, err)
	}
	if rec, err := driver.ReadRun(saved[0]); err != nil || len(rec.Results) != 3 || !rec.Complete {
		t.Errorf("the record saved instead: %v results, %v", len(rec.Results), err)
	}
	waitNoProcesses(t, dir)
}

// checkCPUAddsUp checks the accounting identity of where the CPU went: the
// components and idle cannot have used more of the machine than it had over
// the measurements (cores × wall time, from /proc/stat; 5% allowed, and a
// tick per field /proc counts), and with what outsiders and steal took they
// account for nearly all of it. It holds however busy the machine is.
func checkCPUAddsUp(t *testing.T, x *record.Result) {
	t.Helper()
	w := x.Where
	if w.MachineS <= 0 {
		t.Errorf("stage %s %s: no account of the machine's CPU", x.Stage, x.Page)
		return
	}
	sum := 0.0
	for _, v := range w.CPUS {
		sum += v
	}
	// /proc counts in 10 ms ticks and truncates each field: a watched
	// process's user and system time may each read up to a tick high over
	// an interval, and so may the idle time of each measurement.
	ticks := 0.0
	for _, rec := range x.Records {
		ticks += 0.01 * float64(2*len(rec.Results.CPU.Watched)+1)
	}
	if sum > 1.05*w.MachineS+ticks {
		t.Errorf("stage %s %s: components and idle used %.2f CPU-s of the machine's %.2f: counted twice (%v)", x.Stage, x.Page, sum, w.MachineS, w.CPUS)
	}
	if all := sum + w.OutsideCPUS + w.StealS; all < 0.8*w.MachineS {
		t.Errorf("stage %s %s: components, idle, outsiders and steal account for %.2f CPU-s of the machine's %.2f (%v)", x.Stage, x.Page, all, w.MachineS, w.CPUS)
	}
}
