// Package app is the photo site every stage serves: its routes, handlers,
// html/template pages, and the interfaces of what a stage plugs in (where
// the data comes from, where sessions live).
//
// The same handlers serve every stage, and a page depends only on the
// database's state and the visitor's session (no clock, no random order),
// so the bytes of a page can be compared across stages.
package app

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"time"

	"github.com/scalelab/scalelab/data"
)

// Store is where the site's data comes from: data.Store (PostgreSQL) or
// a cache wrapped around it.
type Store interface {
	Ping(ctx context.Context) error
	Newest(ctx context.Context) ([]data.PhotoCard, error)
	LatestComments(ctx context.Context, n int) ([]data.CommentView, error)
	// UserByName leaves PasswordHash empty; UserWithPassword fills it,
	// for a login, and is never cached.
	UserByName(ctx context.Context, name string) (data.User, error)
	UserWithPassword(ctx context.Context, name string) (data.User, error)
	// UpgradePassword replaces u's stored hash (if still u.PasswordHash)
	// by hash: a legacy hash is rehashed with bcrypt at login.
	UpgradePassword(ctx context.Context, u data.User, hash string) error
	UserPhotos(ctx context.Context, u data.User, page int) ([]data.PhotoCard, int, error)
	TagPhotos(ctx context.Context, tag string, page int) ([]data.PhotoCard, bool, error)
	Photo(ctx context.Context, id int64) (data.PhotoDetail, error)
	// AddComment returns the comment with the photo's owner and their
	// number of photos: what a cache drops is known without another read.
	AddComment(ctx context.Context, photoID, userID int64, body string) (data.NewComment, error)
}

// Sessions is where sessions live: the database (data.Sessions), a
// process's memory or memcached. Get returns data.ErrNotFound for an
// unknown or expired session.
type Sessions interface {
	Create(ctx context.Context, id string, u data.User) error
	Get(ctx context.Context, id string) (data.User, error)
	Delete(ctx context.Context, id string) error
}

// Config is what a stage gives the site.
type Config struct {
	Store    Store
	Sessions Sessions
	// Images is the image pool folder (with thumb/ and medium/), served
	// under /static/ and read from disk on every request.
	Images string
	// Pages, if set, keeps rendered anonymous pages under PageKey(URI),
	// where nginx can serve them without asking the app (stage 4). The
	// site never deletes a page: Store must, when a write changes it (a
	// cache.Store given CommentPageKeys does).
	Pages PageCache
	// TrustPageMiss says that the site is reached only through stage 4's
	// nginx, which looks every anonymous GET up in Pages itself before it
	// passes the request on, and then sets PageMissedHeader (dropping any
	// copy a client sent). The site renders such a request without asking
	// Pages again. Unset, the header is ignored. A client that reached the
	// site directly and forged it would get no more than a session cookie
	// already gets: a page rendered afresh.
	TrustPageMiss bool
	// QueryTimeout is each request's deadline for its store and session
	// calls together, counted from the request's start: past it the
	// request answers 503 instead of waiting on a slow or stuck database.
	// Zero means DefaultQueryTimeout; negative, no deadline.
	QueryTimeout time.Duration
}

// DefaultQueryTimeout is the deadline of a request's database work when
// Config.QueryTimeout is zero: far above any page's normal few
// milliseconds, short enough that a stuck database sheds load at once
// rather than piling up waiting requests.
const DefaultQueryTimeout = 3 * time.Second

// ErrQueryDeadline is the cause of a request context that ended because
// the request's QueryTimeout passed (rather than because the client left).
var ErrQueryDeadline = errors.New("app: the request's database deadline passed")

// PageCache holds whole rendered pages. Failures are the cache's to log:
// a page that cannot be cached is simply rendered again next time.
type PageCache interface {
	Get(ctx context.Context, key string) ([]byte, bool)
	// Lease is called before a page is rendered for the cache, and the
	// fill it returns after: fill(page) stores the page unless a write
	// changed it in between (the page might not show that write), and
	// fill(nil) stores nothing. A cache that filled after a plain render
	// would keep a page rendered before a comment and stored after the
	// comment's delete.
	Lease(ctx context.Context, key string) (fill func(page []byte))
}

// PageMissedHeader is the request header by which stage 4's nginx tells
// the app that it has just looked the page up in Pages and not found it
// (or could not reach memcached); see Config.TrustPageMiss.
const PageMissedHeader = "X-Page-Cache-Missed"

// PageKey is the cache key of the page at a request URI. nginx computes
// the same key ("page:$request_uri") to look pages up itself.
func PageKey(uri string) string { return "page:" + uri }

// StyleSheet is the site's stylesheet, for a server (nginx) that serves
// static files itself.
func StyleSheet() []byte { return styleCSS }

//go:embed templates/*.html
var templateFS embed.FS

//go:embed style.css
var styleCSS []byte

// Site is the photo site. Its handler is safe for concurrent use.
type Site struct {
	cfg   Config
	pages map[string]*template.Template
	errs  errorLog
}

var pageNames = []string{"front", "user", "tag", "photo", "error"}

// New parses the templates (a CGI request pays this every time; a
// long-running server once) and returns the site.
func New(cfg Config) (*Site, error) {
	base, err := template.New("").Funcs(template.FuncMap{
		"date": func(t time.Time) string { return t.UTC().Format("2 Jan 2006 15:04") },
	}).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("app: parse templates: %w", err)
	}
	s := &Site{cfg: cfg, pages: map[string]*template.Template{}}
	for _, name := range pageNames {
		t, err := base.Clone()
		if err == nil {
			_, err = t.New("content").Parse(`{{template "` + name + `-content" .}}`)
		}
		if err != nil {
			return nil, fmt.Errorf("app: page %s: %w", name, err)
		}
		s.pages[name] = t
	}
	return s, nil
}

// render executes page into a buffer first, so a template error becomes
// a clean 500 rather than half a page.
func (s *Site) render(page string, v any) ([]byte, error) {
	var buf bytes.Buffer
	if err := s.pages[page].ExecuteTemplate(&buf, "layout", v); err != nil {
		return nil, fmt.Errorf("render %s: %w", page, err)
	}
	return buf.Bytes(), nil
}
