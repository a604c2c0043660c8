package bench

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/scalelab/scalelab/bench/record"
	"github.com/scalelab/scalelab/stages"
)

// Thresholds are pass/fail criteria for CI, in the spirit of k6's:
// `--threshold 'p99<100ms'` on load, bench and lab. The run is measured and
// its record written whatever happens; then a breached threshold makes the
// command exit 1, and the terminal, the record and the report say which.
// A CI job gates on the exit code without parsing any output.
//
// Grammar: [stage=KEY:]METRIC OP VALUE, where
//   - METRIC is p50, p90, p99, p99.9 or max (latency: VALUE is a duration,
//     "100ms", "2s"), rps (requests per second: a number) or errors (a
//     share of the requests sent with "%", "0.1%", else a count);
//   - OP is <, <=, > or >=;
//   - stage=KEY (bench and lab only) limits it to one stage ("4",
//     "4-noindex"); without it, it applies to every stage measured.

// Threshold is one parsed criterion.
type Threshold struct {
	// Expr is the criterion as the user wrote it.
	Expr string
	// Stage is the stage's key it is limited to, or "".
	Stage  string
	Metric string
	Op     string
	// Limit is in the metric's unit: milliseconds, req/s, a share (0.001
	// for 0.1%) or a count.
	Limit float64
	// Share says errors are compared as a share of the requests sent.
	Share bool
}

// thresholdMetrics are the metrics a threshold may name, for errors.
const thresholdMetrics = "p50, p90, p99, p99.9, max, rps or errors"

// ParseThreshold reads one --threshold expression. Its errors wrap
// ErrUsage and say what a valid one looks like.
func ParseThreshold(expr string) (Threshold, error) {
	t := Threshold{Expr: strings.TrimSpace(expr)}
	bad := func(why string, args ...any) (Threshold, error) {
		return Threshold{}, Usagef("--threshold %q: %s (e.g. 'p99<100ms', 'errors<0.1%%', 'rps>1000', 'stage=4:rps>10000')", expr, fmt.Sprintf(why, args...))
	}
	rest := strings.ReplaceAll(t.Expr, " ", "")
	if scope, crit, ok := strings.Cut(rest, ":"); ok {
		key, found := strings.CutPrefix(scope, "stage=")
		if !found {
			return bad("a scope is written stage=KEY: before the criterion")
		}
		id, noIndex := stages.ParseKey(key)
		st, known := stages.Find(id)
		if !known || (noIndex && st.ID != stages.NoIndex.Stage) {
			return bad("unknown stage %q: use %s, or %s", key, stages.Choices(), stages.Key(stages.NoIndex.Stage, true))
		}
		t.Stage, rest = stages.Key(st.ID, noIndex), crit
	}
	i := strings.IndexAny(rest, "<>")
	if i <= 0 {
		return bad("no comparison: write METRIC<VALUE or METRIC>VALUE")
	}
	t.Metric, t.Op = strings.ToLower(rest[:i]), rest[i:i+1]
	value := rest[i+1:]
	if strings.HasPrefix(value, "=") {
		t.Op, value = t.Op+"=", value[1:]
	}
	if value == "" {
		return bad("no value after %s", t.Op)
	}
	switch t.Metric {
	case "p50", "p90", "p99", "p99.9", "max":
		d, err := time.ParseDuration(value)
		if err != nil || d < 0 {
			return bad("a latency takes a duration with its unit, such as 100ms or 2s, got %q", value)
		}
		t.Limit = float64(d) / float64(time.Millisecond)
	case "rps":
		v, err := strconv.ParseFloat(value, 64)
		if err != nil || v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return bad("rps takes requests per second, such as 1000, got %q", value)
		}
		t.Limit = v
	case "errors":
		num, share := strings.CutSuffix(value, "%")
		v, err := strconv.ParseFloat(num, 64)
		if err != nil || v < 0 || math.IsNaN(v) || math.IsInf(v, 0) || (share && v > 100) {
			return bad("errors takes a share of the requests (0.1%%) or a count (5), got %q", value)
		}
		t.Limit, t.Share = v, share
		if share {
			t.Limit = v / 100
		}
	default:
		return bad("unknown metric %q: use %s", t.Metric, thresholdMetrics)
	}
	return t, nil
}

// ParseThresholds parses every --threshold; nil for none.
func ParseThresholds(exprs []string) ([]Threshold, error) {
	var out []Threshold
	for _, e := range exprs {
		t, err := ParseThreshold(e)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// Measured is what a threshold is checked against: one load, or one
// stage's result over its repeats.
type Measured struct {
	RPS                                float64
	P50Ms, P90Ms, P99Ms, P999Ms, MaxMs float64
	// Errors are failed requests and 5xx responses; Sent the requests
	// sent (answered ones and failed ones).
	Errors, Sent int64
}

// MeasuredOfRecord is what a load record measured.
func MeasuredOfRecord(rec *record.Record) Measured {
	r := rec.Results
	l := r.Latency
	m := Measured{RPS: r.RequestsPerS, P50Ms: l.P50Ms, P90Ms: l.P90Ms, P99Ms: l.P99Ms, P999Ms: l.P999Ms, MaxMs: l.MaxMs, Errors: r.ErrorsTotal}
	// Requests counts every response, 5xx included; the other errors got none.
	m.Sent = r.Requests + r.ErrorsTotal - r.Errors["5xx"]
	return m
}

// MeasuredOfResult is what a stage's result measured over its repeats.
func MeasuredOfResult(x *record.Result) Measured {
	m := Measured{RPS: x.RPS, P50Ms: x.P50Ms, P90Ms: x.P90Ms, P99Ms: x.P99Ms, P999Ms: x.P999Ms, MaxMs: x.MaxMs, Errors: x.Errors, Sent: x.Requests + x.Errors}
	if len(x.Records) > 0 {
		m.Sent = 0
		for _, rec := range x.Records {
			m.Sent += MeasuredOfRecord(rec).Sent
		}
	}
	return m
}

// Check checks the threshold against m.
func (t Threshold) Check(m Measured) record.ThresholdCheck {
	c := record.ThresholdCheck{Expr: t.Expr}
	switch t.Metric {
	case "p50", "p90", "p99", "p99.9", "max":
		c.Value = map[string]float64{"p50": m.P50Ms, "p90": m.P90Ms, "p99": m.P99Ms, "p99.9": m.P999Ms, "max": m.MaxMs}[t.Metric]
		c.Unit = "ms"
	case "rps":
		c.Value, c.Unit = math.Round(m.RPS*100)/100, "req/s"
	case "errors":
		c.Value = float64(m.Errors)
		if t.Share {
			c.Value, c.Unit = 0, "%"
			if m.Sent > 0 {
				c.Value = float64(m.Errors) / float64(m.Sent)
			}
		}
	}
	compared := c.Value
	if c.Unit == "%" {
		c.Value = math.Round(c.Value*1e6) / 1e4 // shown in percent
	}
	switch t.Op {
	case "<":
		c.Pass = compared < t.Limit
	case "<=":
		c.Pass = compared <= t.Limit
	case ">":
		c.Pass = compared > t.Limit
	case ">=":
		c.Pass = compared >= t.Limit
	}
	return c
}

// CheckRun checks each threshold against every main result of run it
// applies to (its stage, or every stage; not a sweep's points). A stage
// named by a threshold whose result measured nothing fails it: a gate
// must not pass on a stage that did not run.
func CheckRun(ts []Threshold, run *record.Run) []record.ThresholdCheck {
	var out []record.ThresholdCheck
	for _, t := range ts {
		for i := range run.Results {
			x := &run.Results[i]
			if x.Sweep || (t.Stage != "" && t.Stage != x.Key()) {
				continue
			}
			var c record.ThresholdCheck
			if x.RPS > 0 {
				c = t.Check(MeasuredOfResult(x))
			} else {
				c = record.ThresholdCheck{Expr: t.Expr, Note: "not measured"}
				if v := x.Verification; v != "" && v != "passed" && v != "skipped" {
					c.Note += " (" + v + ")"
				}
			}
			c.Stage, c.Page, c.Tool = x.Key(), x.Page, x.Tool
			out = append(out, c)
		}
	}
	return out
}

// ThresholdError is the error of a run whose thresholds were breached
// (exit 1): it names them.
func ThresholdError(checks []record.ThresholdCheck) error {
	b := record.Breached(checks)
	if len(b) == 0 {
		return nil
	}
	var names []string
	for _, c := range b {
		names = append(names, c.String())
	}
	return fmt.Errorf("%d threshold check(s) breached: %s", len(b), strings.Join(names, "; "))
}
