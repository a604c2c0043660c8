package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/scalelab/scalelab/data"
	"github.com/scalelab/scalelab/infra"
)

type seedOptions struct {
	Users   int
	Seed    uint64
	NoIndex bool
}

func newSeedCmd(g *globalOptions) *cobra.Command {
	o := &seedOptions{}
	cmd := &cobra.Command{
		Use:   "seed",
		Short: "Generate and load the photo site's dataset",
		Long: `Generate the dataset (users with 10-20 photos each, their tags and comments)
from a seed and load it into the lab's PostgreSQL with COPY, replacing what
was there, then build keys and indexes. The same seed gives the same rows on
every machine. Starts the lab's services if they are not running.`,
		Example: `  scalelab seed                      # 100,000 users, about 1.5 M photos
  scalelab seed --users 2000 --seed 7
  scalelab seed --no-index           # the talk's last lesson: no secondary indexes`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Users < 1 || o.Users > data.MaxUsers {
				return usagef("--users must be between 1 and %d, got %d", data.MaxUsers, o.Users)
			}
			return runSeed(cmd.Context(), g, o, cmd.OutOrStdout())
		},
	}
	cmd.Flags().IntVar(&o.Users, "users", data.DefaultUsers, "number of users to generate")
	cmd.Flags().Uint64Var(&o.Seed, "seed", 1, "seed of the generator: the same seed gives the same rows")
	cmd.Flags().BoolVar(&o.NoIndex, "no-index", false, "leave the secondary indexes out")
	return cmd
}

func runSeed(ctx context.Context, g *globalOptions, o *seedOptions, out io.Writer) error {
	lab := newLab(g)
	svc, started, err := lab.Up(ctx)
	if err != nil {
		return err
	}
	for _, p := range started {
		fmt.Fprintf(out, "started %s on %s (pid %d); \"scalelab down\" stops it\n", p.Name, p.Addr, p.PID)
	}
	err = seed(ctx, g, o, svc, out)
	if err != nil && len(started) > 0 {
		// A failed or interrupted seed stops the services it started.
		lab.Stop(started)
	}
	return err
}

func seed(ctx context.Context, g *globalOptions, o *seedOptions, svc infra.Services, out io.Writer) error {
	pool, err := openPool(ctx, svc.DatabaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()

	// The image pool is drawn while the database loads.
	poolErr := make(chan error, 1)
	go func() { poolErr <- data.EnsurePool(filepath.Join(g.State, "images")) }()

	ds := data.Dataset{Seed: o.Seed, Users: o.Users}
	total := ds.Counts()
	progress, finish := newProgress(out, total.Users+total.Photos+total.Tags+total.Comments)
	rep, err := data.Load(ctx, pool, data.LoadOptions{Dataset: ds, NoIndex: o.NoIndex, Progress: progress})
	finish()
	if err != nil {
		return fmt.Errorf("seed: %w (the dataset is marked incomplete; run scalelab seed again)", err)
	}
	if err := <-poolErr; err != nil {
		return err
	}
	printLoadReport(out, rep, o)
	return nil
}

// openPool connects to PostgreSQL, failing fast with an error that says
// where it tried.
func openPool(ctx context.Context, url string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, usagef("bad DATABASE_URL: %v", err)
	}
	cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	cfg.MaxConns = int32(max(4, 2*runtime.GOMAXPROCS(0)))
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("cannot reach PostgreSQL at %s:%d: %v (is it running? check DATABASE_URL, or unset it to use the lab's own)",
			cfg.ConnConfig.Host, cfg.ConnConfig.Port, oneLine(err))
	}
	return pool, nil
}

// newProgress returns a progress callback: a bar on a terminal, nothing
// otherwise (the summary line is printed at the end either way).
func newProgress(out io.Writer, total int64) (func(int64), func()) {
	f, ok := out.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil, func() {}
	}
	bar := progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(f),
		progressbar.OptionSetDescription("loading rows"),
		progressbar.OptionShowCount(),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
	var done atomic.Bool
	return func(n int64) {
			if !done.Load() {
				bar.Add64(n)
			}
		}, func() {
			done.Store(true)
			bar.Finish()
		}
}

func printLoadReport(out io.Writer, rep *data.LoadReport, o *seedOptions) {
	c := rep.Counts
	idx := "with indexes"
	if o.NoIndex {
		idx = "without secondary indexes"
	}
	fmt.Fprintf(out, "seeded %d users, %d photos, %d tags, %d comments (seed %d, %s) in %.1fs\n",
		c.Users, c.Photos, c.Tags, c.Comments, o.Seed, idx, rep.Total.Seconds())
	var parts []string
	for _, p := range rep.Phases {
		s := fmt.Sprintf("%s %.2fs", p.Name, p.Duration.Seconds())
		if p.Rows > 0 {
			s += fmt.Sprintf(" (%d rows, %.2fs generating)", p.Rows, p.Generate.Seconds())
		}
		parts = append(parts, s)
	}
	fmt.Fprintf(out, "phases: %s\n", strings.Join(parts, "; "))
}

func oneLine(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", " ")
}

// indexes

func newIndexCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "index create|drop",
		Short: "Add or remove the secondary indexes",
		Long: `Add or remove the dataset's secondary indexes. Without them every user page
scans all photos: the talk's stage 4 fell from 616 to 28 requests/s.`,
		Example: `  scalelab index drop
  scalelab index create`,
		ValidArgs: []string{"create", "drop"},
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 || (args[0] != "create" && args[0] != "drop") {
				return usagef("index takes one argument, create or drop (got %q)", strings.Join(args, " "))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			svc, err := newLab(g).Services()
			if err != nil {
				return err
			}
			pool, err := openPool(ctx, svc.DatabaseURL)
			if err != nil {
				return err
			}
			defer pool.Close()
			if _, err := data.CheckLoaded(ctx, pool); err != nil {
				return fmt.Errorf("%w: run scalelab seed first", err)
			}
			start := time.Now()
			if args[0] == "create" {
				err = data.CreateIndexes(ctx, pool)
			} else {
				err = data.DropIndexes(ctx, pool)
			}
			if err != nil {
				return err
			}
			present, err := data.IndexesPresent(ctx, pool)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "index %s done in %.1fs; secondary indexes present: %d of %d %v\n",
				args[0], time.Since(start).Seconds(), len(present), len(data.IndexNames()), present)
			return nil
		},
	}
	return cmd
}
