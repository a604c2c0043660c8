// Package stages_test checks the stages against each other: for the same
// database state and session every stage returns the same pages.
package stages_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/spf13/pflag"

	"github.com/scalelab/scalelab/internal/appserver"
	"github.com/scalelab/scalelab/internal/sitetest"
	"github.com/scalelab/scalelab/internal/wait"
	"github.com/scalelab/scalelab/stages/cgi"
)

var lab sitetest.Lab

// TestMain doubles as an app server: stages 3 and 4 start their app
// servers from this test binary with SCALELAB_TEST_APPSERVER=1.
func TestMain(m *testing.M) {
	if os.Getenv("SCALELAB_TEST_APPSERVER") == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		err := serveAppServer(ctx, os.Args[1:])
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	sitetest.Main(m, &lab)
}

// serveAppServer is the hidden "scalelab appserver" command: the same
// flags, the services from the environment as the stages pass them.
func serveAppServer(ctx context.Context, args []string) error {
	var p appserver.ProcessFlags
	fs := pflag.NewFlagSet("appserver", pflag.ContinueOnError)
	p.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	s, err := p.Server(os.Getenv("DATABASE_URL"), os.Getenv("MEMCACHED_SERVERS"))
	if err != nil {
		return err
	}
	return appserver.Run(ctx, s, os.Stdout)
}

type stage interface {
	URL() string
	Serve() error
	Close(context.Context) error
}

func start(t *testing.T, s stage) *sitetest.Client {
	t.Helper()
	go s.Serve()
	t.Cleanup(func() { s.Close(context.Background()) })
	return sitetest.NewClient(s.URL())
}

func startCGI(t *testing.T) *sitetest.Client {
	t.Helper()
	prog, err := cgi.Build(context.Background(), filepath.Join(t.TempDir(), "bin"))
	if err != nil {
		t.Fatal(err)
	}
	h := &cgi.Host{Addr: "127.0.0.1:0", Program: prog, DatabaseURL: lab.Services.DatabaseURL, Images: lab.Images}
	if err := h.Open(); err != nil {
		t.Fatal(err)
	}
	return start(t, h)
}

func startAppServer(t *testing.T) *sitetest.Client {
	t.Helper()
	s := &appserver.Server{Addr: "127.0.0.1:0", DatabaseURL: lab.Services.DatabaseURL, Images: lab.Images}
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	return start(t, s)
}

// GoldenURLs are the pages every stage must serve identically.
var GoldenURLs = []string{
	"/", "/u/user000001", "/u/user000002", "/u/user000150", "/u/user000300",
	"/u/user000001?page=1", "/u/user000001?page=2", "/u/user000001?page=0", "/u/user000001?page=abc", "/u/nobody",
	"/p/1", "/p/2", "/p/100", "/p/1000", "/p/4000", "/p/999999", "/p/abc", "/p/0",
	"/t/cat", "/t/sunset", "/t/bw", "/t/cat?page=2", "/t/nosuchtag", "/t/cat?page=-1",
	"/static/style.css", "/static/thumb/0001.jpg", "/static/medium/0255.jpg", "/static/thumb/9999.jpg",
	"/healthz", "/no/such/page",
}

func compare(t *testing.T, label string, a, b *sitetest.Client) {
	t.Helper()
	for _, u := range GoldenURLs {
		ra, rb := a.Get(t, u), b.Get(t, u)
		if ra.Status != rb.Status || ra.Body != rb.Body || ra.Header.Get("Content-Type") != rb.Header.Get("Content-Type") {
			t.Errorf("%s %s: stage 1 gave %d %q (%d bytes), stage 2 gave %d %q (%d bytes)", label, u,
				ra.Status, ra.Header.Get("Content-Type"), len(ra.Body), rb.Status, rb.Header.Get("Content-Type"), len(rb.Body))
		}
	}
}

func TestStagesServeTheSamePages(t *testing.T) {
	one, two := startCGI(t), startAppServer(t)
	compare(t, "anonymous", one, two)
	one.Login(t, 42)
	two.Login(t, 42)
	compare(t, "logged in", one, two)
	// A comment posted through stage 1 shows on stage 2 and vice versa.
	if r := one.Post(t, "/p/3/comments", url.Values{"body": {"posted through CGI"}}); r.Status != 303 {
		t.Fatalf("comment through stage 1: %d %s", r.Status, r.Body)
	}
	if r := two.Post(t, "/p/3/comments", url.Values{"body": {"posted through the app server"}}); r.Status != 303 {
		t.Fatalf("comment through stage 2: %d %s", r.Status, r.Body)
	}
	a, b := one.Get(t, "/p/3").Body, two.Get(t, "/p/3").Body
	if a != b {
		t.Error("after comments, /p/3 differs between stages")
	}
	for _, want := range []string{"posted through CGI", "posted through the app server"} {
		if !strings.Contains(a, want) {
			t.Errorf("/p/3 lacks %q", want)
		}
	}
}

// sessionsOpened reads how many sessions (connections) the lab's database
// has seen, from PostgreSQL's own statistics.
func sessionsOpened(t *testing.T) int64 {
	t.Helper()
	var n int64
	ctx := context.Background()
	if _, err := lab.Pool.Exec(ctx, "SELECT pg_stat_clear_snapshot()"); err != nil {
		t.Fatal(err)
	}
	if err := lab.Pool.QueryRow(ctx, "SELECT sessions FROM pg_stat_database WHERE datname = current_database()").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Stage 1 really starts a process and opens a database connection for
// every request.
func TestCGIProcessAndConnectionPerRequest(t *testing.T) {
	c := startCGI(t)
	c.Get(t, "/healthz") // warm the pool of the test's own connections
	before := sessionsOpened(t)
	const n = 8
	pids := map[string]bool{}
	for i := 0; i < n; i++ {
		r := c.Get(t, fmt.Sprintf("/p/%d", i+1))
		if r.Status != 200 {
			t.Fatalf("GET /p/%d: %d", i+1, r.Status)
		}
		pids[r.Header.Get("X-Cgi-Pid")] = true
	}
	if len(pids) != n || pids[""] {
		t.Errorf("%d requests were answered by %d distinct processes: %v", n, len(pids), pids)
	}
	// Statistics are flushed when a backend exits: wait for the last ones.
	var got int64
	wait.Until(func() bool { got = sessionsOpened(t) - before; return got >= n })
	if got != n {
		t.Errorf("%d CGI requests opened %d database sessions, want %d", n, got, n)
	}
}
