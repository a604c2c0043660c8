package data

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

var (
	//go:embed schema.sql
	schemaSQL string
	//go:embed keys.sql
	keysSQL string
	//go:embed fkeys.sql
	fkeysSQL string
	//go:embed indexes.sql
	indexesSQL string
)

// ErrIncomplete is returned by CheckLoaded when the database holds no
// complete dataset (never seeded, or a load that was interrupted).
var ErrIncomplete = errors.New("no complete dataset")

// LoadOptions say what to load.
type LoadOptions struct {
	Dataset Dataset
	// NoIndex leaves the secondary indexes out (the talk's last lesson).
	NoIndex bool
	// Parallel is how many tables are copied at once; zero means one per core.
	Parallel int
	// Progress, if set, is called from the copying goroutines with the
	// number of rows just sent; it must be safe for concurrent use.
	Progress func(rows int64)
}

// Phase is one timed step of a load.
type Phase struct {
	Name string
	Rows int64
	// Duration is the phase's wall time; for a table copy it includes
	// Generate, the time spent generating its rows.
	Duration time.Duration
	Generate time.Duration
}

// LoadReport says what a load did and how long each phase took.
type LoadReport struct {
	Counts Counts
	Phases []Phase
	Total  time.Duration
}

// statements splits an embedded SQL file into statements, dropping comments.
func statements(sql string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(sql, "\n") {
		if i := strings.Index(line, "--"); i >= 0 {
			line = line[:i]
		}
		cur.WriteString(line + "\n")
		if strings.HasSuffix(strings.TrimSpace(line), ";") {
			if s := strings.TrimSpace(cur.String()); s != ";" {
				out = append(out, s)
			}
			cur.Reset()
		}
	}
	return out
}

// Load replaces the database's dataset with opt.Dataset: schema, COPY of
// every table, keys, indexes, ANALYZE. The dataset is marked complete only
// at the end, so an interrupted load never looks like a finished one.
func Load(ctx context.Context, pool *pgxpool.Pool, opt LoadOptions) (*LoadReport, error) {
	if err := opt.Dataset.Validate(); err != nil {
		return nil, err
	}
	start := time.Now()
	rep := &LoadReport{}
	phase := func(name string, f func() error) error {
		t := time.Now()
		if err := f(); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		rep.Phases = append(rep.Phases, Phase{Name: name, Duration: time.Since(t)})
		return nil
	}
	err := phase("schema", func() error {
		if _, err := pool.Exec(ctx, "CREATE TABLE IF NOT EXISTS scalelab_meta (key text PRIMARY KEY, value text NOT NULL)"); err != nil {
			return err
		}
		if err := setMeta(ctx, pool, map[string]string{"status": "loading"}); err != nil {
			return err
		}
		return execAll(ctx, pool, statements(schemaSQL), 1)
	})
	if err != nil {
		return nil, err
	}

	copies, err := copyTables(ctx, pool, opt)
	if err != nil {
		return nil, err
	}
	rep.Phases = append(rep.Phases, copies...)
	for _, c := range copies {
		switch c.Name {
		case "copy users":
			rep.Counts.Users = c.Rows
		case "copy photos":
			rep.Counts.Photos = c.Rows
		case "copy tags":
			rep.Counts.Tags = c.Rows
		case "copy comments":
			rep.Counts.Comments = c.Rows
		}
	}
	par := opt.Parallel
	if par <= 0 {
		par = runtime.GOMAXPROCS(0)
	}
	if err := phase("keys", func() error { return execAll(ctx, pool, statements(keysSQL), par) }); err != nil {
		return nil, err
	}
	if err := phase("foreign keys", func() error { return execAll(ctx, pool, statements(fkeysSQL), 1) }); err != nil {
		return nil, err
	}
	if !opt.NoIndex {
		if err := phase("indexes", func() error { return execAll(ctx, pool, statements(indexesSQL), par) }); err != nil {
			return nil, err
		}
	}
	if err := phase("analyze", func() error {
		return execAll(ctx, pool, []string{"ANALYZE users", "ANALYZE photos", "ANALYZE tags", "ANALYZE comments"}, par)
	}); err != nil {
		return nil, err
	}
	c := rep.Counts
	err = setMeta(ctx, pool, map[string]string{
		"status":    "complete",
		"seed":      strconv.FormatUint(opt.Dataset.Seed, 10),
		"users":     strconv.FormatInt(c.Users, 10),
		"photos":    strconv.FormatInt(c.Photos, 10),
		"tags":      strconv.FormatInt(c.Tags, 10),
		"comments":  strconv.FormatInt(c.Comments, 10),
		"generator": strconv.Itoa(GeneratorVersion),
	})
	if err != nil {
		return nil, fmt.Errorf("mark dataset complete: %w", err)
	}
	rep.Total = time.Since(start)
	return rep, nil
}

// execAll runs statements on up to par connections at once.
func execAll(ctx context.Context, pool *pgxpool.Pool, stmts []string, par int) error {
	if par < 1 {
		par = 1
	}
	sem := make(chan struct{}, par)
	var mu sync.Mutex // guards first
	var first error
	var wg sync.WaitGroup
	for _, s := range stmts {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if _, err := pool.Exec(ctx, s); err != nil {
				mu.Lock()
				if first == nil {
					first = fmt.Errorf("%s: %w", firstLine(s), err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

func setMeta(ctx context.Context, pool *pgxpool.Pool, kv map[string]string) error {
	b := &pgx.Batch{}
	for k, v := range kv {
		b.Queue("INSERT INTO scalelab_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", k, v)
	}
	return pool.SendBatch(ctx, b).Close()
}

// Meta is what the database says about its dataset.
type Meta struct {
	Seed    uint64
	Users   int
	Counts  Counts
	Indexed bool // every secondary index is present
}

// CheckLoaded reads the dataset's metadata; ErrIncomplete if there is no
// complete dataset.
func CheckLoaded(ctx context.Context, pool *pgxpool.Pool) (Meta, error) {
	var m Meta
	rows, err := pool.Query(ctx, "SELECT key, value FROM scalelab_meta")
	if err != nil {
		var pgErr interface{ SQLState() string }
		if errors.As(err, &pgErr) && pgErr.SQLState() == "42P01" { // no such table
			return m, ErrIncomplete
		}
		return m, fmt.Errorf("read dataset metadata: %w", err)
	}
	kv := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return m, err
		}
		kv[k] = v
	}
	if err := rows.Err(); err != nil {
		return m, err
	}
	if kv["status"] != "complete" {
		return m, ErrIncomplete
	}
	m.Seed, _ = strconv.ParseUint(kv["seed"], 10, 64)
	m.Users, _ = strconv.Atoi(kv["users"])
	m.Counts.Users = int64(m.Users)
	m.Counts.Photos, _ = strconv.ParseInt(kv["photos"], 10, 64)
	m.Counts.Tags, _ = strconv.ParseInt(kv["tags"], 10, 64)
	m.Counts.Comments, _ = strconv.ParseInt(kv["comments"], 10, 64)
	present, err := IndexesPresent(ctx, pool)
	if err != nil {
		return m, err
	}
	m.Indexed = len(present) == len(IndexNames())
	return m, nil
}

var indexName = regexp.MustCompile(`(?i)^CREATE INDEX (\w+) ON`)

// IndexNames are the names of the secondary indexes.
func IndexNames() []string {
	var names []string
	for _, s := range statements(indexesSQL) {
		if m := indexName.FindStringSubmatch(s); m != nil {
			names = append(names, m[1])
		}
	}
	return names
}

// IndexesPresent returns which secondary indexes exist.
func IndexesPresent(ctx context.Context, pool *pgxpool.Pool) ([]string, error) {
	var present []string
	err := pool.QueryRow(ctx,
		"SELECT coalesce(array_agg(indexname::text ORDER BY indexname), '{}') FROM pg_indexes WHERE schemaname = current_schema() AND indexname = ANY($1)",
		IndexNames()).Scan(&present)
	if err != nil {
		return nil, fmt.Errorf("list indexes: %w", err)
	}
	return present, nil
}

// CreateIndexes builds the secondary indexes that are missing.
func CreateIndexes(ctx context.Context, pool *pgxpool.Pool) error {
	var stmts []string
	for _, s := range statements(indexesSQL) {
		stmts = append(stmts, strings.Replace(s, "CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1))
	}
	if err := execAll(ctx, pool, stmts, runtime.GOMAXPROCS(0)); err != nil {
		return fmt.Errorf("create indexes: %w", err)
	}
	_, err := pool.Exec(ctx, "ANALYZE photos, tags, comments")
	return err
}

// DropIndexes removes the secondary indexes: every user page then scans
// the whole photos table, as in the talk.
func DropIndexes(ctx context.Context, pool *pgxpool.Pool) error {
	for _, n := range IndexNames() {
		if _, err := pool.Exec(ctx, "DROP INDEX IF EXISTS "+n); err != nil {
			return fmt.Errorf("drop index %s: %w", n, err)
		}
	}
	return nil
}
