package cache_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/scalelab/scalelab/cache"
	"github.com/scalelab/scalelab/data"
	"github.com/scalelab/scalelab/infra"
	"github.com/scalelab/scalelab/internal/sitetest"
)

var lab sitetest.Lab

func TestMain(m *testing.M) { sitetest.Main(m, &lab) }

// A query result comes from memcached until a comment through the store
// makes it stale: then the photo and its owner's list are read afresh.
func TestStoreCachesUntilAWriteInvalidates(t *testing.T) {
	ctx := context.Background()
	db := &data.Store{DB: lab.Pool}
	s := &cache.Store{Next: db, MC: cache.NewClient(lab.Services.MemcachedServers)}
	const id = 7
	before, err := s.Photo(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	owner, err := db.UserByName(ctx, before.OwnerName)
	if err != nil {
		t.Fatal(err)
	}
	count := func() int {
		t.Helper()
		cards, _, err := s.UserPhotos(ctx, owner, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cards {
			if c.ID == id {
				return c.Comments
			}
		}
		t.Fatalf("photo %d is not on its owner's first page", id)
		return 0
	}
	n0 := count()
	// A write behind the cache's back: the cache does not see it.
	if _, err := lab.Pool.Exec(ctx, `INSERT INTO comments (photo_id, user_id, body) VALUES ($1, 1, 'behind the cache')`, id); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.Photo(ctx, id); len(p.Comments) != len(before.Comments) || count() != n0 {
		t.Fatalf("the photo was read from the database, not the cache: %d comments, %d counted", len(p.Comments), count())
	}
	// A write through the store drops what it changed.
	if _, err := s.AddComment(ctx, id, 2, "through the cache"); err != nil {
		t.Fatal(err)
	}
	after, err := s.Photo(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(after.Comments) != len(before.Comments)+2 || after.Comments[len(after.Comments)-1].Body != "through the cache" {
		t.Errorf("after a comment through the store: %d comments, want %d", len(after.Comments), len(before.Comments)+2)
	}
	if n := count(); n != n0+2 {
		t.Errorf("the owner's page counts %d comments on photo %d, want %d", n, id, n0+2)
	}
}

// No password hash is ever written to memcached.
func TestStoreCachesNoPasswordHash(t *testing.T) {
	ctx := context.Background()
	mc := cache.NewClient(lab.Services.MemcachedServers)
	s := &cache.Store{Next: &data.Store{DB: lab.Pool}, MC: mc}
	name := data.UserName(5)
	if _, err := s.UserByName(ctx, name); err != nil {
		t.Fatal(err)
	}
	it, err := mc.Get("q:user:" + name)
	if err != nil {
		t.Fatalf("the user was not cached: %v", err)
	}
	if v := string(it.Value); strings.Contains(v, data.LegacyScheme) || strings.Contains(v, "$2a$") || !strings.Contains(v, name) {
		t.Errorf("cached user: %s", v)
	}
}

// With memcached gone, the store answers from the database, the same.
func TestStoreWithoutMemcached(t *testing.T) {
	ctx := context.Background()
	port, _ := infra.FreePort() // nothing listens there
	db := &data.Store{DB: lab.Pool}
	s := &cache.Store{Next: db, MC: cache.NewClient(fmt.Sprintf("127.0.0.1:%d", port))}
	want, err := db.Photo(ctx, 9)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Photo(ctx, 9)
	if err != nil || got.Title != want.Title || len(got.Comments) != len(want.Comments) {
		t.Errorf("without memcached: %+v, %v; the database: %+v", got, err, want)
	}
	if _, err := s.AddComment(ctx, 9, 3, "while memcached is down"); err != nil {
		t.Errorf("a comment while memcached is down: %v", err)
	}
	pages := &cache.Pages{MC: s.MC}
	if _, ok := pages.Get(ctx, "page:/p/9"); ok {
		t.Error("a page came from a memcached that is not there")
	}
}

// Pages are kept as the bytes given, and deleted on demand.
func TestPages(t *testing.T) {
	ctx := context.Background()
	p := &cache.Pages{MC: cache.NewClient(lab.Services.MemcachedServers)}
	body := []byte("<!DOCTYPE html><p>a page</p>")
	p.Set(ctx, "page:/t/cat", body)
	if got, ok := p.Get(ctx, "page:/t/cat"); !ok || string(got) != string(body) {
		t.Fatalf("get after set: %q, %v", got, ok)
	}
	p.Delete(ctx, "page:/t/cat", "page:/never-set")
	if _, ok := p.Get(ctx, "page:/t/cat"); ok {
		t.Error("a deleted page is still there")
	}
}
