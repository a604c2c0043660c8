package data

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// table describes how one table is generated for COPY.
type table struct {
	name    string
	columns []string
	want    int
	// rows appends the current user's rows of this table as value lists.
	rows func(w *Walker, out [][]any) [][]any
}

var tables = []table{
	// Largest first, so parallel copies finish together.
	{"tags", []string{"photo_id", "tag"}, WantTags, func(w *Walker, out [][]any) [][]any {
		for _, t := range w.Tags {
			out = append(out, []any{t.PhotoID, t.Tag})
		}
		return out
	}},
	{"photos", []string{"id", "user_id", "title", "image", "created_at"}, WantPhotos, func(w *Walker, out [][]any) [][]any {
		for _, p := range w.Photos {
			out = append(out, []any{p.ID, p.UserID, p.Title, p.Image, p.CreatedAt})
		}
		return out
	}},
	{"comments", []string{"id", "photo_id", "user_id", "body", "created_at"}, WantComments, func(w *Walker, out [][]any) [][]any {
		for _, c := range w.Comments {
			out = append(out, []any{c.ID, c.PhotoID, c.UserID, c.Body, c.CreatedAt})
		}
		return out
	}},
	{"users", []string{"id", "name", "display_name", "password_hash", "created_at"}, WantUsers, func(w *Walker, out [][]any) [][]any {
		u := w.User
		return append(out, []any{u.ID, u.Name, u.DisplayName, u.PasswordHash, u.CreatedAt})
	}},
}

// source feeds one table's rows to pgx's CopyFrom, generating them a few
// thousand at a time so the dataset is never whole in memory.
type source struct {
	t        table
	w        *Walker
	ctx      context.Context
	batch    [][]any
	i        int
	rows     int64
	pending  int64 // rows not yet reported to progress
	progress func(int64)
	generate time.Duration
	err      error
}

func (s *source) Next() bool {
	s.i++
	if s.i < len(s.batch) {
		return true
	}
	if s.err = s.ctx.Err(); s.err != nil {
		return false
	}
	if s.progress != nil && s.pending > 0 {
		s.progress(s.pending)
		s.pending = 0
	}
	t := time.Now()
	s.batch, s.i = s.batch[:0], 0
	for len(s.batch) < 4096 && s.w.Next(s.t.want) {
		s.batch = s.t.rows(s.w, s.batch)
	}
	s.generate += time.Since(t)
	s.rows += int64(len(s.batch))
	s.pending += int64(len(s.batch))
	return len(s.batch) > 0
}

func (s *source) Values() ([]any, error) { return s.batch[s.i], nil }
func (s *source) Err() error             { return s.err }

// copyTables copies every table, opt.Parallel at a time. Each copy runs in
// its own transaction that first truncates the table: with wal_level
// minimal, PostgreSQL then writes no WAL for the rows.
func copyTables(ctx context.Context, pool *pgxpool.Pool, opt LoadOptions) ([]Phase, error) {
	par := opt.Parallel
	if par <= 0 {
		par = runtime.GOMAXPROCS(0)
	}
	phases := make([]Phase, len(tables))
	errs := make([]error, len(tables))
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for i, t := range tables {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			phases[i], errs[i] = copyTable(ctx, pool, t, opt)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return phases, nil
}

func copyTable(ctx context.Context, pool *pgxpool.Pool, t table, opt LoadOptions) (Phase, error) {
	start := time.Now()
	src := &source{t: t, w: opt.Dataset.Walk(), ctx: ctx, i: -1, progress: opt.Progress}
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "TRUNCATE "+t.name); err != nil {
			return err
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{t.name}, t.columns, src)
		return err
	})
	if err != nil {
		return Phase{}, fmt.Errorf("copy %s: %w", t.name, err)
	}
	if src.progress != nil && src.pending > 0 {
		src.progress(src.pending)
	}
	return Phase{Name: "copy " + t.name, Rows: src.rows, Duration: time.Since(start), Generate: src.generate}, nil
}
