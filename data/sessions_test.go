package data_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/scalelab/scalelab/data"
	"github.com/scalelab/scalelab/internal/wait"
)

// Each new session sweeps a batch of expired ones; live sessions stay.
func TestSessionsSweepExpired(t *testing.T) {
	ctx := context.Background()
	pool := mustPool(t)
	if _, err := data.Load(ctx, pool, data.LoadOptions{Dataset: data.Dataset{Seed: 3, Users: 20}}); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO sessions (id, user_id, created_at, expires_at)
		SELECT 'old-' || i, 1, now() - interval '9 days', now() - interval '2 days' FROM generate_series(1, 150) i`); err != nil {
		t.Fatal(err)
	}
	s := &data.Sessions{DB: pool}
	live := data.User{ID: 2}
	expired := func() (n int) {
		pool.QueryRow(ctx, "SELECT count(*) FROM sessions WHERE expires_at < now()").Scan(&n)
		return n
	}
	for i, want := range []int{50, 0} {
		if err := s.Create(ctx, fmt.Sprintf("live-%d", i), live); err != nil {
			t.Fatal(err)
		}
		if got := expired(); got != want {
			t.Errorf("after login %d: %d expired sessions, want %d", i+1, got, want)
		}
	}
	for i := range 2 {
		if u, err := s.Get(ctx, fmt.Sprintf("live-%d", i)); err != nil || u.ID != 2 {
			t.Errorf("live session %d: %+v, %v", i, u, err)
		}
	}
	// A short-lived session expires and is swept by a later login.
	short := &data.Sessions{DB: pool, TTL: time.Second}
	if err := short.Create(ctx, "short", live); err != nil {
		t.Fatal(err)
	}
	// Wait, by the database's clock, for the session's second to end.
	wait.For(t, "the one-second session to expire", func() bool {
		var over bool
		err := pool.QueryRow(ctx, "SELECT expires_at < now() FROM sessions WHERE id = 'short'").Scan(&over)
		return err == nil && over
	})
	if _, err := s.Get(ctx, "short"); err != data.ErrNotFound {
		t.Errorf("an expired session read: %v", err)
	}
	s.Create(ctx, "live-2", live)
	if got := expired(); got != 0 {
		t.Errorf("the expired session was not swept: %d left", got)
	}
}
