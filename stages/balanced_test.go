package stages_test

import (
	"bufio"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/scalelab/scalelab/infra"
	"github.com/scalelab/scalelab/infra/infratest"
	"github.com/scalelab/scalelab/internal/sitetest"
	"github.com/scalelab/scalelab/internal/supervisor"
	"github.com/scalelab/scalelab/internal/wait"
	"github.com/scalelab/scalelab/stages/balanced"
	"github.com/scalelab/scalelab/stages/baseline"
	"github.com/scalelab/scalelab/stages/cached"
	"github.com/scalelab/scalelab/stages/fastcgi"
)

// appServerCommand starts an app server the way stages 3 and 4 do, from
// this test binary (see TestMain).
func appServerCommand(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "SCALELAB_TEST_APPSERVER=1")
	return cmd
}

func newStage3(t *testing.T, sessions, memcached string) *balanced.Stage {
	t.Helper()
	port, err := infra.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := infratest.StateDir("scalelab-stage-") // nginx's workers (the service user) must read it
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return &balanced.Stage{
		Addr: fmt.Sprintf("127.0.0.1:%d", port),
		Dir:  dir,
		Instances: supervisor.Instances{
			N:       2,
			Command: appServerCommand,
			Args:    []string{"--sessions", sessions},
			Env:     []string{"DATABASE_URL=" + lab.Services.DatabaseURL, "MEMCACHED_SERVERS=" + memcached},
			Images:  lab.Images,
			Prefix:  "test",
		},
	}
}

func startStage(t *testing.T, st *balanced.Stage) *sitetest.Client {
	t.Helper()
	if err := st.Start(context.Background()); err != nil {
		infratest.NeedBinary(t, err)
	}
	t.Cleanup(func() { st.Close(context.Background()) })
	// The rendered config passes nginx -t (Start checked it too).
	if err := st.Nginx().Test(); err != nil {
		t.Error(err)
	}
	return sitetest.NewClient(st.URL())
}

func startStage4(t *testing.T, memcached string) *sitetest.Client {
	t.Helper()
	st, err := cached.New(*newStage3(t, "memcached", memcached), memcached)
	if err != nil {
		t.Fatal(err)
	}
	return startStage(t, st)
}

func compareStages(t *testing.T, label string, ref, got *sitetest.Client, times int) {
	t.Helper()
	for _, u := range GoldenURLs {
		want := ref.Get(t, u)
		for i := 0; i < times; i++ {
			r := got.Get(t, u)
			if r.Status != want.Status || r.Body != want.Body || r.Header.Get("Content-Type") != want.Header.Get("Content-Type") {
				t.Errorf("%s %s (request %d, served by %q): %d %q %d bytes, stage 2 gave %d %q %d bytes", label, u, i+1,
					r.Header.Get("X-Served-By"), r.Status, r.Header.Get("Content-Type"), len(r.Body), want.Status, want.Header.Get("Content-Type"), len(want.Body))
			}
		}
	}
}

func TestStages3And4ServeTheSamePagesAsStage2(t *testing.T) {
	two := startAppServer(t)
	three := startStage(t, newStage3(t, "memcached", lab.Services.MemcachedServers))
	four := startStage4(t, lab.Services.MemcachedServers)
	compareStages(t, "stage 3 anonymous", two, three, 1)
	compareStages(t, "stage 4 anonymous", two, four, 2) // the second from nginx's memcached
	for _, c := range []*sitetest.Client{two, three, four} {
		c.Login(t, 42)
	}
	compareStages(t, "stage 3 logged in", two, three, 1)
	compareStages(t, "stage 4 logged in", two, four, 2)
}

// Killing one app server while requests run: nginx moves on to the other
// and every request is answered. The kill comes once requests are under
// way (an event, not a time), and the clients go on until 200 requests
// have been answered after it, however fast or slow the machine.
func TestStage3SurvivesAKilledInstance(t *testing.T) {
	st := newStage3(t, "memcached", lab.Services.MemcachedServers)
	c := startStage(t, st)
	const before, after = 20, 200
	var answered, answeredAfter atomic.Int64
	var killed atomic.Bool
	var wg sync.WaitGroup
	var mu sync.Mutex // guards failures
	var failures []string
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := sitetest.NewClient(c.Base)
			for !killed.Load() || answeredAfter.Load() < after {
				wasKilled := killed.Load()
				if r := cl.Get(t, "/u/user000007"); r.Status != 200 {
					mu.Lock()
					failures = append(failures, fmt.Sprint(r.Status))
					mu.Unlock()
				}
				answered.Add(1)
				if wasKilled {
					answeredAfter.Add(1)
				}
			}
		}()
	}
	wait.For(t, fmt.Sprintf("%d requests answered before the kill", before), func() bool { return answered.Load() >= before })
	victim := st.Procs[0]
	syscall.Kill(victim.PID, syscall.SIGKILL)
	killed.Store(true)
	wg.Wait()
	if victim.Alive() {
		t.Fatal("the killed instance is alive")
	}
	if len(failures) > 0 {
		t.Errorf("%d of %d requests failed when an instance was killed: %v", len(failures), answered.Load(), failures)
	}
	// The stage restarts it on its address, where nginx finds it again.
	back := waitRestarted(t, func() *infra.Process { return st.Proc(0) }, victim)
	if back.Addr != victim.Addr {
		t.Errorf("restarted on %s, was on %s", back.Addr, victim.Addr)
	}
	if err := supervisor.WaitHealthy(context.Background(), back, "http://"+back.Addr+"/healthz", wait.Hang); err != nil {
		t.Fatal(err)
	}
	// nginx tries a failed upstream again after its fail_timeout (2 s).
	served := map[string]bool{}
	cl := sitetest.NewClient(c.Base)
	if !wait.Until(func() bool {
		served[cl.Get(t, "/p/3").Header.Get("X-App-Pid")] = true
		return served[strconv.Itoa(back.PID)]
	}) {
		t.Errorf("the restarted instance (pid %d) got no request in %s: %v", back.PID, wait.Hang, served)
	}
}

// waitRestarted waits until current() is a live process other than old.
func waitRestarted(t *testing.T, current func() *infra.Process, old *infra.Process) *infra.Process {
	t.Helper()
	var p *infra.Process
	wait.For(t, fmt.Sprintf("%s (pid %d) to be restarted", old.Name, old.PID), func() bool {
		p = current()
		return p.PID != old.PID && p.Alive()
	})
	return p
}

// With sessions in memcached a user stays logged in whichever instance
// answers; with sessions in each process's memory they do not.
func TestStage3Sessions(t *testing.T) {
	for _, tc := range []struct {
		sessions     string
		wantLoggedIn bool
	}{{"memcached", true}, {"memory", false}} {
		t.Run(tc.sessions, func(t *testing.T) {
			c := startStage(t, newStage3(t, tc.sessions, lab.Services.MemcachedServers))
			c.Login(t, 11)
			pids := map[string]bool{}
			in, out := 0, 0
			for i := 0; i < 20; i++ {
				r := c.Get(t, "/p/3")
				pids[r.Header.Get("X-App-Pid")] = true
				if strings.Contains(r.Body, "Signed in as") {
					in++
				} else {
					out++
				}
			}
			if len(pids) != 2 {
				t.Fatalf("20 requests reached %d instances, want 2: %v", len(pids), pids)
			}
			if tc.wantLoggedIn && out > 0 {
				t.Errorf("sessions in memcached: logged out on %d of 20 requests", out)
			}
			if !tc.wantLoggedIn && out == 0 {
				t.Errorf("sessions in memory: logged in on all 20 requests over 2 instances; the lesson is lost")
			}
		})
	}
}

// memcachedStats reads a few counters from memcached's "stats".
func memcachedStats(t *testing.T, addr string) map[string]string {
	t.Helper()
	c, err := infra.DialMemcached(addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, "stats\r\n")
	stats := map[string]string{}
	sc := bufio.NewScanner(c)
	for sc.Scan() && sc.Text() != "END" {
		if f := strings.Fields(sc.Text()); len(f) == 3 {
			stats[f[1]] = f[2]
		}
	}
	return stats
}

func TestStage4ServesFromMemcachedAndInvalidates(t *testing.T) {
	mc := lab.Services.MemcachedServers
	four := startStage4(t, mc)
	anon := func() *sitetest.Client { return sitetest.NewClient(four.Base) }

	first := anon().Get(t, "/u/user000002")
	hitsBefore := memcachedStats(t, mc)["get_hits"]
	second := anon().Get(t, "/u/user000002")
	if got := second.Header.Get("X-Served-By"); got != "nginx-memcached" {
		t.Errorf("second anonymous GET served by %q, want nginx-memcached (first: %q)", got, first.Header.Get("X-Served-By"))
	}
	if hitsAfter := memcachedStats(t, mc)["get_hits"]; hitsAfter == hitsBefore {
		t.Errorf("memcached get_hits did not move (%s)", hitsAfter)
	}
	if second.Body != first.Body || second.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("the page from memcached differs or has Content-Type %q", second.Header.Get("Content-Type"))
	}
	// Logged-in visitors always reach the app.
	user := sitetest.NewClient(four.Base)
	user.Login(t, 8)
	if got := user.Get(t, "/u/user000002").Header.Get("X-Served-By"); got != "app-rendered" {
		t.Errorf("logged-in GET served by %q, want app-rendered", got)
	}

	// Warm the three pages a comment on photo 20 (user000002's) changes.
	for _, u := range []string{"/", "/u/user000002", "/p/20"} {
		anon().Get(t, u)
		if got := anon().Get(t, u).Header.Get("X-Served-By"); got != "nginx-memcached" {
			t.Fatalf("%s not cached: %q", u, got)
		}
	}
	body := fmt.Sprintf("invalidate me %d", time.Now().UnixNano())
	if r := user.Post(t, "/p/20/comments", url.Values{"body": {body}}); r.Status != 303 {
		t.Fatalf("post: %d %s", r.Status, r.Body)
	}
	for _, u := range []string{"/", "/p/20"} {
		if r := anon().Get(t, u); !strings.Contains(r.Body, body) {
			t.Errorf("%s does not show the new comment on the next request (served by %s)", u, r.Header.Get("X-Served-By"))
		}
	}
	two := startAppServer(t)
	if got, want := anon().Get(t, "/u/user000002").Body, two.Get(t, "/u/user000002").Body; got != want {
		t.Error("the owner's page (comment counts) is stale after the comment")
	}
}

// memcachedCommand sends one command to memcached and returns its answer:
// the lines up to END, or the one line of a command without a list.
func memcachedCommand(t *testing.T, addr, command string) []string {
	t.Helper()
	c, err := infra.DialMemcached(addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := fmt.Fprint(c, command+"\r\n"); err != nil {
		t.Fatal(err)
	}
	var lines []string
	sc := bufio.NewScanner(c)
	for sc.Scan() && sc.Text() != "END" {
		lines = append(lines, sc.Text())
		if !strings.HasPrefix(sc.Text(), "PREFIX ") && !strings.HasPrefix(sc.Text(), "STAT ") {
			break
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// pageGets is how many times memcached was asked for a page (a key
// "page:…"), from its per-prefix statistics ("stats detail on" first).
func pageGets(t *testing.T, addr string) int {
	t.Helper()
	for _, l := range memcachedCommand(t, addr, "stats detail dump") {
		// PREFIX page get 3 hit 1 set 2 del 0
		if f := strings.Fields(l); len(f) >= 4 && f[1] == "page" && f[2] == "get" {
			n, err := strconv.Atoi(f[3])
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	return 0
}

// nginx looks an anonymous page up in memcached, and only after a miss
// passes it to the app, saying so: the app renders it without asking
// memcached again. A miss costs one get, as a hit does.
func TestStage4AsksMemcachedOncePerPage(t *testing.T) {
	mc := lab.Services.MemcachedServers
	four := startStage4(t, mc)
	if got := memcachedCommand(t, mc, "stats detail on"); len(got) != 1 || got[0] != "OK" {
		t.Fatalf("stats detail on: %q", got)
	}
	t.Cleanup(func() { memcachedCommand(t, mc, "stats detail off") })
	const u = "/p/77"
	if got := memcachedCommand(t, mc, "delete page:"+u); len(got) != 1 || (got[0] != "DELETED" && got[0] != "NOT_FOUND") {
		t.Fatalf("delete: %q", got)
	}
	for i, want := range []string{"app-rendered", "nginx-memcached"} {
		before := pageGets(t, mc)
		r := sitetest.NewClient(four.Base).Get(t, u)
		if r.Status != 200 || r.Header.Get("X-Served-By") != want {
			t.Fatalf("request %d of %s: %d, served by %q, want 200 by %s", i+1, u, r.Status, r.Header.Get("X-Served-By"), want)
		}
		if n := pageGets(t, mc) - before; n != 1 {
			t.Errorf("request %d of %s (served by %s) asked memcached for a page %d times, want once", i+1, u, want, n)
		}
	}
}

func TestStage4WithoutMemcached(t *testing.T) {
	dir, err := infratest.StateDir("scalelab-mc-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	m := &infra.Memcached{Dir: filepath.Join(dir, "mc")}
	p, err := m.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(syscall.SIGTERM, 5*time.Second)
	four := startStage4(t, p.Addr)
	two := startAppServer(t)
	for _, u := range []string{"/", "/u/user000003", "/p/30"} {
		four.Get(t, u)
	}
	p.Stop(syscall.SIGTERM, 5*time.Second)
	for _, u := range GoldenURLs {
		want := two.Get(t, u)
		r := sitetest.NewClient(four.Base).Get(t, u)
		if r.Status != want.Status || r.Body != want.Body {
			t.Errorf("memcached down: %s gave %d (%d bytes), stage 2 %d (%d bytes)", u, r.Status, len(r.Body), want.Status, len(want.Body))
		}
	}
}

func TestBaselines(t *testing.T) {
	port, _ := infra.FreePort()
	dir, err := infratest.StateDir("scalelab-stage0-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	st := &baseline.Stage{Addr: fmt.Sprintf("127.0.0.1:%d", port), GoAddr: "127.0.0.1:0", Dir: dir,
		DatabaseURL: lab.Services.DatabaseURL, Users: sitetest.Dataset.Users}
	if err := st.Start(context.Background()); err != nil {
		infratest.NeedBinary(t, err)
	}
	defer st.Close(context.Background())
	u := st.URLs()
	static, dynamic, query := sitetest.NewClient(u[0]).Get(t, ""), sitetest.NewClient(u[1]).Get(t, ""), sitetest.NewClient(u[2]).Get(t, "?id=5")
	if static.Status != 200 || dynamic.Status != 200 || query.Status != 200 {
		t.Fatalf("statuses %d %d %d", static.Status, dynamic.Status, query.Status)
	}
	if static.Body != dynamic.Body || !strings.HasPrefix(static.Header.Get("Server"), "nginx") {
		t.Errorf("static (%d bytes, server %q) and dynamic (%d bytes) pages differ", len(static.Body), static.Header.Get("Server"), len(dynamic.Body))
	}
	if len(static.Body) < 1800 || len(static.Body) > 2600 {
		t.Errorf("baseline page is %d bytes, want about 2 KB", len(static.Body))
	}
	if !strings.Contains(query.Body, "<h1>") || query.Body == static.Body {
		t.Errorf("query page does not carry the user's name: %.200s", query.Body)
	}
}

func startFastCGI(t *testing.T) (*fastcgi.Stage, *sitetest.Client) {
	t.Helper()
	return startFastCGIWith(t, nil)
}

// startFastCGIWith starts stage 1f with args added to its process's flags.
func startFastCGIWith(t *testing.T, args []string) (*fastcgi.Stage, *sitetest.Client) {
	t.Helper()
	port, _ := infra.FreePort()
	dir, err := infratest.StateDir("scalelab-stage1f-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	st := &fastcgi.Stage{Addr: fmt.Sprintf("127.0.0.1:%d", port), Dir: dir, Images: lab.Images, Command: appServerCommand,
		Env: []string{"DATABASE_URL=" + lab.Services.DatabaseURL}, Args: args}
	if err := st.Start(context.Background()); err != nil {
		infratest.NeedBinary(t, err)
	}
	t.Cleanup(func() { st.Close(context.Background()) })
	if err := st.Nginx().Test(); err != nil {
		t.Error(err)
	}
	return st, sitetest.NewClient(st.URL())
}

// Stage 1f serves stage 2's pages byte for byte.
func TestFastCGIServesTheSamePagesAsStage2(t *testing.T) {
	_, onef := startFastCGI(t)
	two := startAppServer(t)
	compareStages(t, "stage 1f anonymous", two, onef, 1)
	onef.Login(t, 42)
	two.Login(t, 42)
	compareStages(t, "stage 1f logged in", two, onef, 1)
}

// Killing the FastCGI process while nginx runs gives prompt 502s, not
// hangs, until the stage has restarted it; then pages are served again.
func TestFastCGIKilledGives502(t *testing.T) {
	st, c := startFastCGI(t)
	if r := c.Get(t, "/p/2"); r.Status != 200 {
		t.Fatalf("before the kill: %d", r.Status)
	}
	victim := st.App()
	syscall.Kill(victim.PID, syscall.SIGKILL)
	wait.For(t, "the killed FastCGI process to be gone", func() bool { return !victim.Alive() })
	// With nothing listening, nginx's connection is refused at once: it
	// answers 502 (or 200 from the restarted process). Had it waited for
	// an answer, this client's timeout would end the request: a hang
	// guard far longer than a refused connection takes (and than nginx's
	// 1 s connect timeout), not a speed the test expects.
	hc := *c.HTTP
	hc.Timeout = wait.Hang
	resp, err := hc.Get(c.Base + "/p/2")
	if err != nil {
		t.Fatalf("after the kill: %v: nginx waited instead of failing", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 502 && resp.StatusCode != 200 {
		t.Errorf("after the kill: %d, want 502 (or 200 once restarted)", resp.StatusCode)
	}
	waitRestarted(t, st.App, victim)
	var status int
	if !wait.Until(func() bool { status = c.Get(t, "/p/2").Status; return status == 200 }) {
		t.Fatalf("after the restart: %d", status)
	}
}
