// Package cgi is stage 1: the site as a CGI program run by a CGI host, a
// new process and a new database connection for every request, templates
// parsed every time: the costs the talk measured at 23 requests/s.
//
// The host is Go's net/http/cgi Handler (RFC 3875). The program is its
// own small binary (stages/cgi/program), built by the lab into the state
// folder from the source tree, so it is never stale.
package cgi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/scalelab/scalelab/app"
	"github.com/scalelab/scalelab/internal/appcost"
	"github.com/scalelab/scalelab/internal/httpserver"
)

// ProgramName is the CGI program's file name.
const ProgramName = "scalelab-cgi"

// programPackage is the program's package path within the module.
const programPackage = "./stages/cgi/program"

// Build compiles the CGI program into dir and returns its path. It needs
// the source tree (found from the working folder upwards) and the go
// command; go build's cache makes it quick when nothing changed. Without a
// source tree it uses the program installed beside the running binary by
// "make build".
func Build(ctx context.Context, dir string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		exe, _ := os.Executable()
		beside := filepath.Join(filepath.Dir(exe), ProgramName)
		if _, statErr := os.Stat(beside); statErr == nil {
			return beside, nil
		}
		return "", fmt.Errorf("cgi: no source tree to build %s from (%v) and no %s beside %s: run \"make build\" in the scalelab checkout", ProgramName, err, ProgramName, exe)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("cgi: %w", err)
	}
	out, err := filepath.Abs(filepath.Join(dir, ProgramName))
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, programPackage)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return "", fmt.Errorf("cgi: the go command is needed to build the CGI program: install Go, or run \"make build\"")
		}
		return "", fmt.Errorf("cgi: build %s: %v: %s", ProgramName, err, strings.TrimSpace(string(b)))
	}
	return out, nil
}

// moduleRoot finds the scalelab source tree from the working folder up.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(b), "module github.com/scalelab/scalelab\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the scalelab source tree")
		}
		dir = parent
	}
}

// Host is the CGI host: an HTTP server that runs Program for every request.
type Host struct {
	// Addr to listen on; "127.0.0.1:0" picks a free port.
	Addr string
	// Program is the CGI program's path (see Build).
	Program string
	// DatabaseURL and Images are passed to the program in its environment.
	DatabaseURL string
	Images      string
	// Stderr receives the programs' error output; nil means os.Stderr.
	Stderr *os.File
	// QueryTimeout is each request's database deadline, passed to the
	// program; zero means app.DefaultQueryTimeout.
	QueryTimeout time.Duration
	// Timeouts bound what a client may take; zero fields are
	// httpserver.DefaultTimeouts'.
	Timeouts httpserver.Timeouts
	// Costs model a costlier app, passed to every program the host starts
	// (appcost.Env): each pays Start as it starts and PerRequest on its
	// request, so a CGI request pays both.
	Costs appcost.Costs

	ln  net.Listener
	srv *http.Server
}

// Open listens; Serve then answers requests until Close.
func (h *Host) Open() error {
	if err := h.Costs.Check(); err != nil {
		return fmt.Errorf("cgi: %w", err)
	}
	if _, err := os.Stat(h.Program); err != nil {
		return fmt.Errorf("cgi: program: %w", err)
	}
	images, _ := filepath.Abs(h.Images)
	qt := h.QueryTimeout
	if qt == 0 {
		qt = app.DefaultQueryTimeout
	}
	handler := &cgi.Handler{
		Path: h.Program,
		Root: "/",
		Env: append([]string{"DATABASE_URL=" + h.DatabaseURL, "SCALELAB_IMAGES=" + images, QueryTimeoutEnv + "=" + qt.String()},
			h.Costs.Env()...),
	}
	if h.Stderr != nil {
		handler.Stderr = h.Stderr
	}
	var err error
	if h.ln, err = net.Listen("tcp", h.Addr); err != nil {
		return fmt.Errorf("cgi: %w", err)
	}
	h.srv = httpserver.New(limitBody(handler), h.Timeouts)
	return nil
}

// QueryTimeoutEnv names the environment variable through which the host
// tells the program its database deadline (a Go duration).
const QueryTimeoutEnv = "SCALELAB_QUERY_TIMEOUT"

// limitBody refuses a body over the site's limit before a process is
// started for it, and cuts a chunked one at the limit: the program would
// refuse it too, but only after the host had copied it all into its stdin.
// It also refuses what cannot be passed to a process at all.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > app.MaxFormBytes {
			w.Header().Set("Connection", "close")
			http.Error(w, "The request body is too large.", http.StatusRequestEntityTooLarge)
			return
		}
		// The request becomes the program's environment, where a NUL
		// cannot go: exec would fail and the host answer 500.
		if strings.ContainsRune(r.URL.Path, 0) {
			http.Error(w, "The address holds a NUL byte.", http.StatusBadRequest)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, app.MaxFormBytes)
		next.ServeHTTP(w, r)
	})
}

// URL is the host's address as a URL.
func (h *Host) URL() string { return "http://" + h.ln.Addr().String() }

// Serve answers requests until Close.
func (h *Host) Serve() error {
	if err := h.srv.Serve(h.ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("cgi: %w", err)
	}
	return nil
}

// Close waits for requests in flight (and their processes) to finish.
func (h *Host) Close(ctx context.Context) error {
	if h.srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return h.srv.Shutdown(ctx)
}
