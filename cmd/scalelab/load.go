package main

import (
	"errors"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/scalelab/scalelab/bench"
	"github.com/scalelab/scalelab/bench/workload"
	"github.com/scalelab/scalelab/internal/cpuset"
)

func newLoadCmd(g *globalOptions) *cobra.Command {
	var opts bench.LoadOptions
	var mix, tags, clientCPUs string
	var thresholds []string
	cmd := &cobra.Command{
		Use:   "load URL...",
		Short: "Load HTTP servers and measure them (closed or open loop)",
		Long: `load sends HTTP/1.1 requests to the URLs and reports requests per second,
latency percentiles from HDR histograms (p50 to p99.9 and max), status codes,
errors by kind, a per-second timeline and the CPU time of the client and of
--watch-pid processes.

Closed loop (the default): each connection sends its next request when the
previous one is answered, like ab and wrk; it finds the most a server can do.
Open loop (--rate R): requests are due on a fixed schedule and latency counts
from when each was due, like wrk2, so a stall of the server shows in full;
requests that could not start on time are counted.

--threshold EXPR (repeatable) is a pass/fail criterion for CI: p50, p90,
p99, p99.9 or max below or above a duration ('p99<100ms'), rps above or
below a rate ('rps>1000'), errors as a share or a count ('errors<0.1%').
The record is written first; then a breached threshold exits 1, and the
summary and the record say which.

Targets must be on the loopback (127.0.0.0/8, ::1, localhost) unless
--allow-remote is given. With --workload photos the URL's host is loaded with
the photo site's visitor mix (front page, users' pages, photos, tags, their
images, logins and comments), the same requests for the same --seed.`,
		Example: `  scalelab load http://127.0.0.1:8080/ --connections 64 --duration 10s
  scalelab load 127.0.0.1:8080/static/a.jpg --requests 100000 --no-keepalive
  scalelab load http://127.0.0.1:8080/ --rate 2000 --duration 30s --out run.json
  scalelab load http://127.0.0.1:8080/ --workload photos --users 2000 --seed 1 --watch-pid 1234
  scalelab load http://127.0.0.1:8080/ -d 10s --threshold 'p99<100ms' --threshold 'errors<0.1%'`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("load: give at least one target URL, e.g. http://127.0.0.1:8080/")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Targets = args
			if opts.Connections < 1 {
				return usagef("load: --connections must be at least 1")
			}
			if cmd.Flags().Changed("mix") {
				m, err := workload.ParseMix(mix)
				if err != nil {
					return usagef("load: --mix: %v", err)
				}
				opts.Photos.Mix = m
			}
			if tags != "" {
				opts.Photos.Tags = strings.Split(tags, ",")
			}
			ts, err := bench.ParseThresholds(thresholds)
			if err != nil {
				return usagef("load: %v", usageText(err))
			}
			for _, t := range ts {
				if t.Stage != "" {
					return usagef("load: --threshold %q: load measures no stage: drop the stage=%s: scope (bench and lab take it)", t.Expr, t.Stage)
				}
			}
			opts.Thresholds = ts
			if clientCPUs != "" {
				// The servers are someone else's: the check only keeps a
				// CPU free for them, the pin is this process's own.
				client, _, err := cpuset.Split(clientCPUs)
				if err != nil {
					return usagef("load: --client-cpus: %v", err)
				}
				if err := cpuset.PinSelf(client); err != nil {
					return err
				}
			}
			opts.Stdout, opts.Stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
			opts.Progress = term.IsTerminal(int(os.Stderr.Fd()))
			_, err = bench.Load(cmd.Context(), opts)
			if errors.Is(err, bench.ErrUsage) {
				return usagef("load: %v", err)
			}
			return err
		},
	}
	f := cmd.Flags()
	f.IntVarP(&opts.Connections, "connections", "c", 64, "connections (open loop: the most requests in flight)")
	f.BoolVar(&opts.NoKeepAlive, "no-keepalive", false, "open a new connection for every request")
	f.DurationVarP(&opts.Duration, "duration", "d", 0, "how long to load (default 10s unless --requests is given)")
	f.Int64VarP(&opts.Requests, "requests", "n", 0, "stop after this many requests")
	f.DurationVar(&opts.Timeout, "timeout", 0, "time limit of one request (default 20s)")
	f.StringArrayVarP(&opts.Headers, "header", "H", nil, "add a header to every request (\"Name: value\", repeatable)")
	f.Float64VarP(&opts.Rate, "rate", "r", 0, "open loop: requests per second (with a workload: page views and posts per second)")
	f.IntSliceVar(&opts.WatchPIDs, "watch-pid", nil, "report the CPU time of this `PID` and its descendants (repeatable)")
	f.StringVarP(&opts.Out, "out", "o", "", "write the JSON record (with histograms) to this `file`")
	f.StringArrayVar(&thresholds, "threshold", nil, "pass/fail criterion, e.g. 'p99<100ms', 'errors<0.1%', 'rps>1000' (repeatable): exit 1 when one is breached")
	f.BoolVar(&opts.AllowRemote, "allow-remote", false, "allow targets outside the loopback")
	f.StringVar(&clientCPUs, "client-cpus", "", "run the load generator on these `CPUs` only (0, 0-1, 0,2), leaving the others to the servers")
	f.BoolVar(&opts.Portable, "portable", false, "use the goroutine-per-connection client even where epoll is available")

	f.StringVar(&opts.Workload, "workload", "", "request mix: photos (the photo site's visitors)")
	f.Uint64Var(&opts.Photos.Seed, "seed", 1, "photos: the dataset's seed; the same seed sends the same requests")
	f.IntVar(&opts.Photos.Users, "users", 100000, "photos: number of seeded users (user000001...)")
	f.IntVar(&opts.Photos.Photos, "photos", 0, "photos: highest photo id (default 15 x users)")
	f.StringVar(&tags, "tags", strings.Join(workload.DefaultTags, ","), "photos: tag names, comma-separated")
	f.Float64Var(&opts.Photos.LoginShare, "login-share", 0.1, "photos: share of visitors who log in")
	f.Float64Var(&opts.Photos.CommentShare, "comment-share", 0.02, "photos: share of visitors who post a comment")
	f.Float64Var(&opts.Photos.Returning, "returning", 0.9, "photos: share of logged-in visitors who come back with an earlier visit's session instead of logging in")
	f.Float64Var(&opts.Photos.PagesPerVisit, "pages-per-visit", 4, "photos: mean pages viewed per visit")
	f.Float64Var(&opts.Photos.Zipf, "zipf", 1.1, "photos: Zipf exponent (>1) of user and photo popularity")
	f.StringVar(&mix, "mix", "front=0.1,user=0.4,photo=0.35,tag=0.15", "photos: weights of the page kinds")
	return cmd
}
