// Package bench is the laboratory's instrument: it loads an HTTP server and
// measures it, without knowing what the server is. Load is the whole of
// `scalelab load`; the parts live in sub-packages:
//   - loadgen: the load generator (closed and open loop, two engines);
//   - workload: visitor mixes, such as the photo site's;
//   - record: the JSON record of a run, its merge and its summary;
//   - procstat: CPU time of the generator and of watched processes.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/scalelab/scalelab/bench/loadgen"
	"github.com/scalelab/scalelab/bench/record"
	"github.com/scalelab/scalelab/bench/workload"
)

// ErrUsage marks errors in LoadOptions: the caller's mistake (exit code 2
// in the CLI), not a failed run.
var ErrUsage = loadgen.ErrUsage

// LoadOptions are the settings of one `scalelab load`. Zero values mean the
// defaults of loadgen.Options unless said otherwise.
type LoadOptions struct {
	// Targets are the URLs to load.
	Targets []string
	// AllowRemote permits targets outside the loopback (127.0.0.0/8, ::1,
	// localhost). Without it such a target is refused: a load test is sent
	// only where the user has said it may go.
	AllowRemote bool

	Connections int
	NoKeepAlive bool
	Duration    time.Duration
	Requests    int64
	Timeout     time.Duration
	Headers     []string
	Rate        float64
	WatchPIDs   []int
	// Portable forces the goroutine-per-connection engine.
	Portable bool

	// Workload is "" (request the targets in turn) or "photos".
	Workload string
	// Photos configures the photos workload.
	Photos workload.Photos

	// Out, when set, is the file the JSON record is written to.
	Out string
	// Thresholds are checked once the load is over: the record keeps the
	// checks, the summary lists them, and Load returns an error naming
	// the breached ones after the record is written.
	Thresholds []Threshold
	// Progress shows a live progress line on Stderr (for terminals).
	Progress bool
	// OnProgress, when set, is called about once a second during the run
	// with the totals so far: the driver watches a warm-up settle with it
	// (and cancels ctx when it has).
	OnProgress func(loadgen.Progress)
	// Stdout gets the summary; Stderr the progress line. Nil discards.
	Stdout, Stderr io.Writer
}

// Load runs a load test as opts say, prints its summary and writes its
// record. It returns the record, and an error wrapping ErrUsage for bad
// options. Cancelling ctx ends the run early; what was measured is still
// reported.
func Load(ctx context.Context, opts LoadOptions) (*record.Record, error) {
	lo, err := opts.loadgenOptions()
	if err != nil {
		return nil, err
	}
	if err := CheckOut(opts.Out); err != nil {
		return nil, err
	}
	stdout, stderr := orDiscard(opts.Stdout), orDiscard(opts.Stderr)
	var bar *progressbar.ProgressBar
	if opts.Progress {
		bar = newProgressBar(stderr, lo)
		var last loadgen.Progress
		lo.Progress = func(p loadgen.Progress) {
			showProgress(bar, lo, p, last)
			last = p
		}
	}
	if opts.OnProgress != nil {
		show := lo.Progress
		lo.Progress = func(p loadgen.Progress) {
			if show != nil {
				show(p)
			}
			opts.OnProgress(p)
		}
	}
	rec, err := loadgen.Run(ctx, lo)
	if bar != nil {
		bar.Clear()
		fmt.Fprint(stderr, "\r\x1b[K")
	}
	if err != nil {
		return nil, err
	}
	for _, t := range opts.Thresholds {
		rec.Thresholds = append(rec.Thresholds, t.Check(MeasuredOfRecord(rec)))
	}
	if opts.Out != "" {
		if err := rec.WriteFile(opts.Out); err != nil {
			return rec, fmt.Errorf("bench: %w", err)
		}
	}
	if rec.Results.Requests == 0 {
		// Nothing to summarise: one line that says so.
		var kinds []string
		for _, k := range sortedKeys(rec.Results.Errors) {
			kinds = append(kinds, fmt.Sprintf("%d %s", rec.Results.Errors[k], k))
		}
		why := "no request sent"
		if len(kinds) > 0 {
			why = "errors: " + strings.Join(kinds, ", ")
		}
		return rec, fmt.Errorf("%w at %s (%s): is the server up?",
			loadgen.ErrUnreachable, strings.Join(opts.Targets, " "), why)
	}
	if err := record.WriteSummary(stdout, rec); err != nil {
		return rec, fmt.Errorf("bench: summary: %w", err)
	}
	for _, c := range rec.Thresholds {
		fmt.Fprintf(stdout, "threshold %s\n", c)
	}
	return rec, ThresholdError(rec.Thresholds)
}

// Usagef returns an error in the caller's options: its text is the
// message alone, for the CLI to print as it is, and it matches ErrUsage.
func Usagef(format string, args ...any) error { return loadgen.Usagef(format, args...) }

// CheckRate checks an open loop's rate of requests per second (0 for a
// closed loop): "scalelab load" and the driver take --rate alike, and a
// NaN or an infinity would otherwise pass every comparison.
func CheckRate(rate float64) error {
	if rate < 0 || math.IsNaN(rate) || math.IsInf(rate, 0) {
		return Usagef("--rate must be a finite number of requests per second (0 for a closed loop), got %g", rate)
	}
	return nil
}

// sortedKeys returns a map's keys in order, for stable messages.
func sortedKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k, n := range m {
		if n > 0 {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// CheckOut checks, before a run, that its record can be written to path:
// its folder exists and takes a new file, and path is not a folder. A
// measurement is never run only to be lost at the end.
func CheckOut(path string) error {
	if path == "" {
		return nil
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return loadgen.Usagef("--out %s is a folder: give a file name, e.g. %s", path, filepath.Join(path, "record.json"))
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".scalelab-probe-*")
	if err != nil {
		return loadgen.Usagef("--out %s cannot be written (%v): choose a file in a folder you can write", path, unwrapPath(err))
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// unwrapPath drops the operation and path of an *os.PathError, which
// the message already names.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// loadgenOptions validates opts and translates them for the generator.
func (opts *LoadOptions) loadgenOptions() (loadgen.Options, error) {
	lo := loadgen.Options{
		Connections: opts.Connections,
		NoKeepAlive: opts.NoKeepAlive,
		Duration:    opts.Duration,
		Requests:    opts.Requests,
		Timeout:     opts.Timeout,
		Headers:     opts.Headers,
		Rate:        opts.Rate,
		WatchPIDs:   opts.WatchPIDs,
		Portable:    opts.Portable,
	}
	if len(opts.Targets) == 0 {
		return lo, loadgen.Usagef("no target URL given")
	}
	for _, s := range opts.Targets {
		u, err := loadgen.ParseTarget(s)
		if err != nil {
			return lo, err
		}
		if !opts.AllowRemote && !loadgen.IsLoopback(u) {
			return lo, loadgen.Usagef("%s is not on the loopback (127.0.0.0/8, ::1, localhost); pass --allow-remote to load another host", u.Host)
		}
		lo.Targets = append(lo.Targets, u)
	}
	switch {
	case opts.Connections < 0:
		return lo, loadgen.Usagef("--connections must be at least 1")
	case CheckRate(opts.Rate) != nil:
		return lo, CheckRate(opts.Rate)
	case opts.Duration < 0:
		return lo, loadgen.Usagef("--duration must not be negative")
	case opts.Requests < 0:
		return lo, loadgen.Usagef("--requests must not be negative")
	case opts.Timeout < 0:
		return lo, loadgen.Usagef("--timeout must not be negative")
	}
	switch opts.Workload {
	case "":
	case "photos":
		w := opts.Photos
		if err := w.Check(); err != nil {
			return lo, loadgen.Usagef("%v", err)
		}
		lo.Workload, lo.WorkloadName = &w, "photos"
		lo.Params = map[string]string{
			"seed":            strconv.FormatUint(w.Seed, 10),
			"users":           strconv.Itoa(w.Users),
			"photos":          strconv.Itoa(w.Photos),
			"tags":            strings.Join(w.Tags, ","),
			"login_share":     fmt.Sprint(w.LoginShare),
			"comment_share":   fmt.Sprint(w.CommentShare),
			"returning":       fmt.Sprint(w.Returning),
			"pages_per_visit": fmt.Sprint(w.PagesPerVisit),
			"zipf":            fmt.Sprint(w.Zipf),
			"mix":             fmt.Sprintf("front=%g,user=%g,photo=%g,tag=%g", w.Mix.Front, w.Mix.User, w.Mix.Photo, w.Mix.Tag),
		}
	default:
		return lo, loadgen.Usagef("unknown workload %q (known: photos)", opts.Workload)
	}
	return lo, nil
}

// newProgressBar draws the run's progress against its duration, or against
// its request count when it has no duration.
func newProgressBar(w io.Writer, lo loadgen.Options) *progressbar.ProgressBar {
	max := int64(lo.Duration / time.Second)
	switch {
	case lo.Duration == 0 && lo.Requests == 0:
		max = int64(loadgen.DefaultDuration / time.Second)
	case lo.Duration == 0:
		max = lo.Requests
	}
	return progressbar.NewOptions64(max,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetWidth(20),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionShowDescriptionAtLineEnd(),
		progressbar.OptionClearOnFinish(),
	)
}

// showProgress updates the bar: totals, and rates over the last interval.
func showProgress(bar *progressbar.ProgressBar, lo loadgen.Options, p, last loadgen.Progress) {
	dt := (p.Elapsed - last.Elapsed).Seconds()
	desc := fmt.Sprintf("%.0f s  %d requests  %.0f req/s  %d errors",
		p.Elapsed.Seconds(), p.Requests, float64(p.Requests-last.Requests)/dt, p.Errors)
	if p.PageViews > 0 {
		desc += fmt.Sprintf("  %.0f pages/s", float64(p.PageViews-last.PageViews)/dt)
	}
	bar.Describe(desc)
	if lo.Duration == 0 && lo.Requests > 0 {
		bar.Set64(p.Requests)
	} else {
		bar.Set64(int64(p.Elapsed / time.Second))
	}
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}
