package stages_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/scalelab/scalelab/data"
	"github.com/scalelab/scalelab/infra"
	"github.com/scalelab/scalelab/infra/infratest"
	"github.com/scalelab/scalelab/internal/appserver"
	"github.com/scalelab/scalelab/internal/sitetest"
	"github.com/scalelab/scalelab/internal/wait"
	"github.com/scalelab/scalelab/stages/cgi"
)

// privatePostgres starts a PostgreSQL of the test's own (the shared one
// must not be stopped), loaded with a few users. restart stops and starts
// it again on the same port and data folder.
func privatePostgres(t *testing.T) (dbURL string, stop, restart func()) {
	t.Helper()
	dir, err := infratest.StateDir("scalelab-pgfault-")
	if err != nil {
		t.Fatal(err)
	}
	pg := &infra.Postgres{Dir: dir}
	p, err := pg.Start(context.Background())
	if err != nil {
		os.RemoveAll(dir)
		infratest.NeedBinary(t, err)
	}
	t.Cleanup(func() {
		p.Stop(syscall.SIGINT, 10*time.Second)
		os.RemoveAll(dir)
	})
	dbURL = infra.PostgresURL(p.Addr, infra.Database, pg.PassFile)
	pool, err := pgxpool.New(context.Background(), dbURL)
	if err == nil {
		_, err = data.Load(context.Background(), pool, data.LoadOptions{Dataset: data.Dataset{Seed: 1, Users: 20}})
		pool.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := strings.Cut(p.Addr, ":")
	pg.Port, _ = strconv.Atoi(port)
	stop = func() {
		t.Helper()
		if err := p.Stop(syscall.SIGINT, 10*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	restart = func() {
		t.Helper()
		if p, err = pg.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	return dbURL, stop, restart
}

// timed is a request whose answer must come before the client's own
// timeout, a hang guard (wait.Hang, many times the deadline): a request
// that hangs on the database fails the test.
func timed(t *testing.T, c *sitetest.Client, method, path string, form url.Values) (int, time.Duration) {
	t.Helper()
	hc := *c.HTTP
	hc.Timeout = wait.Hang
	var body *strings.Reader
	if form == nil {
		body = strings.NewReader("")
	} else {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, c.Base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	start := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v (it should have answered 503 at its deadline)", method, path, err)
	}
	resp.Body.Close()
	return resp.StatusCode, time.Since(start)
}

// With a database that is stuck (a lock) or down, requests answer 503 at
// their deadline instead of hanging; when it is back, the app server's
// pool reconnects by itself, and the CGI stage connects again, without a
// restart of either.
func TestDatabaseDeadlineAndRestart(t *testing.T) {
	dbURL, stop, restart := privatePostgres(t)
	// The deadline is what a stuck request waits: long enough that no
	// request reaches it but by a fault, even on a busy machine (a login,
	// with two bcrypt computations, takes a fraction of a second of CPU),
	// and short enough to keep the test's waits short.
	const deadline = 5 * time.Second
	s := &appserver.Server{Addr: "127.0.0.1:0", DatabaseURL: dbURL, Images: lab.Images, QueryTimeout: deadline}
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	two := start(t, s)
	prog, err := cgi.Build(context.Background(), filepath.Join(t.TempDir(), "bin"))
	if err != nil {
		t.Fatal(err)
	}
	h := &cgi.Host{Addr: "127.0.0.1:0", Program: prog, DatabaseURL: dbURL, Images: lab.Images, QueryTimeout: deadline}
	if err := h.Open(); err != nil {
		t.Fatal(err)
	}
	one := start(t, h)
	two.Login(t, 3)
	stages := []struct {
		name string
		c    *sitetest.Client
	}{{"stage 1", one}, {"stage 2", two}}
	for _, st := range stages {
		if code, _ := timed(t, st.c, "GET", "/p/1", nil); code != 200 {
			t.Fatalf("%s: /p/1 before any fault: %d", st.name, code)
		}
	}

	// A stuck database: another transaction holds a lock on photos.
	ctx := context.Background()
	locker, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := locker.Begin(ctx)
	if err == nil {
		_, err = tx.Exec(ctx, "LOCK TABLE photos IN ACCESS EXCLUSIVE MODE")
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range stages {
		code, took := timed(t, st.c, "GET", "/p/1", nil)
		t.Logf("%s, photos locked: %d after %v (deadline %v)", st.name, code, took.Round(time.Millisecond), deadline)
		if code != 503 {
			t.Errorf("%s: /p/1 with photos locked: %d, want 503", st.name, code)
		}
		// The 503 is the deadline's: it cannot come before it.
		if took < deadline {
			t.Errorf("%s: /p/1 with photos locked: %d after %v, before the %v deadline", st.name, code, took, deadline)
		}
	}
	tx.Rollback(ctx)
	locker.Close()
	for _, st := range stages {
		if code, _ := timed(t, st.c, "GET", "/p/1", nil); code != 200 {
			t.Errorf("%s: /p/1 after the lock: %d, want 200", st.name, code)
		}
	}

	// The database goes down.
	stop()
	for _, st := range stages {
		for _, r := range []struct {
			method, path string
			form         url.Values
		}{
			{"GET", "/p/1", nil},
			{"GET", "/healthz", nil},
			{"POST", "/login", url.Values{"name": {"user000004"}, "password": {"pw-user000004"}}},
			{"POST", "/p/1/comments", url.Values{"body": {"while the database is down"}}},
		} {
			code, took := timed(t, st.c, r.method, r.path, r.form)
			t.Logf("%s, database down: %s %s: %d after %v", st.name, r.method, r.path, code, took.Round(time.Millisecond))
			if code != 503 {
				t.Errorf("%s: %s %s with the database down: %d, want 503", st.name, r.method, r.path, code)
			}
		}
	}

	// It comes back: the same server processes serve again.
	restart()
	for _, st := range stages {
		var code int
		if !wait.Until(func() bool { code, _ = timed(t, st.c, "GET", "/p/1", nil); return code == 200 }) {
			t.Errorf("%s: /p/1 after the database restarted: %d, want 200", st.name, code)
		}
	}
	if r := two.Get(t, "/"); !strings.Contains(r.Body, "Signed in as") {
		t.Error("stage 2: the session made before the restart is lost")
	}
}
