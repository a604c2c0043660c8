package record

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// SaturatedShare is the share of its core limit above which the client is
// reported as the bottleneck of a run.
const SaturatedShare = 0.9

// Warnings returns what a reader of the record must know before trusting
// its figures, one sentence each: chiefly a client that ran out of CPU, in
// which case the req/s measure the tool, not the server.
func (r *Record) Warnings() []string {
	out := append([]string(nil), r.Notes...)
	if r.Results.Interrupted {
		out = append(out, fmt.Sprintf("the run was interrupted after %.1f s", r.Results.Seconds))
	}
	c := r.Results.CPU
	if c.ClientCoreLimit > 0 && c.ClientCores >= SaturatedShare*c.ClientCoreLimit {
		if c.ClientCoreLimit <= 1 {
			out = append(out, fmt.Sprintf("client used %.0f%% of a core: this is a ceiling of the tool, not of the server", 100*c.ClientCores))
		} else {
			out = append(out, fmt.Sprintf("client used %.2f of its %.0f cores: this is a ceiling of the tool, not of the server", c.ClientCores, c.ClientCoreLimit))
		}
	}
	if n := float64(r.Env.CPUs); n > 0 && len(c.Watched) > 0 {
		total := c.ClientCores
		for _, w := range c.Watched {
			total += w.Cores
		}
		if total >= SaturatedShare*n {
			out = append(out, fmt.Sprintf("client and watched processes used %.2f of the machine's %.0f cores: they competed for CPU", total, n))
		}
	}
	if r.Results.Requests == 0 {
		out = append(out, "no request got a response")
	} else if e := r.Results.ErrorsTotal; e*100 >= r.Results.Requests {
		out = append(out, fmt.Sprintf("%d errors (%.1f%% of requests): check the server before reading the latencies", e, 100*float64(e)/float64(r.Results.Requests+e)))
	}
	if r.Results.Late > 0 && r.Settings.Mode == "open" {
		out = append(out, fmt.Sprintf("%d requests could not be sent on time (every connection busy, or the client too slow): the load fell behind its schedule of %.0f per second", r.Results.Late, r.Settings.Rate))
	}
	return out
}

// WriteSummary writes the human summary of a record, the one the terminal
// shows at the end of a run.
func WriteSummary(w io.Writer, r *Record) error {
	s, res := &r.Settings, &r.Results
	var b strings.Builder
	ka := "keep-alive"
	if !s.KeepAlive {
		ka = "a new connection per request"
	}
	mode := fmt.Sprintf("closed loop, %d connections", s.Connections)
	if s.Mode == "open" {
		unit := "req/s"
		if s.Workload != "" {
			unit = "page views and posts/s"
		}
		mode = fmt.Sprintf("open loop at %s %s, up to %d connections", num(s.Rate), unit, s.Connections)
	}
	fmt.Fprintf(&b, "%s: %s, %s, engine %s", r.Tool, mode, ka, s.Engine)
	if s.Workload != "" {
		fmt.Fprintf(&b, ", workload %s", s.Workload)
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "  targets   %s\n", strings.Join(s.Targets, " "))
	fmt.Fprintf(&b, "  requests  %s in %.2f s = %s req/s\n", num(float64(res.Requests)), res.Seconds, num(res.RequestsPerS))
	if res.PageViews > 0 {
		fmt.Fprintf(&b, "  pages     %s page views = %s pages/s\n", num(float64(res.PageViews)), num(res.PageViewsPerS))
	}
	l := res.Latency
	fmt.Fprintf(&b, "  latency   mean %s  p50 %s  p90 %s  p99 %s  p99.9 %s  max %s ms\n",
		ms(l.MeanMs), ms(l.P50Ms), ms(l.P90Ms), ms(l.P99Ms), ms(l.P999Ms), ms(l.MaxMs))
	if st := StallsOf([]*Record{r}); st != nil {
		fmt.Fprintf(&b, "  stalls    %s\n", st)
	}
	fmt.Fprintf(&b, "  status    %s\n", counts(res.Status, "none"))
	fmt.Fprintf(&b, "  errors    %s\n", counts(res.Errors, "none"))
	if s.Mode == "open" {
		fmt.Fprintf(&b, "  late      %s requests could not start on time\n", num(float64(res.Late)))
	}
	fmt.Fprintf(&b, "  bytes     read %s, written %s\n", bytesize(res.BytesRead), bytesize(res.BytesWritten))
	c := res.CPU
	fmt.Fprintf(&b, "  cpu       client %.2f cores (user %.2f s, sys %.2f s)", c.ClientCores, c.ClientUserS, c.ClientSysS)
	if res.Requests > 0 {
		fmt.Fprintf(&b, ", %.2f CPU-s per 100k requests", (c.ClientUserS+c.ClientSysS)*1e5/float64(res.Requests))
	}
	b.WriteString("\n")
	for _, p := range c.Watched {
		fmt.Fprintf(&b, "            %s[%d] %.2f cores (user %.2f s, sys %.2f s)\n", p.Name, p.PID, p.Cores, p.UserS, p.SysS)
	}
	for _, warn := range r.Warnings() {
		fmt.Fprintf(&b, "warning: %s\n", warn)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// counts formats a map of counts as "200: 1,234, 404: 5", sorted by key.
func counts(m map[string]int64, none string) string {
	keys := make([]string, 0, len(m))
	for k, n := range m {
		if n > 0 {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return none
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + num(float64(m[k]))
	}
	return strings.Join(parts, ", ")
}

// num formats a count or rate with thousands separators.
func num(f float64) string {
	s := strconv.FormatInt(int64(f+0.5), 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// ms formats milliseconds with about three significant digits.
func ms(f float64) string {
	switch {
	case f >= 100:
		return strconv.FormatFloat(f, 'f', 0, 64)
	case f >= 10:
		return strconv.FormatFloat(f, 'f', 1, 64)
	}
	return strconv.FormatFloat(f, 'f', 2, 64)
}

func bytesize(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	f, i := float64(n), 0
	for f >= unit && i < 4 {
		f /= unit
		i++
	}
	return fmt.Sprintf("%.1f %cB", f, "kMGT"[i-1])
}
