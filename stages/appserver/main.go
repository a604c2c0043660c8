package appserver

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/scalelab/scalelab/app"
)

// Main runs one app-server process as stages 3 and 4 start it, many times
// over: flags for the stage's choices, DATABASE_URL and MEMCACHED_SERVERS
// from the environment (GOMAXPROCS too, read by the Go runtime). It serves
// until ctx ends (SIGTERM), then shuts down gracefully.
func Main(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("appserver", flag.ContinueOnError)
	s := &Server{DatabaseURL: os.Getenv("DATABASE_URL"), MemcachedServers: os.Getenv("MEMCACHED_SERVERS")}
	fs.StringVar(&s.Addr, "addr", "127.0.0.1:0", "address to listen on")
	fs.StringVar(&s.Images, "images", "", "image pool folder")
	fs.StringVar(&s.Sessions, "sessions", "db", "session store: db, memory or memcached")
	fs.BoolVar(&s.Cache, "cache", false, "cache queries and pages in memcached")
	fs.BoolVar(&s.TrustPageMiss, "trust-page-miss", false, "with --cache, behind stage 4's nginx only: do not look up again a page nginx marks as missed ("+app.PageMissedHeader+")")
	fs.BoolVar(&s.FastCGI, "fastcgi", false, "speak FastCGI instead of HTTP (behind nginx's fastcgi_pass)")
	fs.IntVar(&s.PoolSize, "pool", 0, "database connections (0: 8)")
	fs.DurationVar(&s.QueryTimeout, "query-timeout", app.DefaultQueryTimeout, "each request's database deadline (503 past it)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := s.Open(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "appserver: serving %s (pid %d, fastcgi %v)\n", s.URL(), os.Getpid(), s.FastCGI)
	errc := make(chan error, 1)
	go func() { errc <- s.Serve() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.Close(shutdown)
}
