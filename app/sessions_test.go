package app

import (
	"context"
	"testing"
	"time"

	"github.com/scalelab/scalelab/data"
)

// A memory session expires its TTL after the login: the expiry recorded
// is the TTL after the moment of the login (bounded by the clock read
// just before and just after it, whatever happened in between), and a
// session is refused once its expiry has passed, not before.
func TestMemorySessionsTTL(t *testing.T) {
	const ttl = 2 * time.Hour
	s := &MemorySessions{TTL: ttl}
	ctx := context.Background()
	before := time.Now()
	if err := s.Create(ctx, "a", data.User{ID: 7}); err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	if exp := s.m["a"].expires; exp.Before(before.Add(ttl)) || exp.After(after.Add(ttl)) {
		t.Errorf("expires %v, want the TTL after the login, in [%v, %v]", exp, before.Add(ttl), after.Add(ttl))
	}
	if u, err := s.Get(ctx, "a"); err != nil || u.ID != 7 {
		t.Errorf("a live session: %+v, %v", u, err)
	}
	ExpireSession(s, "a")
	if _, err := s.Get(ctx, "a"); err != data.ErrNotFound {
		t.Errorf("an expired session: %v, want ErrNotFound", err)
	}
	// Zero is the default TTL.
	d := &MemorySessions{}
	before = time.Now()
	d.Create(ctx, "b", data.User{ID: 8})
	if exp := d.m["b"].expires; exp.Before(before.Add(DefaultSessionTTL)) {
		t.Errorf("with no TTL set: expires %v, want %v after the login", exp, DefaultSessionTTL)
	}
}
