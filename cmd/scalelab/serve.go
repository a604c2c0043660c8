package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/scalelab/scalelab/data"
	"github.com/scalelab/scalelab/infra"
	"github.com/scalelab/scalelab/stages/appserver"
	"github.com/scalelab/scalelab/stages/cgi"
)

type serveOptions struct {
	Stage string
	Addr  string
	// Procs is GOMAXPROCS of the app server: 1 models the GIL, 0 is every core.
	Procs int
	// SmallUsers is the dataset seeded when the database has none.
	SmallUsers int
}

// stageNames maps the names a user may type to a stage number.
var stageNames = map[string]string{
	"1": "1", "cgi": "1",
	"2": "2", "appserver": "2",
}

func newServeCmd(g *globalOptions) *cobra.Command {
	o := &serveOptions{}
	cmd := &cobra.Command{
		Use:   "serve STAGE",
		Short: "Run one stage of the photo site in the foreground",
		Long: `Run one stage of the photo site until Ctrl-C, then stop every process it
started. It starts the services the stage needs (and seeds a small dataset if
the database has none).

Stages:
  1, cgi        a CGI program run by a CGI host: a new process, a new database
                connection and freshly parsed templates for every request
  2, appserver  one long-running process with a connection pool; GOMAXPROCS=1
                models the talk's GIL (--procs 0 lifts it: Go uses every core)`,
		Example: `  scalelab serve 1
  scalelab serve appserver --addr 127.0.0.1:8080
  scalelab serve 2 --procs 0`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("serve takes one stage: 1 (cgi) or 2 (appserver)")
			}
			n, ok := stageNames[strings.ToLower(args[0])]
			if !ok {
				return usagef("unknown stage %q: use 1 (cgi) or 2 (appserver)", args[0])
			}
			o.Stage = n
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Procs < 0 {
				return usagef("--procs must be 0 (every core) or more, got %d", o.Procs)
			}
			if err := checkLoopbackAddr(o.Addr); err != nil {
				return err
			}
			return runServe(cmd.Context(), g, o, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&o.Addr, "addr", "127.0.0.1:8080", "`host:port` to serve on (loopback only)")
	cmd.Flags().IntVar(&o.Procs, "procs", 1, "GOMAXPROCS of the app server: 1 models the GIL, 0 uses every core")
	cmd.Flags().IntVar(&o.SmallUsers, "seed-users", 10000, "users to seed when the database holds no dataset")
	return cmd
}

func checkLoopbackAddr(addr string) error {
	host, _, err := splitHostPort(addr)
	if err != nil {
		return usagef("bad --addr %q: %v", addr, err)
	}
	if !infra.IsLoopback(host) {
		return usagef("--addr %q is not a loopback address: the lab serves on 127.0.0.0/8 or ::1 only", addr)
	}
	return nil
}

// ensureDataset checks that the database holds a complete dataset and
// seeds a small one if it holds none.
func ensureDataset(ctx context.Context, g *globalOptions, url string, users int, out io.Writer) error {
	pool, err := openPool(ctx, url)
	if err != nil {
		return err
	}
	defer pool.Close()
	meta, err := data.CheckLoaded(ctx, pool)
	if errors.Is(err, data.ErrIncomplete) {
		fmt.Fprintf(out, "the database holds no complete dataset: seeding %d users (scalelab seed makes the full one)\n", users)
		o := &seedOptions{Users: users, Seed: 1}
		rep, err := data.Load(ctx, pool, data.LoadOptions{Dataset: data.Dataset{Seed: 1, Users: users}})
		if err != nil {
			return fmt.Errorf("seed: %w", err)
		}
		printLoadReport(out, rep, o)
	} else if err != nil {
		return err
	} else if !meta.Indexed {
		fmt.Fprintln(out, "note: the secondary indexes are missing (scalelab index create restores them)")
	}
	return data.EnsurePool(filepath.Join(g.State, "images"))
}

func runServe(ctx context.Context, g *globalOptions, o *serveOptions, out io.Writer) error {
	lab := newLab(g)
	svc, started, err := lab.Up(ctx)
	if err != nil {
		return err
	}
	// Everything this command started stops when it ends, however it ends.
	defer lab.Stop(started)
	for _, p := range started {
		fmt.Fprintf(out, "started %s on %s (pid %d)\n", p.Name, p.Addr, p.PID)
	}
	if err := ensureDataset(ctx, g, svc.DatabaseURL, o.SmallUsers, out); err != nil {
		return err
	}
	images := filepath.Join(g.State, "images")

	var srv interface {
		URL() string
		Serve() error
		Close(context.Context) error
	}
	switch o.Stage {
	case "1":
		prog, err := cgi.Build(ctx, filepath.Join(g.State, "bin"))
		if err != nil {
			return err
		}
		h := &cgi.Host{Addr: o.Addr, Program: prog, DatabaseURL: svc.DatabaseURL, Images: images}
		if err := h.Open(); err != nil {
			return err
		}
		srv = h
		fmt.Fprintf(out, "stage 1 (CGI): %s runs once per request\n", prog)
	case "2":
		procs := o.Procs
		if procs == 0 {
			procs = runtime.NumCPU()
		}
		runtime.GOMAXPROCS(procs)
		s := &appserver.Server{Addr: o.Addr, DatabaseURL: svc.DatabaseURL, Images: images}
		if err := s.Open(ctx); err != nil {
			return err
		}
		srv = s
		fmt.Fprintf(out, "stage 2 (app server): one process, GOMAXPROCS=%d\n", procs)
	}
	fmt.Fprintf(out, "serving %s — Ctrl-C stops it\n", srv.URL())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve() }()
	select {
	case err = <-errc:
	case <-ctx.Done():
		fmt.Fprintln(out, "stopping")
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if cerr := srv.Close(shutdown); err == nil {
		err = cerr
	}
	return err
}
