package cache_test

import (
	"context"
	"maps"
	"sync"
	"testing"

	"github.com/scalelab/scalelab/app"
	"github.com/scalelab/scalelab/cache"
	"github.com/scalelab/scalelab/data"
)

// counting is a Source that counts the calls reaching it, by method.
type counting struct {
	next  cache.Source
	mu    sync.Mutex
	calls map[string]int
}

func (c *counting) count(method string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.calls == nil {
		c.calls = map[string]int{}
	}
	c.calls[method]++
}

// take returns the counts so far and starts again from zero.
func (c *counting) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.calls
	c.calls = nil
	return n
}

func (c *counting) Ping(ctx context.Context) error { c.count("Ping"); return c.next.Ping(ctx) }
func (c *counting) Newest(ctx context.Context) ([]data.PhotoCard, error) {
	c.count("Newest")
	return c.next.Newest(ctx)
}
func (c *counting) LatestComments(ctx context.Context, n int) ([]data.CommentView, error) {
	c.count("LatestComments")
	return c.next.LatestComments(ctx, n)
}
func (c *counting) UserByName(ctx context.Context, name string) (data.User, error) {
	c.count("UserByName")
	return c.next.UserByName(ctx, name)
}
func (c *counting) UserWithPassword(ctx context.Context, name string) (data.User, error) {
	c.count("UserWithPassword")
	return c.next.UserWithPassword(ctx, name)
}
func (c *counting) UpgradePassword(ctx context.Context, u data.User, hash string) error {
	c.count("UpgradePassword")
	return c.next.UpgradePassword(ctx, u, hash)
}
func (c *counting) UserPhotos(ctx context.Context, u data.User, page int) ([]data.PhotoCard, int, error) {
	c.count("UserPhotos")
	return c.next.UserPhotos(ctx, u, page)
}
func (c *counting) TagPhotos(ctx context.Context, tag string, page int) ([]data.PhotoCard, bool, error) {
	c.count("TagPhotos")
	return c.next.TagPhotos(ctx, tag, page)
}
func (c *counting) Photo(ctx context.Context, id int64) (data.PhotoDetail, error) {
	c.count("Photo")
	return c.next.Photo(ctx, id)
}
func (c *counting) AddComment(ctx context.Context, photoID, userID int64, body string) (data.NewComment, error) {
	c.count("AddComment")
	return c.next.AddComment(ctx, photoID, userID, body)
}

// A comment through the store reaches the database once, for the insert,
// and still drops every query result and page it changed: each is read
// from the database again on its next request.
func TestACommentCallsTheStoreOnce(t *testing.T) {
	ctx := context.Background()
	mc := cache.NewClient(lab.Services.MemcachedServers)
	db := &counting{next: &data.Store{DB: lab.Pool}}
	s := &cache.Store{Next: db, MC: mc, PageKeys: app.CommentPageKeys}
	pages := &cache.Pages{MC: mc}
	const id = 61
	photo, err := s.Photo(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	owner, err := s.UserByName(ctx, photo.OwnerName)
	if err != nil {
		t.Fatal(err)
	}
	reads := func() {
		t.Helper()
		if _, err := s.Photo(ctx, id); err != nil {
			t.Fatal(err)
		}
		if _, err := s.LatestComments(ctx, app.LatestComments); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.UserPhotos(ctx, owner, 1); err != nil {
			t.Fatal(err)
		}
	}
	reads()
	keys := app.CommentPageKeys(data.NewComment{Comment: data.Comment{PhotoID: id}, Owner: owner})
	for _, k := range keys {
		pages.Set(ctx, k, []byte("a page"))
	}
	db.take()
	reads()
	if n := db.take(); len(n) != 0 {
		t.Fatalf("warm reads reached the database: %v", n)
	}

	c, err := s.AddComment(ctx, id, 4, "counted")
	if err != nil {
		t.Fatal(err)
	}
	if n, want := db.take(), map[string]int{"AddComment": 1}; !maps.Equal(n, want) {
		t.Errorf("a comment called the store %v, want %v", n, want)
	}
	if c.Owner.ID != owner.ID || c.Owner.Name != owner.Name {
		t.Errorf("the comment's owner is %d %q, want %d %q", c.Owner.ID, c.Owner.Name, owner.ID, owner.Name)
	}
	reads()
	if n, want := db.take(), map[string]int{"Photo": 1, "LatestComments": 1, "UserPhotos": 1}; !maps.Equal(n, want) {
		t.Errorf("after the comment the reads called the store %v, want %v (each dropped once)", n, want)
	}
	for _, k := range app.CommentPageKeys(c) {
		if _, ok := pages.Get(ctx, k); ok {
			t.Errorf("page %s is still cached after the comment", k)
		}
	}
}
