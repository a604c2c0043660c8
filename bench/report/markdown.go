package report

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/scalelab/scalelab/bench/record"
)

// Markdown renders report.md: the tables of report.html for a README or a
// pull request, with the charts linked as the PNG files beside it.
func Markdown(run *record.Run, charts []Chart) []byte {
	var b bytes.Buffer
	rs := rows(run)
	fmt.Fprintf(&b, "# Scaling Python on the Web, re-run on %s\n\n", mdEscape(run.Machine.Hostname))
	fmt.Fprintf(&b, "%s\n\n", mdEscape(caption(run)))
	if ws := allWarnings(run, rs); len(ws) > 0 {
		b.WriteString("**Warnings:**\n\n")
		for _, w := range ws {
			fmt.Fprintf(&b, "- %s\n", mdEscape(w))
		}
		b.WriteString("\n")
	}
	b.WriteString("| stage | tool | req/s (median) | interval (confidence, repeats) | × stage 1 (interval) | × stage before (interval) | talk's req/s | talk × stage 1 | talk × stage before | p50 ms | p99 ms | pages a day | errors | verified |\n")
	b.WriteString("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n")
	for _, r := range rs {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			mdEscape(r.Label), r.Tool, rpsCell(r), fmtRange(r), fmtRatio(r.Speedup, r.SpeedupCI), fmtStep(r.Prev, r.PrevCI),
			fmtRPS(r.Talk), fmtTimes(r.TalkSpeedup), fmtTalkStep(r.TalkPrev, r.PrevCI), fmtMs(r.P50), fmtMs(r.P99),
			fmtDay(r.RPS), num(float64(r.Errors)), mdEscape(r.Verification))
	}
	fmt.Fprintf(&b, "\nPages a day are req/s × 86,400 (\"even 40 req/s is 3.4 million pages a day\"). The talk: %s req/s at stage 1, %s with ab at stage 4 (616 with its own tool).\n",
		fmtRPS(TalkStage1), fmtRPS(talkAB))
	if v := indexVerdict(run); v != "" {
		fmt.Fprintf(&b, "\n%s\n", v)
	}
	if es := Explanations(run); len(es) > 0 {
		b.WriteString("\n**Beside the talk, step by step:**\n\n")
		for _, e := range es {
			fmt.Fprintf(&b, "- %s\n", mdEscape(e.Text))
		}
	}
	if cs := costRows(run); len(cs) > 0 {
		b.WriteString("\n**Where the time went** (per page view; CPU per request from /proc, idle share of the machine):\n\n")
		b.WriteString("| stage | SQL statements / view | memcached gets / hits per view | CPU µs / request | most of it | idle | capacity |\n|---|--:|--:|--:|---|--:|---|\n")
		for _, c := range cs {
			sql := "–"
			if c.SQL >= 0 {
				sql = fmt.Sprintf("%.2f", c.SQL)
			}
			fmt.Fprintf(&b, "| %s | %s | %.2f / %.2f | %.0f | %s | %.0f%% | %s |\n", mdEscape(c.Label), sql, c.Gets, c.Hits, c.CPUUs, c.Top, c.Idle, mdEscape(c.Capacity))
		}
	}
	if sec := capacitySection(run); sec != nil {
		b.Write(sec.markdown())
	}
	for _, sec := range []struct {
		title string
		lines []string
	}{{"The fault", faultNotes(run)}, {"Warm-ups", warmupNotes(run)}, {"Writes checked", writeNotes(run)}} {
		if len(sec.lines) > 0 {
			fmt.Fprintf(&b, "\n**%s:**\n\n", sec.title)
			for _, l := range sec.lines {
				fmt.Fprintf(&b, "- %s\n", mdEscape(l))
			}
		}
	}
	b.WriteString("\n")
	for _, c := range charts {
		fmt.Fprintf(&b, "![%s](%s.png)\n\n", mdEscape(c.Title), c.Name)
	}
	m := run.Machine
	fmt.Fprintf(&b, "Machine: %s, %d cores, %d MB, Linux %s, %s, %s, %s, %s. Commit %s.\n",
		mdEscape(m.CPUModel), m.Cores, m.MemoryMB, m.Kernel, m.Go, mdEscape(m.Postgres), m.Nginx, m.Memcached, run.Commit)
	return b.Bytes()
}

// mdEscape keeps a value from breaking a table cell or starting markup.
func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`).Replace(s)
}
