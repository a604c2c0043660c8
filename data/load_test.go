package data_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/scalelab/scalelab/data"
	"github.com/scalelab/scalelab/infra"
	"github.com/scalelab/scalelab/infra/infratest"
)

var services infra.Services

func TestMain(m *testing.M) {
	infratest.Main(m, func(_ string, s infra.Services) { services = s })
}

func mustPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), services.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func count(t *testing.T, pool *pgxpool.Pool, table string) int64 {
	t.Helper()
	var n int64
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// The loader runs against the real private PostgreSQL; tests in this file
// share its database, so they do not run in parallel.
func TestLoad(t *testing.T) {
	ctx := context.Background()
	pool := mustPool(t)
	d := data.Dataset{Seed: 42, Users: 2000}
	want := d.Counts()
	var progressed atomic.Int64
	rep, err := data.Load(ctx, pool, data.LoadOptions{Dataset: d, Progress: func(n int64) { progressed.Add(n) }})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Counts != want {
		t.Errorf("report counts %+v, want %+v", rep.Counts, want)
	}
	got := data.Counts{Users: count(t, pool, "users"), Photos: count(t, pool, "photos"), Tags: count(t, pool, "tags"), Comments: count(t, pool, "comments")}
	if got != want {
		t.Errorf("database holds %+v, generator promised %+v", got, want)
	}
	if total := want.Users + want.Photos + want.Tags + want.Comments; progressed.Load() != total {
		t.Errorf("progress reported %d rows, want %d", progressed.Load(), total)
	}
	meta, err := data.CheckLoaded(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if meta.Seed != 42 || meta.Users != 2000 || meta.Counts != want || !meta.Indexed {
		t.Errorf("meta = %+v", meta)
	}
	// Foreign keys hold in the database too.
	var orphans int64
	err = pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM photos p LEFT JOIN users u ON u.id = p.user_id WHERE u.id IS NULL) +
		(SELECT count(*) FROM comments c LEFT JOIN photos p ON p.id = c.photo_id WHERE p.id IS NULL) +
		(SELECT count(*) FROM tags t LEFT JOIN photos p ON p.id = t.photo_id WHERE p.id IS NULL)`).Scan(&orphans)
	if err != nil || orphans != 0 {
		t.Errorf("orphan rows: %d, %v", orphans, err)
	}
	// A new comment gets an id after the loaded ones.
	var id int64
	if err := pool.QueryRow(ctx, "INSERT INTO comments (photo_id, user_id, body) VALUES (1, 1, 'hi') RETURNING id").Scan(&id); err != nil {
		t.Fatal(err)
	}
	if id != want.Comments+1 {
		t.Errorf("new comment id %d, want %d", id, want.Comments+1)
	}

	// Drop and create the indexes.
	if err := data.DropIndexes(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if present, _ := data.IndexesPresent(ctx, pool); len(present) != 0 {
		t.Errorf("after drop, indexes present: %v", present)
	}
	if err := data.CreateIndexes(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if present, _ := data.IndexesPresent(ctx, pool); len(present) != len(data.IndexNames()) {
		t.Errorf("after create, indexes present: %v, want %v", present, data.IndexNames())
	}
}

func TestLoadNoIndex(t *testing.T) {
	ctx := context.Background()
	pool := mustPool(t)
	if _, err := data.Load(ctx, pool, data.LoadOptions{Dataset: data.Dataset{Seed: 1, Users: 300}, NoIndex: true}); err != nil {
		t.Fatal(err)
	}
	present, err := data.IndexesPresent(ctx, pool)
	if err != nil || len(present) != 0 {
		t.Fatalf("--no-index load has indexes %v (%v)", present, err)
	}
	meta, err := data.CheckLoaded(ctx, pool)
	if err != nil || meta.Indexed {
		t.Errorf("meta = %+v, %v; want complete and not indexed", meta, err)
	}
}

// An interrupted load leaves a dataset marked incomplete, never one that
// looks finished.
func TestInterruptedLoadIsIncomplete(t *testing.T) {
	pool := mustPool(t)
	ctx, cancel := context.WithCancel(context.Background())
	var once atomic.Bool
	_, err := data.Load(ctx, pool, data.LoadOptions{Dataset: data.Dataset{Seed: 1, Users: 20000}, Progress: func(int64) {
		if once.CompareAndSwap(false, true) {
			cancel()
		}
	}})
	if err == nil {
		t.Fatal("Load after cancel returned no error")
	}
	if _, err := data.CheckLoaded(context.Background(), pool); !errors.Is(err, data.ErrIncomplete) {
		t.Errorf("CheckLoaded after an interrupted load: %v, want ErrIncomplete", err)
	}
}

func TestLoadRejectsBadSize(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := data.Load(ctx, mustPool(t), data.LoadOptions{Dataset: data.Dataset{Users: 0}}); err == nil {
		t.Fatal("Load accepted 0 users")
	}
}
