// Package appserver is stage 2: one long-running process serving the site
// with a pool of database connections and templates parsed once. Sessions
// stay in the database, as in the talk.
//
// The talk's CherryPy could use one core because of Python's GIL; the
// stage models that by running with GOMAXPROCS=1 (set by the command that
// starts it, "scalelab serve 2 --procs N"). Lifting it (--procs 0: every
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
)

// Server is the app server. Fill its fields, call Open, then Serve; Close
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
	// MemcachedServers is the memcached list for Sessions "memcached" and Cache.
	MemcachedServers string
	// FastCGI speaks FastCGI instead of HTTP on Addr, for nginx's
	// fastcgi_pass (the talk's other remedy for CGI, stage 1f).
	FastCGI bool

	ln   net.Listener
	srv  *http.Server
	pool *pgxpool.Pool
}

// Open connects to the database, parses the templates and listens, so
// that a bad address or database is an error here, not in a goroutine.
func (s *Server) Open(ctx context.Context) error {
	cfg, err := pgxpool.ParseConfig(s.DatabaseURL)
	if err != nil {
		return fmt.Errorf("appserver: database URL: %w", err)
	}
	cfg.MaxConns = int32(s.PoolSize)
	if cfg.MaxConns == 0 {
		cfg.MaxConns = 8
	}
	cfg.ConnConfig.ConnectTimeout = 5 * time.Second
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
	h := site.Handler()
	pid := strconv.Itoa(os.Getpid())
	// Which process answered: behind a balancer, a person (and the tests)
	// can see the requests spread over the instances.
	s.srv = NewHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-App-Pid", pid)
		h.ServeHTTP(w, r)
	}))
	return nil
}

// siteConfig composes the site from the server's choices: a stage is a
// process model plus a choice of store, sessions and page cache.
func (s *Server) siteConfig() (app.Config, error) {
	cfg := app.Config{Store: &data.Store{DB: s.pool}, Images: s.Images}
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
		cfg.Store = &cache.Store{Next: cfg.Store, MC: mc}
		cfg.Pages = &cache.Pages{MC: mc}
	}
	return cfg, nil
}

// NewHTTPServer is the http.Server every stage's Go process uses, with
// timeouts so that a slow or silent client cannot hold a connection.
func NewHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
}

// URL is the server's address as a URL.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// Serve answers requests until Close.
func (s *Server) Serve() error {
	if s.FastCGI {
		// fcgi.Serve returns when Close closes the listener.
		if err := fcgi.Serve(s.ln, s.srv.Handler); err != nil && !errors.Is(err, net.ErrClosed) {
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
