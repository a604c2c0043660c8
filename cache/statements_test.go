package cache_test

import (
	"context"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/scalelab/scalelab/app"
	"github.com/scalelab/scalelab/cache"
	"github.com/scalelab/scalelab/data"
	"github.com/scalelab/scalelab/internal/sitetest"
)

// What the site plugs in, the cache provides.
var (
	_ app.Store     = (*cache.Store)(nil)
	_ app.Sessions  = (*cache.Sessions)(nil)
	_ app.PageCache = (*cache.Pages)(nil)
)

// stage4Site serves the site as a stage 4 app server does: the caching
// store, sessions and pages in memcached.
func stage4Site(t *testing.T) *sitetest.Client {
	t.Helper()
	mc := cache.NewClient(lab.Services.MemcachedServers)
	site, err := app.New(app.Config{
		Store:    &cache.Store{Next: &data.Store{DB: lab.Pool}, MC: mc, PageKeys: app.CommentPageKeys},
		Sessions: &cache.Sessions{MC: mc},
		Pages:    &cache.Pages{MC: mc},
		Images:   lab.Images,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(site.Handler())
	t.Cleanup(srv.Close)
	return sitetest.NewClient(srv.URL)
}

// statements counts what PostgreSQL ran in the lab's database since the
// last reset (pg_stat_statements, preloaded by the lab's PostgreSQL): the
// statements a client sent, not those run inside them (the foreign-key
// checks of an insert), and not those about pg_stat_statements itself.
type statements struct{ conn *pgx.Conn }

func newStatements(t *testing.T) *statements {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, lab.Services.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := conn.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	if _, err := conn.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"); err != nil {
		t.Fatal(err)
	}
	return &statements{conn}
}

func (s *statements) reset(t *testing.T) {
	t.Helper()
	if _, err := s.conn.Exec(context.Background(), "SELECT pg_stat_statements_reset()"); err != nil {
		t.Fatal(err)
	}
}

// count returns the number of statements run, and their texts.
func (s *statements) count(t *testing.T) (int64, []string) {
	t.Helper()
	rows, err := s.conn.Query(context.Background(), `SELECT calls, query FROM pg_stat_statements
		WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND toplevel AND query NOT LIKE '%pg_stat_statements%' ORDER BY query`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var n int64
	var texts []string
	for rows.Next() {
		var calls int64
		var q string
		if err := rows.Scan(&calls, &q); err != nil {
			t.Fatal(err)
		}
		n += calls
		texts = append(texts, strings.Join(strings.Fields(q), " "))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return n, texts
}

// A comment posted to a stage 4 app server runs one SQL statement, the
// insert: what it makes stale is known from the insert's own answer.
func TestACommentRunsOneStatement(t *testing.T) {
	c := stage4Site(t)
	c.Login(t, 12)
	// Warm what a comment drops, so that its invalidation has work to do.
	for _, u := range []string{"/", "/p/40", "/u/" + data.UserName(3)} {
		c.Get(t, u)
	}
	st := newStatements(t)
	st.reset(t)
	if r := c.Post(t, "/p/40/comments", url.Values{"body": {"counted"}}); r.Status != 303 {
		t.Fatalf("post: %d %s", r.Status, r.Body)
	}
	n, texts := st.count(t)
	t.Logf("a comment ran %d SQL statements:\n%s", n, strings.Join(texts, "\n"))
	if n != 1 {
		t.Errorf("a comment ran %d SQL statements, want 1 (the insert)", n)
	}
}
