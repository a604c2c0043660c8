// Package appserver is the app server: one long-running process serving
// the site with a pool of database connections and templates parsed once,
// over HTTP or, behind nginx's fastcgi_pass, FastCGI. Its Server composes
// the site from a stage's choices (where sessions live, whether queries and
// pages are cached), so the same process is stage 2 on its own ("scalelab
// serve 2"), stage 1f's FastCGI process, and each of stages 3 and 4's
// instances (the hidden "scalelab appserver" command, started through
// internal/supervisor), as well as "scalelab serve app". It is no stage's
// package: the stages that run it import it, not each other.
//
// The talk's CherryPy could use one core because of Python's GIL; the lab
// models that by running the process with GOMAXPROCS=1 (set by the command
// or the supervisor that starts it). Lifting it ("serve 2 --procs 0": every
// core) shows that a Go server does not need stage 3 to use several cores.
package appserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/fcgi"
	"os"
	"strconv"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/scalelab/scalelab/app"
	"github.com/scalelab/scalelab/cache"
	"github.com/scalelab/scalelab/data"
	"github.com/scalelab/scalelab/internal/appcost"
	"github.com/scalelab/scalelab/internal/httpserver"
)

// Server is one app server. Fill its fields, call Open, then Serve; Close
// shuts it down gracefully.
type Server struct {
	// Addr to listen on; "127.0.0.1:0" picks a free port.
	Addr string
	// DatabaseURL of the PostgreSQL holding the dataset.
	DatabaseURL string
	// Images is the image pool folder.
	Images string
	// PoolSize is the number of database connections; zero means 8.
	PoolSize int
	// Sessions is where sessions live: "db" (the default), "memory" (this
	// process only) or "memcached" (shared by every instance).
	Sessions string
	// Cache puts the caching layer in front of the database and keeps
	// rendered pages in memcached (stage 4).
	Cache bool
	// TrustPageMiss is app.Config's: the server is reached only through
	// stage 4's nginx, and trusts its mark of a page it already missed.
	TrustPageMiss bool
	// MemcachedServers is the memcached list for Sessions "memcached" and Cache.
	MemcachedServers string
	// FastCGI speaks FastCGI instead of HTTP on Addr, for nginx's
	// fastcgi_pass (the talk's other remedy for CGI, stage 1f).
	FastCGI bool
	// QueryTimeout is each request's database deadline (app.Config's);
	// zero means app.DefaultQueryTimeout.
	QueryTimeout time.Duration
	// Timeouts bound what a client may take; zero fields are
	// httpserver.DefaultTimeouts'.
	Timeouts httpserver.Timeouts
	// Costs model a costlier app: Open burns Start, every request but the
	// health check burns PerRequest (zero: Go as it is).
	Costs appcost.Costs

	ln   net.Listener
	srv  *http.Server
	pool *pgxpool.Pool
}

// Open connects to the database, parses the templates and listens, so
// that a bad address or database is an error here, not in a goroutine.
func (s *Server) Open(ctx context.Context) error {
	if err := s.Costs.Check(); err != nil {
		return fmt.Errorf("appserver: %w", err)
	}
	// The interpreter's start and set-up come before anything else the
	// process does, as Python's did.
	s.Costs.StartUp()
	cfg, err := pgxpool.ParseConfig(s.DatabaseURL)
	if err != nil {
		return fmt.Errorf("appserver: database URL: %w", err)
	}
	cfg.MaxConns = int32(s.PoolSize)
	if cfg.MaxConns == 0 {
		cfg.MaxConns = 8
	}
	// A new connection (after the database restarted, say) gets no longer
	// than a request's deadline. The pool needs nothing else to recover
	// from a restart: a connection idle for over a second is pinged before
	// use and replaced if dead, and a failed connect is retried by the next
	// request that needs one.
	cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	if s.QueryTimeout > 0 {
		cfg.ConnConfig.ConnectTimeout = min(cfg.ConnConfig.ConnectTimeout, s.QueryTimeout)
	}
	if s.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return fmt.Errorf("appserver: %w", err)
	}
	cfg2, err := s.siteConfig()
	if err != nil {
		s.pool.Close()
		return err
	}
	site, err := app.New(cfg2)
	if err != nil {
		s.pool.Close()
		return err
	}
	if s.ln, err = net.Listen("tcp", s.Addr); err != nil {
		s.pool.Close()
		return fmt.Errorf("appserver: %w", err)
	}
	h := s.Costs.Handler(site.Handler(), app.HealthPath)
	pid := strconv.Itoa(os.Getpid())
	// Which process answered: behind a balancer, a person (and the tests)
	// can see the requests spread over the instances.
	s.srv = httpserver.New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-App-Pid", pid)
		h.ServeHTTP(w, r)
	}), s.Timeouts)
	return nil
}

// siteConfig composes the site from the server's choices: a stage is a
// process model plus a choice of store, sessions and page cache.
func (s *Server) siteConfig() (app.Config, error) {
	cfg := app.Config{Store: &data.Store{DB: s.pool}, Images: s.Images, QueryTimeout: s.QueryTimeout}
	var mc *memcache.Client
	if s.Cache || s.Sessions == "memcached" {
		if s.MemcachedServers == "" {
			return cfg, errors.New("appserver: memcached sessions or caching need MEMCACHED_SERVERS")
		}
		mc = cache.NewClient(s.MemcachedServers)
	}
	switch s.Sessions {
	case "", "db":
		cfg.Sessions = &data.Sessions{DB: s.pool}
	case "memory":
		cfg.Sessions = &app.MemorySessions{}
	case "memcached":
		cfg.Sessions = &cache.Sessions{MC: mc}
	default:
		return cfg, fmt.Errorf("appserver: unknown session store %q (db, memory or memcached)", s.Sessions)
	}
	if s.Cache {
		cfg.Store = &cache.Store{Next: cfg.Store, MC: mc, PageKeys: app.CommentPageKeys}
		cfg.Pages = &cache.Pages{MC: mc}
		cfg.TrustPageMiss = s.TrustPageMiss
	}
	return cfg, nil
}

// URL is the server's address as a URL.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// Serve answers requests until Close.
func (s *Server) Serve() error {
	if s.FastCGI {
		// fcgi.Serve returns when Close closes the listener.
		ln := httpserver.IdleListener(s.ln, s.Timeouts)
		if err := fcgi.Serve(ln, s.srv.Handler); err != nil && !errors.Is(err, net.ErrClosed) {
			return fmt.Errorf("appserver: fastcgi: %w", err)
		}
		return nil
	}
	if err := s.srv.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("appserver: %w", err)
	}
	return nil
}

// Close lets requests in flight finish (until ctx ends), then closes the
// connection pool.
func (s *Server) Close(ctx context.Context) error {
	var err error
	switch {
	case s.FastCGI && s.ln != nil:
		err = s.ln.Close()
	case s.srv != nil:
		err = s.srv.Shutdown(ctx)
	}
	if s.pool != nil {
		s.pool.Close()
	}
	return err
}
