package report

import (
	"fmt"
	"image/color"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/scalelab/scalelab/bench/record"
)

// components are stacked in this order, with these colours (the same
// palette as the stages; a component is not a stage, so the legend names
// every colour).
var components = []struct {
	name  string
	short string
	color color.Color
}{
	{record.CPUClient, "load generator", grey},
	{record.CPUNginx, "nginx", okabeGreen},
	{record.CPUApp, "app servers", okabeSkyBlue},
	{record.CPUServe, "Go server / CGI", okabeOrange},
	{record.CPUPostgres, "PostgreSQL", okabeBlue},
	{record.CPUMemcached, "memcached", okabePurple},
	{record.CPUIdle, "idle", lightGrey},
}

type legendEntry struct {
	name  string
	thumb plot.Thumbnailer
}

// whereSeries are the results that recorded where the CPU went.
func whereSeries(run *record.Run) []*record.Result {
	var out []*record.Result
	for _, x := range append(baselines(run), stageResults(run, BuiltinTool)...) {
		if x.Where != nil && len(x.Where.CPUS) > 0 {
			out = append(out, x)
		}
	}
	return out
}

// whereFigure is "where the CPU went": for each stage, the share of the
// machine's processor time (cores × wall time of the measurements) each
// component used, idle included, so that a stage that cannot use every
// core shows it, and stage 1's time in process start-ups, stage 2's one
// busy core and stage 4's nginx and memcached are seen at a glance.
func whereFigure(run *record.Run) figure {
	xs := whereSeries(run)
	p := newPlot("Where the CPU went", "", "share of the machine's processor time (%)")
	names := make([]string, len(xs))
	for i, x := range xs {
		names[i] = strings.Replace(tickName(x), "stage 0\nbaseline", "stage 0", 1)
		if isBaseline(x) {
			names[i] = "baseline\n" + x.Page
		}
	}
	w := vg.Points(300 / float64(max(4, len(xs))))
	var below *plotter.BarChart
	var thumbs []legendEntry
	for _, comp := range components {
		vals := make(plotter.Values, len(xs))
		for i, x := range xs {
			total := 0.0
			for _, v := range x.Where.CPUS {
				total += v
			}
			if total > 0 {
				vals[i] = 100 * x.Where.CPUS[comp.name] / total
			}
		}
		bc, err := plotter.NewBarChart(vals, w)
		if err != nil {
			continue
		}
		bc.Color = comp.color
		bc.LineStyle.Width = 0
		if below != nil {
			bc.StackOn(below)
		}
		below = bc
		p.Add(bc)
		thumbs = append(thumbs, legendEntry{comp.short, bc})
	}
	// The legend lists the components top down, as they are stacked.
	leg := plot.NewLegend()
	leg.TextStyle = p.Legend.TextStyle
	leg.Top, leg.Left = true, true
	for i := len(thumbs) - 1; i >= 0; i-- {
		leg.Add(thumbs[i].name, thumbs[i].thumb)
	}
	p.NominalX(names...)
	p.Y.Min, p.Y.Max = 0, 100
	addGrid(p)
	return figure{caption: caption(run) + "\n" + whereNote(xs), draw: func(dc draw.Canvas) {
		// The bars on the left, the legend in a column of its own.
		right := 2.6 * vg.Inch
		p.Draw(draw.Crop(dc, 0, -right, 0, 0))
		lc := draw.Crop(dc, dc.Max.X-dc.Min.X-right+0.15*vg.Inch, 0, 0, -0.5*vg.Inch)
		leg.Draw(lc)
	}}
}

// whereNote says what the chart's shares are of, and the SQL and cache
// work per page view that go with them.
func whereNote(xs []*record.Result) string {
	var parts []string
	for _, x := range xs {
		if isBaseline(x) || x.Where.SQLPerView < 0 {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %.2f", x.Key(), x.Where.SQLPerView))
	}
	if len(parts) == 0 {
		return "Shares of cores × wall time of the measurements, from /proc; CGI programs count through their host's reaped children."
	}
	return "SQL statements per page view: " + strings.Join(parts, ", ") + ". Shares of cores × wall time, from /proc."
}

// costRow is what a page view cost a stage: the report's "where the time
// went" table.
type costRow struct {
	Label string
	// SQL, Gets and Hits are per page view; SQL is -1 when not counted.
	SQL, Gets, Hits float64
	// CPUUs is the CPU-microseconds per request of everything but idle;
	// Top names the component that used most of it.
	CPUUs float64
	Top   string
	// Idle is the machine's idle share (%) during the measurements.
	Idle float64
	// Capacity says the capacity found at the latency goal, if searched.
	Capacity string
}

// costRows lists the results that recorded where the time went.
func costRows(run *record.Run) []costRow {
	var out []costRow
	for _, x := range whereSeries(run) {
		w := x.Where
		r := costRow{Label: longName(x), SQL: w.SQLPerView, Gets: w.MCGetsPerView, Hits: w.MCHitsPerView}
		var total, top float64
		for k, v := range w.CPUS {
			total += v
			if k == record.CPUIdle {
				continue
			}
			r.CPUUs += w.CPUUsPerRequest[k]
			if v > top {
				top, r.Top = v, shortComponent(k)
			}
		}
		if total > 0 {
			r.Idle = 100 * w.CPUS[record.CPUIdle] / total
		}
		if c := x.Capacity; c != nil {
			at := ""
			if c.AtLeast {
				at = "≥ "
			}
			r.Capacity = fmt.Sprintf("%s%s views/s at %s (%s pages a day)", at, short(c.Rate), c.SLO, fmtDay(c.Rate))
		}
		out = append(out, r)
	}
	return out
}

func shortComponent(name string) string {
	for _, c := range components {
		if c.name == name {
			return c.short
		}
	}
	return name
}
