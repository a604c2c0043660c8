// Package cache keeps the photo site's data, sessions and rendered pages in
// memcached: stage 3's shared sessions and stage 4's caching layer.
//
// Store wraps any store of the site's queries (a Source: app.Store's
// methods) without either knowing the other: the data package has no idea
// it is cached, the site has no idea what is, and this package does not
// import the site. Each query's result lives under an explicit key with a
// TTL. Pages holds whole rendered pages under keys nginx computes itself
// ("page:" + request URI), so nginx can serve them without reaching Go.
//
// Invalidation happens in one place, Store's writes: a comment deletes the
// query results and the rendered pages it made stale, all found from what
// the insert itself returned (the photo's owner and their photo count), so
// finding them costs no read. Which pages show a comment is the site's to
// say (its addresses), given to Store as a function (PageKeys). When
// memcached is down every call falls back to the wrapped store: slower,
// never wrong.
//
// A delete alone is not enough: a reader that read the database before a
// comment and stores its result after the comment's delete would keep the
// stale result for a whole TTL (the lab's write check found such a page
// when rendering took milliseconds). So every fill holds a lease taken
// before its read, and a write breaks the leases of what it changed (see
// fills.go).
package cache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/scalelab/scalelab/data"
)

// NewClient returns a memcached client for a comma-separated server list,
// tuned for a load test: enough idle connections for every concurrent
// request, and short timeouts so a dead memcached costs little.
func NewClient(servers string) *memcache.Client {
	var list []string
	for _, s := range strings.Split(servers, ",") {
		if s = strings.TrimSpace(s); s != "" {
			list = append(list, s)
		}
	}
	c := memcache.New(list...)
	c.MaxIdleConns = 64
	c.Timeout = 250 * time.Millisecond
	return c
}

// Default TTLs. A TTL bounds how stale a value can be if an invalidation
// is ever missed (memcached restarted between the write and the delete).
const (
	QueryTTL   = 5 * time.Minute
	PageTTL    = 5 * time.Minute
	SessionTTL = 7 * 24 * time.Hour
)

// warnOnce logs the first memcached failure of a kind, not every one: a
// dead memcached under load would otherwise flood the log.
type warnOnce struct{ done atomic.Bool }

func (w *warnOnce) warn(op string, err error) {
	if w.done.CompareAndSwap(false, true) {
		log.Printf("cache: %s: %v (falling back to the database; further errors are not logged)", op, err)
	}
}

// seconds is a TTL as memcached's expiration. Under a second it is one
// second, not zero (zero means "never expires"); over 30 days it is an
// absolute Unix time, as memcached reads any larger number.
func seconds(d time.Duration) int32 {
	if d > 30*24*time.Hour {
		return int32(time.Now().Add(d).Unix())
	}
	return int32(max(d, time.Second) / time.Second)
}

// Source is what Store caches and writes through to: the site's queries
// (the method set of app.Store, which data.Store implements), declared
// here so that the cache does not depend on the site.
type Source interface {
	Ping(ctx context.Context) error
	Newest(ctx context.Context) ([]data.PhotoCard, error)
	LatestComments(ctx context.Context, n int) ([]data.CommentView, error)
	UserByName(ctx context.Context, name string) (data.User, error)
	UserWithPassword(ctx context.Context, name string) (data.User, error)
	UpgradePassword(ctx context.Context, u data.User, hash string) error
	UserPhotos(ctx context.Context, u data.User, page int) ([]data.PhotoCard, int, error)
	TagPhotos(ctx context.Context, tag string, page int) ([]data.PhotoCard, bool, error)
	Photo(ctx context.Context, id int64) (data.PhotoDetail, error)
	AddComment(ctx context.Context, photoID, userID int64, body string) (data.NewComment, error)
}

// Store is a caching Source in front of another.
type Store struct {
	Next Source
	MC   *memcache.Client
	// TTL of cached query results; zero means QueryTTL.
	TTL time.Duration
	// PageKeys, if set, returns the keys of the rendered pages (see Pages)
	// that a new comment changed: the site knows its addresses, the store
	// when a comment happens. AddComment deletes them with its own keys.
	PageKeys func(data.NewComment) []string
	errs     warnOnce
}

// Keys of cached query results.
func keyNewest() string                    { return "q:newest" }
func keyLatest() string                    { return "q:latest" }
func keyUser(name string) string           { return "q:user:" + name }
func keyUserPhotos(id int64, p int) string { return fmt.Sprintf("q:uphotos:%d:%d", id, p) }
func keyTag(tag string, p int) string      { return fmt.Sprintf("q:tag:%s:%d", tag, p) }
func keyPhoto(id int64) string             { return fmt.Sprintf("q:photo:%d", id) }

// cached returns the value under key, or reads it with load and stores it
// if no write changed it meanwhile (see queryLease).
func cached[T any](ctx context.Context, s *Store, key string, load func() (T, error)) (T, error) {
	it, err := s.MC.Get(key)
	switch {
	case err == nil:
		var v T
		if !isLeaseToken(it.Value) && json.Unmarshal(it.Value, &v) == nil {
			return v, nil
		}
		// Another reader is filling the key: read, and leave it to them.
		return load()
	case !errors.Is(err, memcache.ErrCacheMiss):
		s.errs.warn("get "+key, err)
		return load()
	}
	lease := s.lease(key)
	v, err := load()
	if err != nil {
		lease.release()
		return v, err
	}
	s.fill(lease, v)
	return v, nil
}

// fill stores v under the key of lease for the store's TTL, unless a write
// broke the lease. A failure is logged (once) and otherwise ignored: the
// value is read from the database next time.
func (s *Store) fill(l *queryLease, v any) {
	if l == nil {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		s.errs.warn("encode "+l.item.Key, err)
		l.release()
		return
	}
	ttl := s.TTL
	if ttl == 0 {
		ttl = QueryTTL
	}
	if err := l.fill(b, ttl); err != nil {
		s.errs.warn("set "+l.item.Key, err)
	}
}

func (s *Store) Ping(ctx context.Context) error { return s.Next.Ping(ctx) }

func (s *Store) Newest(ctx context.Context) ([]data.PhotoCard, error) {
	return cached(ctx, s, keyNewest(), func() ([]data.PhotoCard, error) { return s.Next.Newest(ctx) })
}

// latest is the cached latest comments with how many were asked for: one
// key whatever the number, so that a comment knows the key to delete
// without knowing how many the site shows.
type latest struct {
	N        int
	Comments []data.CommentView
}

func (s *Store) LatestComments(ctx context.Context, n int) ([]data.CommentView, error) {
	load := func() (latest, error) {
		c, err := s.Next.LatestComments(ctx, n)
		return latest{n, c}, err
	}
	v, err := cached(ctx, s, keyLatest(), load)
	if err == nil && v.N != n {
		// Cached for another number (the site asks for one only): read
		// this one from the database.
		v, err = load()
	}
	return v.Comments, err
}

// UserByName caches users without their password hash: a hash in
// memcached (which has no access control) could be read by anyone on the
// machine, and a login never reads users from the cache anyway.
func (s *Store) UserByName(ctx context.Context, name string) (data.User, error) {
	return cached(ctx, s, keyUser(name), func() (data.User, error) {
		u, err := s.Next.UserByName(ctx, name)
		u.PasswordHash = ""
		return u, err
	})
}

// UserWithPassword is never cached: a login reads the hash from the
// database, so a rehashed password takes effect at once.
func (s *Store) UserWithPassword(ctx context.Context, name string) (data.User, error) {
	return s.Next.UserWithPassword(ctx, name)
}

// UpgradePassword stores the new hash, then deletes the user's cached row
// (which holds no hash, but may have been written by a version that did).
func (s *Store) UpgradePassword(ctx context.Context, u data.User, hash string) error {
	if err := s.Next.UpgradePassword(ctx, u, hash); err != nil {
		return err
	}
	deleteKeys(s.MC, &s.errs, keyUser(u.Name))
	return nil
}

type userPhotos struct {
	Photos []data.PhotoCard
	Total  int
}

func (s *Store) UserPhotos(ctx context.Context, u data.User, page int) ([]data.PhotoCard, int, error) {
	v, err := cached(ctx, s, keyUserPhotos(u.ID, page), func() (userPhotos, error) {
		p, t, err := s.Next.UserPhotos(ctx, u, page)
		return userPhotos{p, t}, err
	})
	return v.Photos, v.Total, err
}

type tagPhotos struct {
	Photos []data.PhotoCard
	More   bool
}

func (s *Store) TagPhotos(ctx context.Context, tag string, page int) ([]data.PhotoCard, bool, error) {
	v, err := cached(ctx, s, keyTag(tag, page), func() (tagPhotos, error) {
		p, m, err := s.Next.TagPhotos(ctx, tag, page)
		return tagPhotos{p, m}, err
	})
	return v.Photos, v.More, err
}

func (s *Store) Photo(ctx context.Context, id int64) (data.PhotoDetail, error) {
	return cached(ctx, s, keyPhoto(id), func() (data.PhotoDetail, error) { return s.Next.Photo(ctx, id) })
}

// AddComment stores the comment, then deletes what it made stale: the
// photo, the latest comments, every page of the owner's photo list (their
// comment counts changed), and the rendered pages that show them
// (PageKeys). All are known from the insert's answer: no read is needed.
// The query results go first, the pages after: a page rendered from a
// query result read before its delete then still has its lease broken.
func (s *Store) AddComment(ctx context.Context, photoID, userID int64, body string) (data.NewComment, error) {
	c, err := s.Next.AddComment(ctx, photoID, userID, body)
	if err != nil {
		return c, err
	}
	keys := []string{keyPhoto(c.PhotoID), keyLatest()}
	for p := 1; p <= data.PageCount(c.OwnerPhotos); p++ {
		keys = append(keys, keyUserPhotos(c.Owner.ID, p))
	}
	// A query result's lease is held in its own key: deleting the key
	// breaks it.
	deleteKeys(s.MC, &s.errs, keys...)
	if s.PageKeys != nil {
		deletePages(s.MC, &s.errs, s.PageKeys(c))
	}
	return c, nil
}

// deleteKeys deletes keys in order; a key already gone is no failure.
func deleteKeys(mc *memcache.Client, errs *warnOnce, keys ...string) {
	for _, k := range keys {
		if err := mc.Delete(k); err != nil && !errors.Is(err, memcache.ErrCacheMiss) {
			errs.warn("delete "+k, err)
		}
	}
}

// Sessions keeps sessions in memcached, so that any app server behind the
// balancer can read a session another one created (share nothing).
// A session lost with memcached (restarted, evicted, down) means the user
// is logged out: they log in again; nothing else is lost. A session
// expires TTL after its login: memcached drops the item itself.
type Sessions struct {
	MC *memcache.Client
	// TTL of a session; zero means SessionTTL.
	TTL time.Duration
}

func keySession(id string) string { return "sess:" + id }

func (s *Sessions) Create(ctx context.Context, id string, u data.User) error {
	ttl := s.TTL
	if ttl == 0 {
		ttl = SessionTTL
	}
	b, err := json.Marshal(sessionValue{u.ID, u.Name, u.DisplayName})
	if err != nil {
		return fmt.Errorf("create session: encode: %w", err)
	}
	if err := s.MC.Set(&memcache.Item{Key: keySession(id), Value: b, Expiration: seconds(ttl)}); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// sessionValue is what a session holds: the user, as every page shows it.
type sessionValue struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	DisplayName string `json:"display"`
}

func (s *Sessions) Get(ctx context.Context, id string) (data.User, error) {
	it, err := s.MC.Get(keySession(id))
	if errors.Is(err, memcache.ErrCacheMiss) {
		return data.User{}, data.ErrNotFound
	}
	if err != nil {
		return data.User{}, fmt.Errorf("read session: %w", err)
	}
	var v sessionValue
	if err := json.Unmarshal(it.Value, &v); err != nil {
		return data.User{}, data.ErrNotFound
	}
	return data.User{ID: v.ID, Name: v.Name, DisplayName: v.DisplayName}, nil
}

func (s *Sessions) Delete(ctx context.Context, id string) error {
	if err := s.MC.Delete(keySession(id)); err != nil && !errors.Is(err, memcache.ErrCacheMiss) {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// Pages keeps rendered pages in memcached as plain bytes, the form nginx's
// memcached module sends to the browser as it is. It does not invalidate:
// Store's writes delete the pages they change (Store.PageKeys). A page is
// filled under a lease (Lease), as query results are.
type Pages struct {
	MC *memcache.Client
	// TTL of a page; zero means PageTTL.
	TTL  time.Duration
	errs warnOnce
}

func (p *Pages) Get(_ context.Context, key string) ([]byte, bool) {
	it, err := p.MC.Get(key)
	if err != nil {
		if !errors.Is(err, memcache.ErrCacheMiss) {
			p.errs.warn("get page", err)
		}
		return nil, false
	}
	return it.Value, true
}

// Set stores a page as it is, with no lease: for a page no reader renders
// at the same time (a test's, a planted one). The site fills through Lease.
func (p *Pages) Set(_ context.Context, key string, page []byte) {
	if err := p.MC.Set(&memcache.Item{Key: key, Value: page, Expiration: seconds(p.ttl())}); err != nil {
		p.errs.warn("set page", err)
	}
}

func (p *Pages) ttl() time.Duration {
	if p.TTL == 0 {
		return PageTTL
	}
	return p.TTL
}

// Delete deletes pages, breaking their leases first (see deletePages).
func (p *Pages) Delete(_ context.Context, keys ...string) {
	deletePages(p.MC, &p.errs, keys)
}
