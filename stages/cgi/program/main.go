// Command program is stage 1's CGI program: started once per request by
// the CGI host, it opens its own database connection, parses the
// templates, serves one request through the site's handlers and exits.
// It links only what a request needs: no CLI, no load generator, no charts.
//
// Environment: DATABASE_URL (the database), SCALELAB_IMAGES (the image
// pool folder), SCALELAB_QUERY_TIMEOUT (the request's database deadline,
// a Go duration), SCALELAB_APP_CPU and SCALELAB_APP_START_CPU (the
// modelled app's costs, internal/appcost), plus the CGI variables of RFC 3875 set by the host.
package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/cgi"
	"os"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scalelab/scalelab/app"
	"github.com/scalelab/scalelab/data"
	"github.com/scalelab/scalelab/internal/appcost"
)

func main() {
	if err := run(); err != nil {
		// The host turns a CGI program that wrote no headers into a 500;
		// the message goes to the host's log.
		fmt.Fprintln(os.Stderr, "scalelab-cgi:", err)
		os.Exit(1)
	}
}

func run() error {
	costs, err := appcost.FromEnv()
	if err != nil {
		return err
	}
	// The interpreter's start and set-up: every CGI request pays it.
	costs.StartUp()
	qt := app.DefaultQueryTimeout
	if v := os.Getenv("SCALELAB_QUERY_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("SCALELAB_QUERY_TIMEOUT: %w", err)
		}
		qt = d
	}
	// Connecting is part of the request's database work: it gets the same
	// deadline as the queries.
	ctx, cancel := context.WithTimeout(context.Background(), max(qt, time.Second))
	defer cancel()
	conn, err := pgx.Connect(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		// The database is down or overloaded: a 503 the client may retry,
		// as the long-running stages answer, not the host's 500 for a
		// program that wrote nothing.
		fmt.Fprintln(os.Stderr, "scalelab-cgi: connect:", err)
		return cgi.Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "The site is busy; try again in a moment.", http.StatusServiceUnavailable)
		}))
	}
	defer conn.Close(context.Background())
	site, err := app.New(app.Config{
		Store:        &data.Store{DB: conn},
		Sessions:     &data.Sessions{DB: conn},
		Images:       os.Getenv("SCALELAB_IMAGES"),
		QueryTimeout: qt,
	})
	if err != nil {
		return err
	}
	h := costs.Handler(site.Handler(), app.HealthPath)
	pid := strconv.Itoa(os.Getpid())
	return cgi.Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Which process answered: tests count them.
		w.Header().Set("X-Cgi-Pid", pid)
		h.ServeHTTP(w, r)
	}))
}
