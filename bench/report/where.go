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
	{cpuOutside, "outside the lab", okabeVermilion},
	{record.CPUIdle, "idle", lightGrey},
}

// cpuOutside is the chart's name for the time the machine gave to
// something other than the lab: other processes, and steal.
const cpuOutside = "outside"

// cpuOf is a component's CPU-seconds in w, outsiders included.
func cpuOf(w *record.Where, name string) float64 {
	if name == cpuOutside {
		return w.OutsideCPUS + w.StealS
	}
	return w.CPUS[name]
}

// machineOf is what w's shares are of: the machine's processor time over
// the measurements, or, in a record made before it was kept, the sum of
// the components (which then always adds up to 100%).
func machineOf(w *record.Where) float64 {
	if w.MachineS > 0 {
		return w.MachineS
	}
	total := 0.0
	for _, c := range components {
		total += cpuOf(w, c.name)
	}
	return total
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
	// Records made before the machine's account was kept have no
	// outsiders to show, and are drawn as they always were.
	kept := false
	for _, x := range xs {
		kept = kept || x.Where.MachineS > 0
	}
	for _, comp := range components {
		if comp.name == cpuOutside && !kept {
			continue
		}
		vals := make(plotter.Values, len(xs))
		for i, x := range xs {
			if total := machineOf(x.Where); total > 0 {
				vals[i] = 100 * cpuOf(x.Where, comp.name) / total
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
	// A stage whose parts add up to more than the machine had is drawn as
	// measured, above 100%, and the caption says so: cutting its bar would
	// hide the error.
	p.Y.Min, p.Y.Max = 0, 100
	if top := highestStack(xs); top > 100.5 {
		p.Y.Max = 1.02 * top
	}
	addGrid(p)
	return figure{caption: caption(run) + "\n" + whereNote(xs), draw: func(dc draw.Canvas) {
		// The bars on the left, the legend in a column of its own.
		right := 2.6 * vg.Inch
		p.Draw(draw.Crop(dc, 0, -right, 0, 0))
		lc := draw.Crop(dc, dc.Max.X-dc.Min.X-right+0.15*vg.Inch, 0, 0, -0.5*vg.Inch)
		leg.Draw(lc)
	}}
}

// highestStack is the highest bar of the chart, in percent.
func highestStack(xs []*record.Result) float64 {
	top := 0.0
	for _, x := range xs {
		if total := machineOf(x.Where); total > 0 {
			sum := 0.0
			for _, c := range components {
				sum += cpuOf(x.Where, c.name)
			}
			top = max(top, 100*sum/total)
		}
	}
	return top
}

// whereWarnings are the caption's sentences about stages over-counted or
// measured on a machine they did not have to themselves.
func whereWarnings(xs []*record.Result) string {
	var over, noisy []string
	for _, x := range xs {
		if x.Where.Overcounted() {
			sum := 0.0
			for _, c := range components {
				sum += cpuOf(x.Where, c.name)
			}
			over = append(over, fmt.Sprintf("%s %.0f%%", x.Key(), 100*sum/x.Where.MachineS))
		}
		if x.Where.Noisy > 0 {
			noisy = append(noisy, x.Key())
		}
	}
	var out []string
	if len(over) > 0 {
		out = append(out, "Over-counted, drawn above 100%: "+strings.Join(over, ", ")+".")
	}
	if len(noisy) > 0 {
		out = append(out, fmt.Sprintf("Other processes took more than %.0f%% of the machine during %s.", 100*record.NoisyShare, strings.Join(noisy, ", ")))
	}
	return strings.Join(out, " ")
}

// whereNote says what the chart's shares are of, and the SQL and cache
// work per page view that go with them.
func whereNote(xs []*record.Result) string {
	if w := whereWarnings(xs); w != "" {
		return whereNoteShares(xs) + " " + w
	}
	return whereNoteShares(xs)
}

func whereNoteShares(xs []*record.Result) string {
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
