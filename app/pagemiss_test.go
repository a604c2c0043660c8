package app_test

import (
	"context"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/scalelab/scalelab/app"
	"github.com/scalelab/scalelab/cache"
	"github.com/scalelab/scalelab/data"
	"github.com/scalelab/scalelab/internal/sitetest"
)

// countedPages is memcached's page cache, counting the gets.
type countedPages struct {
	cache.Pages
	gets atomic.Int64
}

func (p *countedPages) Get(ctx context.Context, key string) ([]byte, bool) {
	p.gets.Add(1)
	return p.Pages.Get(ctx, key)
}

// A page nginx marks as just missed is rendered without asking the page
// cache again, when the site trusts the mark; otherwise the mark is ignored.
func TestPageMissedHeader(t *testing.T) {
	const u = "/t/sunset"
	for _, trust := range []bool{true, false} {
		pages := &countedPages{Pages: cache.Pages{MC: cache.NewClient(lab.Services.MemcachedServers)}}
		site, err := app.New(app.Config{Store: &data.Store{DB: lab.Pool}, Sessions: &data.Sessions{DB: lab.Pool},
			Images: lab.Images, Pages: pages, TrustPageMiss: trust})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(site.Handler())
		c := sitetest.NewClient(srv.URL)
		// Cached first, so that a get would find it.
		c.Get(t, u)
		if got := c.Get(t, u).Header.Get("X-Served-By"); got != app.ServedByAppCache {
			t.Fatalf("trust %v: the second request was served by %q, want %s", trust, got, app.ServedByAppCache)
		}
		pages.gets.Store(0)
		r := c.Do(t, "GET", u, nil, map[string]string{app.PageMissedHeader: "1"})
		want, wantGets := app.ServedByApp, int64(0)
		if !trust {
			want, wantGets = app.ServedByAppCache, 1
		}
		if r.Status != 200 || r.Header.Get("X-Served-By") != want || pages.gets.Load() != wantGets {
			t.Errorf("trust %v, marked missed: %d served by %q after %d gets, want 200 by %s after %d",
				trust, r.Status, r.Header.Get("X-Served-By"), pages.gets.Load(), want, wantGets)
		}
		srv.Close()
	}
}
