package cache_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/scalelab/scalelab/app"
	"github.com/scalelab/scalelab/cache"
	"github.com/scalelab/scalelab/data"
)

// heldPhoto is the database with its next read of a photo held open: the
// read is done, and its answer waits until the test lets it go, as a
// render would while a comment lands.
type heldPhoto struct {
	cache.Source
	armed   atomic.Bool
	read    chan struct{} // the held read has read the database
	release chan struct{} // the held read may answer
}

func holdNextPhoto(next cache.Source) *heldPhoto {
	h := &heldPhoto{Source: next, read: make(chan struct{}), release: make(chan struct{})}
	h.armed.Store(true)
	return h
}

func (h *heldPhoto) Photo(ctx context.Context, id int64) (data.PhotoDetail, error) {
	p, err := h.Source.Photo(ctx, id)
	if h.armed.CompareAndSwap(true, false) {
		close(h.read)
		<-h.release
	}
	return p, err
}

// A query result read from the database before a comment and stored after
// the comment's delete would stay stale for its whole TTL; under its lease
// it is not stored, and the next read sees the comment.
func TestAFillRacingACommentStoresNothingStale(t *testing.T) {
	ctx := context.Background()
	mc := cache.NewClient(lab.Services.MemcachedServers)
	db := &data.Store{DB: lab.Pool}
	writer := &cache.Store{Next: db, MC: mc}
	const id = 83
	// A comment first, so that the photo is not cached.
	if _, err := writer.AddComment(ctx, id, 2, "before"); err != nil {
		t.Fatal(err)
	}
	held := holdNextPhoto(db)
	reader := &cache.Store{Next: held, MC: mc}
	done := make(chan data.PhotoDetail)
	go func() {
		p, _ := reader.Photo(ctx, id)
		done <- p
	}()
	<-held.read
	if _, err := writer.AddComment(ctx, id, 3, "during the fill"); err != nil {
		t.Fatal(err)
	}
	close(held.release)
	if stale := <-done; hasComment(stale, "during the fill") {
		t.Fatal("the held read saw the comment: it did not read before it")
	}
	p, err := reader.Photo(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !hasComment(p, "during the fill") {
		t.Errorf("after the comment the photo has %d comments, none of them the comment: the fill stored what it read before it", len(p.Comments))
	}
}

func hasComment(p data.PhotoDetail, body string) bool {
	for _, c := range p.Comments {
		if c.Body == body {
			return true
		}
	}
	return false
}

// The same race one layer up: a page rendered from the photo as read
// before a comment, and stored after the comment deleted the page, is
// deleted again; the next request renders the comment. Through the real
// site, its page cache and memcached.
func TestAPageRenderedAcrossACommentIsNotKept(t *testing.T) {
	ctx := context.Background()
	mc := cache.NewClient(lab.Services.MemcachedServers)
	db := &data.Store{DB: lab.Pool}
	writer := &cache.Store{Next: db, MC: mc, PageKeys: app.CommentPageKeys}
	const id = 84
	if _, err := writer.AddComment(ctx, id, 2, "before"); err != nil {
		t.Fatal(err)
	}
	held := holdNextPhoto(db)
	pages := &cache.Pages{MC: mc}
	site, err := app.New(app.Config{Store: &cache.Store{Next: held, MC: mc, PageKeys: app.CommentPageKeys},
		Sessions: &cache.Sessions{MC: mc}, Images: lab.Images, Pages: pages})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(site.Handler())
	defer srv.Close()
	path := "/p/" + strconv.Itoa(id)
	get := func() (string, string, error) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			return "", "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), resp.Header.Get("X-Served-By"), err
	}
	type page struct {
		body string
		err  error
	}
	done := make(chan page)
	go func() {
		b, _, err := get()
		done <- page{b, err}
	}()
	<-held.read
	if _, err := writer.AddComment(ctx, id, 3, "while the page renders"); err != nil {
		t.Fatal(err)
	}
	close(held.release)
	if p := <-done; p.err != nil || strings.Contains(p.body, "while the page renders") {
		t.Fatalf("the held render: %v, or it saw the comment", p.err)
	}
	if _, ok := pages.Get(ctx, app.PageKey(path)); ok {
		t.Error("the page rendered before the comment is in the cache after it")
	}
	body, by, err := get()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body, "while the page renders") {
		t.Errorf("the next request (served by %s) does not show the comment", by)
	}
}

// A page lease: one reader fills at a time, a released lease can be taken
// again, and a write between lease and fill leaves nothing stored.
func TestPageLease(t *testing.T) {
	ctx := context.Background()
	mc := cache.NewClient(lab.Services.MemcachedServers)
	p := &cache.Pages{MC: mc}
	const key = "page:/t/lease"
	p.Delete(ctx, key)

	fill := p.Lease(ctx, key)
	second := p.Lease(ctx, key) // taken while the first is held: fills nothing
	second([]byte("second"))
	if _, ok := p.Get(ctx, key); ok {
		t.Error("a reader without the lease stored its page")
	}
	fill(nil) // given up unused
	p.Lease(ctx, key)([]byte("filled"))
	if got, ok := p.Get(ctx, key); !ok || string(got) != "filled" {
		t.Errorf("after a lease given up, the next fill stored %q, %v", got, ok)
	}

	p.Delete(ctx, key)
	fill = p.Lease(ctx, key)
	p.Delete(ctx, key) // a write's delete between the lease and the fill
	fill([]byte("stale"))
	if got, ok := p.Get(ctx, key); ok {
		t.Errorf("a fill whose lease a write broke left %q stored", got)
	}
	// And the broken lease does not block the next reader.
	p.Lease(ctx, key)([]byte("fresh"))
	if got, ok := p.Get(ctx, key); !ok || string(got) != "fresh" {
		t.Errorf("after a broken lease, the next fill stored %q, %v", got, ok)
	}
}
