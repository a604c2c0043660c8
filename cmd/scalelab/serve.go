package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/scalelab/scalelab/data"
	"github.com/scalelab/scalelab/infra"
	"github.com/scalelab/scalelab/internal/appserver"
	"github.com/scalelab/scalelab/internal/supervisor"
	"github.com/scalelab/scalelab/stages"
	"github.com/scalelab/scalelab/stages/balanced"
	"github.com/scalelab/scalelab/stages/baseline"
	"github.com/scalelab/scalelab/stages/cached"
	"github.com/scalelab/scalelab/stages/cgi"
	"github.com/scalelab/scalelab/stages/fastcgi"
)

type serveOptions struct {
	// Stage is the stage to serve, unless App is set: one app server of a
	// stage spread over hosts.
	Stage stages.Stage
	App   bool
	Addr  string
	// Instances is the number of app servers of stages 3 and 4.
	Instances int
	// Choices are the app servers' (--sessions, --cache, --query-timeout):
	// the flags of the hidden appserver command, which serve passes on.
	// Sessions is where stage 3 keeps them; Cache is for "serve app";
	// QueryTimeout is each request's database deadline, in every stage's
	// app processes (503 past it).
	appserver.Choices
	// NoIndex runs the stage without the secondary indexes (restored after).
	NoIndex bool
	// Upstream lists app servers on other hosts for stages 3 and 4.
	Upstream []string
	// AllowRemote permits non-loopback addresses in --addr and --upstream.
	AllowRemote bool
	// ReadyFile, if set, receives the stage's URLs as JSON once it serves:
	// how the driver, which runs serve as a child process, learns them.
	ReadyFile string
	// Procs is GOMAXPROCS of the app server: 1 models the GIL, 0 is every core.
	Procs int
	// SmallUsers is the dataset seeded when the database has none.
	SmallUsers int
}

// stageChoices names every stage as a user may type it, for help texts and
// errors: every one of them lists all of the table's stages.
var stageChoices = stages.Choices()

// appServerOnly is serve's name for one app server of a stage spread over
// hosts: not a stage of the talk, a piece of one.
const appServerOnly = "app"

// stageHelp lists the table's stages for serve's help, each with its
// paragraph: "  1, cgi        a CGI program run by …".
func stageHelp() string {
	var b strings.Builder
	for _, st := range stages.All {
		lines := strings.Split(st.Help, "\n")
		fmt.Fprintf(&b, "  %-13s %s\n", st.ID+", "+st.Alias, lines[0])
		for _, l := range lines[1:] {
			fmt.Fprintf(&b, "  %-13s %s\n", "", l)
		}
	}
	return b.String()
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
` + stageHelp() + `
  app           one app server of stage 3 or 4 in the foreground, for a host of
                a stage spread over machines (see --upstream); --cache for 4

--no-index drops the secondary indexes for the run and restores them when it
ends (the talk's stage 4 fell from 616 to 28 requests/s without its index).

--app-cpu and --app-start-cpu model a costlier app than Go (the talk's
Python: --app-cpu 7ms --app-start-cpu 36ms): CPU time every request that
reaches an app process burns first, and each app process as it starts (a
CGI process on every request). Stage 0's baselines do not pay them.`,
		Example: `  scalelab serve 1
  scalelab serve appserver --addr 127.0.0.1:8080
  scalelab serve 2 --procs 0`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("serve takes one stage: %s", stageChoices)
			}
			if strings.EqualFold(args[0], appServerOnly) {
				o.App = true
				return nil
			}
			st, ok := stages.Find(args[0])
			if !ok {
				return usagef("unknown stage %q: use %s", args[0], stageChoices)
			}
			o.Stage = st
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Procs < 0 {
				return usagef("--procs must be 0 (every core) or more, got %d", o.Procs)
			}
			if err := o.Choices.Check(); err != nil {
				return &usageError{err}
			}
			if o.Instances < 0 {
				return usagef("--instances must be 1 or more (0: one per core), got %d", o.Instances)
			}
			if !o.AllowRemote {
				for _, a := range append([]string{o.Addr}, o.Upstream...) {
					if err := checkLoopbackAddr(a); err != nil {
						return err
					}
				}
			}
			if len(o.Upstream) > 0 && (o.App || o.Stage.Process != stages.Balanced) {
				return usagef("--upstream is for the stages with app servers behind nginx (%s)", balancedIDs())
			}
			return runServe(cmd.Context(), g, o, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&o.Addr, "addr", "127.0.0.1:8080", "`host:port` to serve on (loopback only)")
	cmd.Flags().IntVar(&o.Procs, "procs", 1, "GOMAXPROCS of the app server: 1 models the GIL, 0 uses every core")
	cmd.Flags().IntVar(&o.SmallUsers, "seed-users", 10000, "users to seed when the database holds no dataset")
	cmd.Flags().IntVar(&o.Instances, "instances", 0, "app servers of stages 3 and 4 (0: one per core)")
	o.Choices.AddFlags(cmd.Flags())
	cmd.Flags().BoolVar(&o.NoIndex, "no-index", false, "drop the secondary indexes for this run (restored when it ends)")
	cmd.Flags().StringSliceVar(&o.Upstream, "upstream", nil, "stages 3 and 4: balance over these app servers (`host:port,...`, started with serve app) instead of starting them")
	cmd.Flags().BoolVar(&o.AllowRemote, "allow-remote", false, "allow non-loopback addresses in --addr and --upstream (a lab spread over hosts)")
	cmd.Flags().StringVar(&o.ReadyFile, "ready-file", "", "write the stage's URLs as JSON to this `file` once it serves")
	cmd.Flags().MarkHidden("ready-file")
	return cmd
}

func checkLoopbackAddr(addr string) error {
	host, _, err := splitHostPort(addr)
	if err != nil {
		return usagef("bad --addr %q: %v", addr, err)
	}
	if !infra.IsLoopback(host) {
		return usagef("%q is not a loopback address: the lab serves on 127.0.0.0/8 or ::1 unless --allow-remote is given", addr)
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

	if o.NoIndex {
		restore, err := dropIndexesForRun(ctx, svc.DatabaseURL, out)
		if err != nil {
			return err
		}
		defer restore()
	}

	var srv interface {
		URL() string
		Close(context.Context) error
	}
	errc := make(chan error, 1)
	switch {
	case o.App:
		runtime.GOMAXPROCS(max(1, o.Procs))
		// With --cache it is one app server of a stage 4 spread over hosts,
		// behind that stage's nginx, and trusts its mark of a page it
		// already missed as stage 4's own app servers do: a client that
		// reached it directly and forged the mark gets no more than a page
		// rendered afresh (see app.Config.TrustPageMiss).
		s := &appserver.Server{Addr: o.Addr, DatabaseURL: svc.DatabaseURL, MemcachedServers: svc.MemcachedServers,
			Images: images, Sessions: o.Sessions, Cache: o.Cache, TrustPageMiss: o.Cache, QueryTimeout: o.QueryTimeout, Costs: o.Costs}
		if err := s.Open(ctx); err != nil {
			return err
		}
		go func() { errc <- s.Serve() }()
		srv = s
		fmt.Fprintf(out, "one app server (sessions %s, cache %v), GOMAXPROCS=%d: add it to a stage with --upstream\n", o.Sessions, o.Cache, max(1, o.Procs))
	case o.Stage.Process == stages.CGIHost:
		prog, err := cgi.Build(ctx, filepath.Join(g.State, "bin"))
		if err != nil {
			return err
		}
		h := &cgi.Host{Addr: o.Addr, Program: prog, DatabaseURL: svc.DatabaseURL, Images: images, QueryTimeout: o.QueryTimeout, Costs: o.Costs}
		if err := h.Open(); err != nil {
			return err
		}
		go func() { errc <- h.Serve() }()
		srv = h
		fmt.Fprintf(out, "stage %s (%s): %s runs once per request\n", o.Stage.ID, o.Stage.Name, prog)
	case o.Stage.Process == stages.FastCGI:
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("find the scalelab binary: %w", err)
		}
		st := &fastcgi.Stage{Addr: o.Addr, Dir: filepath.Join(g.State, "stage1f"), Images: images, Lab: lab,
			Command: appServerCommand(exe),
			// Stage 1f keeps its sessions in the database, as stage 1 does.
			Args: appserver.Choices{Sessions: "db", QueryTimeout: o.QueryTimeout, Costs: o.Costs}.Args(),
			Env:  []string{"DATABASE_URL=" + svc.DatabaseURL}}
		if err := st.Start(ctx); err != nil {
			return err
		}
		srv = st
		fmt.Fprintf(out, "stage %s (%s): nginx (pid %d) in front of one FastCGI process (pid %d), GOMAXPROCS=1\n",
			o.Stage.ID, o.Stage.Name, st.Nginx().Process().PID, st.App().PID)
	case o.Stage.Process == stages.AppServer:
		procs := o.Procs
		if procs == 0 {
			procs = runtime.NumCPU()
		}
		runtime.GOMAXPROCS(procs)
		s := &appserver.Server{Addr: o.Addr, DatabaseURL: svc.DatabaseURL, Images: images, QueryTimeout: o.QueryTimeout, Costs: o.Costs}
		if err := s.Open(ctx); err != nil {
			return err
		}
		go func() { errc <- s.Serve() }()
		srv = s
		fmt.Fprintf(out, "stage %s (%s): one process, GOMAXPROCS=%d\n", o.Stage.ID, o.Stage.Name, procs)
	case o.Stage.Process == stages.Baselines:
		runtime.GOMAXPROCS(1)
		port, err := infra.FreePort()
		if err != nil {
			return err
		}
		meta, err := datasetMeta(ctx, svc.DatabaseURL)
		if err != nil {
			return err
		}
		st := &baseline.Stage{Addr: o.Addr, GoAddr: fmt.Sprintf("127.0.0.1:%d", port), Dir: filepath.Join(g.State, "stage0"),
			DatabaseURL: svc.DatabaseURL, Users: meta.Users, Lab: lab, QueryTimeout: o.QueryTimeout}
		if err := st.Start(ctx); err != nil {
			return err
		}
		srv = st
		u := st.URLs()
		fmt.Fprintf(out, "stage %s (baselines): static by nginx %s, dynamic by Go %s, one query %s\n", o.Stage.ID, u[0], u[1], u[2])
	case o.Stage.Process == stages.Balanced:
		st, err := newBalanced(g, o, lab, svc, images)
		if err != nil {
			return err
		}
		if err := st.Start(ctx); err != nil {
			return err
		}
		srv = st
		fmt.Fprintf(out, "stage %s: nginx (pid %d) in front of %d app servers %v, GOMAXPROCS=1 each\n",
			o.Stage.ID, st.Nginx().Process().PID, len(st.Addrs), st.Addrs)
	}
	if !o.Costs.Zero() && (o.App || o.Stage.Process != stages.Baselines) {
		fmt.Fprintf(out, "the app is modelled: every request that reaches an app process burns %s of its thread's CPU, each app process %s as it starts (a CGI process on every request)\n",
			o.Costs.PerRequest, o.Costs.Start)
	}
	fmt.Fprintf(out, "serving %s — Ctrl-C stops it\n", srv.URL())
	if o.ReadyFile != "" {
		urls := []string{srv.URL()}
		if b, ok := srv.(*baseline.Stage); ok {
			urls = b.URLs()
		}
		if err := writeReady(o.ReadyFile, urls); err != nil {
			srv.Close(context.Background())
			return err
		}
	}
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

// newBalanced builds stage 3 or 4: app servers started from this very
// binary (its hidden "appserver" command) behind the lab's nginx.
func newBalanced(g *globalOptions, o *serveOptions, lab *infra.Lab, svc infra.Services, images string) (*balanced.Stage, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the scalelab binary: %w", err)
	}
	n := o.Instances
	if n == 0 {
		n = runtime.NumCPU()
	}
	name := "stage" + o.Stage.ID
	st := balanced.Stage{
		Addr: o.Addr,
		Dir:  filepath.Join(g.State, name),
		Instances: supervisor.Instances{
			N:        n,
			Command:  appServerCommand(exe),
			Args:     appServerChoices(o).Args(),
			Env:      []string{"DATABASE_URL=" + svc.DatabaseURL, "MEMCACHED_SERVERS=" + svc.MemcachedServers},
			Images:   images,
			Lab:      lab,
			Prefix:   name,
			External: o.Upstream,
		},
	}
	if !o.Stage.Cache {
		return &st, nil
	}
	mc, _, _ := strings.Cut(svc.MemcachedServers, ",")
	return cached.New(st, mc)
}

// appServerChoices are what stages 3 and 4 pass on to their app servers: the
// stage decides on the cache (stage 4 adds it), not --cache, which is
// "serve app"'s.
func appServerChoices(o *serveOptions) appserver.Choices {
	c := o.Choices
	c.Cache = false
	return c
}

// dropIndexesForRun drops the secondary indexes and returns the function
// that restores them. The user is told both ways: a run never leaves the
// database without its indexes unannounced.
func dropIndexesForRun(ctx context.Context, url string, out io.Writer) (func(), error) {
	pool, err := openPool(ctx, url)
	if err != nil {
		return nil, err
	}
	present, err := data.IndexesPresent(ctx, pool)
	if err != nil {
		pool.Close()
		return nil, err
	}
	if len(present) == 0 {
		pool.Close()
		fmt.Fprintln(out, "the secondary indexes are already missing; this run leaves them so")
		return func() {}, nil
	}
	if err := data.DropIndexes(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	fmt.Fprintf(out, "dropped the secondary indexes %v for this run; they are rebuilt when it ends (or run: scalelab index create)\n", present)
	return func() {
		defer pool.Close()
		fmt.Fprintln(out, "rebuilding the secondary indexes…")
		// Not the run's context: it is cancelled by the Ctrl-C that ends the run.
		rctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		if err := data.CreateIndexes(rctx, pool); err != nil {
			fmt.Fprintf(out, "could not rebuild the indexes: %v; run: scalelab index create\n", err)
			return
		}
		fmt.Fprintln(out, "indexes restored")
	}, nil
}

func datasetMeta(ctx context.Context, url string) (data.Meta, error) {
	pool, err := openPool(ctx, url)
	if err != nil {
		return data.Meta{}, err
	}
	defer pool.Close()
	return data.CheckLoaded(ctx, pool)
}

// Ready is what serve writes to --ready-file.
type Ready struct {
	URLs []string `json:"urls"`
	PID  int      `json:"pid"`
}

func writeReady(path string, urls []string) error {
	b, _ := json.Marshal(Ready{URLs: urls, PID: os.Getpid()})
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("ready file: %w", err)
	}
	return os.Rename(tmp, path)
}

// appServerCommand starts app servers from this very binary (its hidden
// "appserver" command): stages 1f, 3 and 4 run them.
func appServerCommand(exe string) func(args ...string) *exec.Cmd {
	return func(args ...string) *exec.Cmd {
		return exec.Command(exe, append([]string{"appserver"}, args...)...)
	}
}

// balancedIDs are the stages with app servers behind nginx ("3, 4").
func balancedIDs() string {
	var ids []string
	for _, st := range stages.All {
		if st.Process == stages.Balanced {
			ids = append(ids, st.ID)
		}
	}
	return strings.Join(ids, ", ")
}
