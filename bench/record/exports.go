package record

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/perf/benchfmt"

	"github.com/scalelab/scalelab/stages"
)

// Exports are the run's figures in the formats other tools read, drawn
// from run.json alone so that `scalelab plot` writes them again for any
// run, old or new:
//
//   - bench.txt, Go's benchmark format, for benchstat: one line per repeat
//     with that repeat's own figures, so benchstat sees the real spread;
//   - summary.csv, one row per result, for spreadsheets and scripts;
//   - latency-<key>-<tool>.hgrm, HdrHistogram's percentile distribution of
//     every request of a result, for HdrHistogram's plotter.
//
// The columns and units are documented in docs/records.md.

// Units of bench.txt. Throughput is a higher-is-better unit of its own
// (benchstat would read ns/op, the Go convention, as a latency); the
// latencies and CPU are in seconds, which benchstat scales (12.3m).
const (
	UnitRPS      = "req/s"
	UnitP50      = "p50-sec"
	UnitP99      = "p99-sec"
	UnitCPUPerRq = "cpu-sec/req"
)

// BenchPkg is bench.txt's pkg line: the lab is one "package" of benchmarks.
const BenchPkg = "scalelab/lab"

// WriteExports writes bench.txt, summary.csv and one .hgrm per result
// with histograms into dir, each atomically, and returns their paths.
func (r *Run) WriteExports(dir string) ([]string, error) {
	files := []struct {
		name string
		b    []byte
	}{{"summary.csv", r.CSV()}, {"bench.txt", r.BenchFmt()}}
	for i := range r.Results {
		x := &r.Results[i]
		if b := x.HGRM(); b != nil {
			files = append(files, struct {
				name string
				b    []byte
			}{x.HGRMName(), b})
		}
	}
	var written []string
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		if err := writeAtomic(p, f.b); err != nil {
			return written, err
		}
		written = append(written, p)
	}
	return written, nil
}

// CSV is summary.csv: one row per result. Every count and time is a total
// over the result's repeats (requests, errors, measured_s, CPU), every rate
// and latency is the result's figure (the median of the repeats' req/s, the
// percentiles of all their requests together), and a value that does not
// apply or was not measured is an empty cell, never a zero.
func (r *Run) CSV() []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write([]string{"stage", "name", "page", "tool", "connections", "rate", "repeats", "measured_s", "requests", "errors",
		"requests_per_s", "page_views_per_s", "p50_ms", "p90_ms", "p99_ms", "p99_9_ms", "max_ms", "client_cpu_s", "server_cpu_s",
		"speedup_over_stage1", "talk_requests_per_s", "talk_speedup", "verification",
		"app_cpu_ms", "app_start_cpu_ms", "speed_probe_ms"})
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	pos := func(x float64) string { // empty unless positive
		if x > 0 {
			return f(x)
		}
		return ""
	}
	for _, x := range r.Results {
		row := []string{x.Key(), x.Name, x.Page, x.Tool, "", pos(x.Rate), "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", x.Verification, "", "", ""}
		if c := x.AppCost; c != nil {
			// A modelled app: its costs, 0 included (a model of no
			// start-up cost is a model all the same).
			row[23], row[24] = f(c.PerRequestMs), f(c.StartMs)
		}
		if x.Where != nil {
			row[25] = pos(round(x.Where.SpeedProbeMs))
		}
		if x.Rate == 0 && x.Connections > 0 {
			row[4] = strconv.Itoa(x.Connections)
		}
		if n := len(positive(x.RPSRuns)); n > 0 {
			row[6], row[7] = strconv.Itoa(n), f(round(x.MeasuredS()))
			row[8], row[9] = strconv.FormatInt(x.Requests, 10), strconv.FormatInt(x.Errors, 10)
			row[10], row[11] = f(round(x.RPS)), pos(round(x.PageViews))
			row[12], row[13], row[14], row[15], row[16] = f(x.P50Ms), f(x.P90Ms), f(x.P99Ms), f(x.P999Ms), f(x.MaxMs)
			row[17], row[18] = pos(round(x.ClientCPUS)), pos(round(x.ServerCPUS))
			if s := r.Speedup(x); s > 0 {
				row[19] = f(round(s))
			}
		}
		if x.TalkRPS > 0 {
			row[20], row[21] = f(x.TalkRPS), f(round(x.TalkRPS/stages.Base().Talk))
		}
		w.Write(row)
	}
	w.Flush()
	return buf.Bytes()
}

// Speedup is x's req/s over stage 1's with the same tool, as the report's
// "vs st.1" column shows it: zero (no figure) for the baselines, which are
// not stages of the site, and when the run has no stage 1 or x measured
// nothing.
func (r *Run) Speedup(x Result) float64 {
	if st, ok := stages.Find(x.Stage); ok && st.Process == stages.Baselines {
		return 0
	}
	if base := r.Stage1RPS(x.Tool); base > 0 && x.RPS > 0 {
		return x.RPS / base
	}
	return 0
}

// MeasuredS is the time the result's repeats measured, all together: the
// records' wall time, or the asked-for duration per repeat for a foreign
// tool, whose records are not kept.
func (x *Result) MeasuredS() float64 {
	if len(x.Records) > 0 {
		var s float64
		for _, rec := range x.Records {
			s += rec.Results.Seconds
		}
		return s
	}
	return x.DurationS * float64(len(positive(x.RPSRuns)))
}

func round(x float64) float64 { return float64(int64(x*100+0.5)) / 100 }

// BenchName is a result's benchmark name in bench.txt, without the
// "Benchmark" prefix: keys benchstat groups and filters by
// ("Stage/stage=4-noindex/tool=scalelab", "/page=static" for a baseline,
// "/conns=64" for a point of a sweep, "/appcpu=7ms" for a stage measured
// with the app modelled: benchstat must not take it for the same stage
// with Go as it is).
func (x *Result) BenchName() string {
	name := "Stage/stage=" + x.Key()
	if x.Page != "" {
		name += "/page=" + benchValue(x.Page)
	}
	name += "/tool=" + benchValue(strings.TrimSuffix(x.Tool, " load"))
	if x.Sweep {
		name += fmt.Sprintf("/conns=%d", x.Connections)
	}
	if x.AppCost != nil {
		name += "/appcpu=" + trimMs(x.AppCost.PerRequestMs) + "ms"
	}
	return name
}

// benchValue makes s a value of a benchmark name's key: no spaces or
// slashes, which would end the key.
func benchValue(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '/' || r == '\t' {
			return '-'
		}
		return r
	}, s)
}

// BenchFmt is bench.txt, written with golang.org/x/perf/benchfmt: the
// machine in the file's configuration (cpu and cores: runs of two machines
// compare with benchstat -ignore cpu,cores), the units' direction (more
// req/s is better), and one line per repeat with that repeat's own req/s,
// p50, p99 and CPU per request (client and the stage's processes), so
// that `benchstat old/bench.txt new/bench.txt` sees each stage's real
// spread. The commit and the run's time are a comment line, not
// configuration: two commits on one machine compare in one table.
func (r *Run) BenchFmt() []byte {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "# scalelab run started %s, commit %s: one line per repeat\n", r.Started.UTC().Format("2006-01-02T15:04:05Z"), r.Commit)
	w := benchfmt.NewWriter(&buf)
	for _, u := range []struct{ unit, better string }{{UnitRPS, "higher"}, {UnitP50, "lower"}, {UnitP99, "lower"}, {UnitCPUPerRq, "lower"}} {
		w.Write(&benchfmt.UnitMetadata{UnitMetadataKey: benchfmt.UnitMetadataKey{Unit: u.unit, Key: "better"}, OrigUnit: u.unit, Value: u.better})
	}
	config := []benchfmt.Config{
		{Key: "goos", Value: []byte(runtime.GOOS), File: true},
		{Key: "goarch", Value: []byte(runtime.GOARCH), File: true},
		{Key: "cpu", Value: []byte(r.Machine.CPUModel), File: true},
		{Key: "cores", Value: []byte(strconv.Itoa(r.Machine.Cores)), File: true},
		{Key: "pkg", Value: []byte(BenchPkg), File: true},
	}
	for i := range r.Results {
		x := &r.Results[i]
		for _, rep := range x.repeats() {
			res := &benchfmt.Result{Config: config, Name: benchfmt.Name(x.BenchName()), Iters: max(rep.requests, 1)}
			res.Values = append(res.Values, benchfmt.Value{Value: round(rep.rps), Unit: UnitRPS})
			if rep.latency {
				res.Values = append(res.Values,
					benchfmt.Value{Value: msToS(rep.p50Ms), Unit: UnitP50},
					benchfmt.Value{Value: msToS(rep.p99Ms), Unit: UnitP99})
			}
			if rep.cpuPerReq > 0 {
				res.Values = append(res.Values, benchfmt.Value{Value: float64(int64(rep.cpuPerReq*1e9+0.5)) / 1e9, Unit: UnitCPUPerRq})
			}
			w.Write(res)
		}
	}
	return buf.Bytes()
}

// msToS turns a latency in milliseconds, recorded to the microsecond,
// into seconds without a binary fraction's tail (0.00105, not
// 0.0010500000000000002).
func msToS(ms float64) float64 { return math.Round(ms*1000) / 1e6 }

// repeat is one measurement of a result, as bench.txt writes it.
type repeat struct {
	requests     int
	rps          float64
	latency      bool
	p50Ms, p99Ms float64
	cpuPerReq    float64
}

// repeats are x's measurements with their own figures: from the load
// generator's records where they are kept, else (a foreign tool) from the
// repeats' req/s, with the result's latency only when there is one repeat
// (a merged percentile copied onto several lines would fake their spread).
func (x *Result) repeats() []repeat {
	var out []repeat
	if len(x.Records) > 0 {
		for _, rec := range x.Records {
			res := rec.Results
			if res.RequestsPerS <= 0 {
				continue
			}
			rp := repeat{requests: int(res.Requests), rps: res.RequestsPerS, latency: true, p50Ms: res.Latency.P50Ms, p99Ms: res.Latency.P99Ms}
			cpu := res.CPU.ClientUserS + res.CPU.ClientSysS
			for _, w := range res.CPU.Watched {
				cpu += w.UserS + w.SysS
			}
			if res.Requests > 0 {
				rp.cpuPerReq = cpu / float64(res.Requests)
			}
			out = append(out, rp)
		}
		return out
	}
	runs := positive(x.RPSRuns)
	for _, rps := range runs {
		out = append(out, repeat{requests: int(rps * x.DurationS), rps: rps, latency: len(runs) == 1, p50Ms: x.P50Ms, p99Ms: x.P99Ms})
	}
	return out
}

// HGRMName is the file of x's latency distribution in a run's folder:
// latency-<key>[-<page>]-<tool>[-c<conns>].hgrm.
func (x *Result) HGRMName() string {
	name := "latency-" + x.Key()
	if x.Page != "" {
		name += "-" + benchValue(x.Page)
	}
	name += "-" + benchValue(strings.TrimSuffix(x.Tool, " load"))
	if x.Sweep {
		name += fmt.Sprintf("-c%d", x.Connections)
	}
	if x.AppCost != nil {
		name += "-app" + trimMs(x.AppCost.PerRequestMs) + "ms"
	}
	return name + ".hgrm"
}

// HGRM is the latency of every request of x's repeats (their histograms
// merged) as HdrHistogram's percentile distribution, in milliseconds, the
// text HdrHistogram's plotter and its other tools read; nil when x kept no
// histogram (a foreign tool, a stage that failed).
func (x *Result) HGRM() []byte {
	var recs []*Record
	for _, rec := range x.Records {
		if h := rec.Results.Latency.Hist; h != nil && h.Histogram != nil && h.TotalCount() > 0 {
			recs = append(recs, rec)
		}
	}
	if len(recs) == 0 {
		return nil
	}
	merged, err := Merge(recs...)
	if err != nil {
		return nil
	}
	return merged.Results.Latency.Hist.HGRM()
}

// HGRM is the histogram's percentile distribution in milliseconds (its
// values are microseconds), five ticks per half distance as HdrHistogram's
// own tools print it.
func (h *Hist) HGRM() []byte {
	var buf bytes.Buffer
	h.PercentilesPrint(&buf, 5, 1000) // a bytes.Buffer takes every write
	return buf.Bytes()
}
