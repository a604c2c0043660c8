// Package baseline is stage 0: the talk's "orders of magnitude" on this
// machine. The same page of about 2 KB served three ways:
//
//	/           a static file, by nginx
//	/dynamic    rendered by a Go process for every request, no database
//	/query      the same page after one indexed query (a user by id)
//
// Everything a stage adds on top (sessions, several queries, templates
// with loops, process start-up) is measured against these three.
package baseline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/scalelab/scalelab/app"
	"github.com/scalelab/scalelab/infra"
	"github.com/scalelab/scalelab/internal/httpserver"
)

var page = template.Must(template.New("baseline").Parse(`<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body>
<h1>{{.Title}}</h1>
<ul>
{{range .Items}}<li>Item {{.}}: a line of text that makes the page about two kilobytes long.</li>
{{end}}</ul>
</body>
</html>
`))

type pageData struct {
	Title string
	Items []int
}

var items = func() []int {
	s := make([]int, 22)
	for i := range s {
		s[i] = i + 1
	}
	return s
}()

func render(title string) ([]byte, error) {
	var buf bytes.Buffer
	err := page.Execute(&buf, pageData{Title: title, Items: items})
	return buf.Bytes(), err
}

// nginxServer is stage 0's nginx server block: the static page, with the
// same client limits as every nginx of the lab (see stages/balanced's
// nginx.conf.tmpl); clientTimeout zero means 10s.
func nginxServer(addr, root string, clientTimeout time.Duration) string {
	t := "10s"
	if clientTimeout > 0 {
		t = fmt.Sprintf("%dms", clientTimeout.Milliseconds())
	}
	return fmt.Sprintf(`server {
    listen %s;
    root %s;
    charset utf-8;
    client_header_timeout %s;
    client_body_timeout %s;
    send_timeout 30s;
    keepalive_timeout 65s;
    client_max_body_size 64k;
    large_client_header_buffers 4 8k;
}
`, addr, root, t, t)
}

// Stage is stage 0: an nginx and one Go server.
type Stage struct {
	// Addr is nginx's address (the static page); GoAddr the Go server's.
	Addr, GoAddr string
	// Dir holds nginx's prefix and the static page.
	Dir string
	// DatabaseURL is the dataset's database; Users how many users it has
	// (the query page walks through them).
	DatabaseURL string
	Users       int
	// Lab, if set, records nginx so "scalelab down" finds it.
	Lab *infra.Lab
	// QueryTimeout is /query's database deadline; zero means
	// app.DefaultQueryTimeout.
	QueryTimeout time.Duration
	// Timeouts bound what a client of the Go server may take (zero
	// fields: httpserver.DefaultTimeouts); ClientTimeout is nginx's
	// client_header_timeout and client_body_timeout (zero: 10s).
	Timeouts      httpserver.Timeouts
	ClientTimeout time.Duration

	nginx *infra.Nginx
	pool  *pgxpool.Pool
	srv   *http.Server
	ln    net.Listener
	next  atomic.Int64
}

// Start writes the static page, starts nginx and the Go server.
func (s *Stage) Start(ctx context.Context) error {
	www := filepath.Join(s.Dir, "www")
	if err := os.MkdirAll(www, 0o755); err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	static, err := render("A page")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(www, "index.html"), static, 0o644); err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	absWWW, _ := filepath.Abs(www)
	s.nginx = &infra.Nginx{
		Prefix:    filepath.Join(s.Dir, "nginx"),
		HTTP:      nginxServer(s.Addr, absWWW, s.ClientTimeout),
		ReadyAddr: s.Addr,
	}
	p, err := s.nginx.Start(ctx)
	if err != nil {
		return err
	}
	p.Name = "stage0-nginx"
	if s.Lab != nil {
		s.Lab.Record(p)
	}
	if s.pool, err = pgxpool.New(ctx, s.DatabaseURL); err != nil {
		s.Close(ctx)
		return fmt.Errorf("baseline: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /dynamic", s.dynamic)
	mux.HandleFunc("GET /query", s.query)
	if s.ln, err = net.Listen("tcp", s.GoAddr); err != nil {
		s.Close(ctx)
		return fmt.Errorf("baseline: %w", err)
	}
	s.srv = httpserver.New(mux, s.Timeouts)
	go s.srv.Serve(s.ln)
	return nil
}

func (s *Stage) dynamic(w http.ResponseWriter, r *http.Request) {
	b, err := render("A page")
	if err != nil {
		http.Error(w, "render failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(b)
}

// query renders the page titled with one user's name, read by primary key.
func (s *Stage) query(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.URL.Query().Get("id"), 10, 64)
	if err != nil || id < 1 {
		id = 1 + s.next.Add(1)%int64(max(1, s.Users))
	}
	qt := s.QueryTimeout
	if qt == 0 {
		qt = app.DefaultQueryTimeout
	}
	ctx, cancel := context.WithTimeout(r.Context(), qt)
	defer cancel()
	var name string
	err = s.pool.QueryRow(ctx, "SELECT display_name FROM users WHERE id = $1", id).Scan(&name)
	if errors.Is(err, pgx.ErrNoRows) {
		http.Error(w, "no such user", http.StatusNotFound)
		return
	}
	if err != nil {
		// The database is down, stuck or past the deadline: try again.
		w.Header().Set("Retry-After", "1")
		http.Error(w, "the database did not answer", http.StatusServiceUnavailable)
		return
	}
	b, err := render(name)
	if err != nil {
		http.Error(w, "render failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(b)
}

// URLs are the three pages: static, dynamic, queried.
func (s *Stage) URLs() []string {
	g := "http://" + s.ln.Addr().String()
	return []string{"http://" + s.Addr + "/", g + "/dynamic", g + "/query"}
}

// URL is the static page's server.
func (s *Stage) URL() string { return "http://" + s.Addr }

// Close stops the Go server and nginx.
func (s *Stage) Close(ctx context.Context) error {
	var errs []error
	if s.srv != nil {
		errs = append(errs, s.srv.Shutdown(ctx))
	}
	if s.pool != nil {
		s.pool.Close()
	}
	errs = append(errs, infra.StopNginx(s.nginx, s.Lab))
	return errors.Join(errs...)
}
