package report

import (
	"cmp"
	"fmt"
	"image/color"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/scalelab/scalelab/bench/model"
	"github.com/scalelab/scalelab/bench/record"
	"github.com/scalelab/scalelab/stages"
)

// Chart is one chart of a run: Name is the file name without extension
// (the chart is written as Name.png and Name.svg), Title what the report
// calls it.
type Chart struct {
	Name  string
	Title string
	fig   figure
}

// PNG renders the chart as a PNG image of 1600 x 900 pixels.
func (c Chart) PNG() ([]byte, error) { return c.fig.PNG() }

// SVG renders the chart as an SVG image of 720 x 405 points.
func (c Chart) SVG() ([]byte, error) { return c.fig.SVG() }

// Charts returns the charts a run's records can draw: throughput by stage
// with the speed-ups beside the talk's, the orders of magnitude, the
// latency distributions and the timeline. A chart with nothing to draw
// (no stage measured, no histogram) is left out.
func Charts(run *record.Run) []Chart {
	var out []Chart
	if measured(stageResults(run, BuiltinTool)) {
		out = append(out, Chart{"throughput", "Throughput by stage, and the speed-up over stage 1 beside the talk's", throughputFigure(run)})
	}
	if measured(append(baselines(run), stageResults(run, BuiltinTool)...)) {
		out = append(out, Chart{"magnitudes", "Orders of magnitude: the baselines beside the stages", magnitudesFigure(run)})
	}
	if len(latencySeries(run)) > 0 {
		out = append(out, Chart{"latency", "Latency distribution per stage", latencyFigure(run, latencySeries(run))})
	}
	if len(whereSeries(run)) > 0 {
		out = append(out, Chart{"where", "Where the CPU went, per stage", whereFigure(run)})
	}
	a := capacityModel(run)
	if a != nil {
		out = append(out, Chart{"scaleout", "Predicted throughput with more cores, from this run's CPU per request", scaleoutFigure(run, a)})
	}
	if len(sweeps(run)) > 0 {
		title := "Throughput against concurrency: where each stage saturates"
		if a != nil {
			title += ", and the model's MVA (dashed)"
		}
		out = append(out, Chart{"concurrency", title, concurrencyFigure(run)})
	}
	if hasTimeline(run) {
		out = append(out, Chart{"timeline", "Timeline of the run", timelineFigure(run)})
	}
	if x := faulted(run); x != nil {
		out = append(out, Chart{"fault", "The fault: the dip and the recovery", faultFigure(run, x)})
	}
	if len(crossoverSeries(run)) > 0 {
		out = append(out, Chart{"crossover", "The crossover: when a load balancer pays, against the app's cost", crossoverFigure(run)})
	}
	return out
}

// measured says whether any of xs has a throughput to draw (a stage that
// failed verification has none).
func measured(xs []*record.Result) bool {
	for _, x := range xs {
		if x.RPS > 0 {
			return true
		}
	}
	return false
}

// tickName is a stage's name under its bar: "stage 4" over "no index",
// from the table's names short enough to fit.
func tickName(x *record.Result) string {
	name := x.Name
	if st, ok := stages.Find(x.Stage); ok && !x.NoIndex && st.Tick != "" {
		name = st.Tick
	}
	if isTalksNoIndex(x.Key()) {
		name = "no index"
	}
	return "stage " + x.Stage + "\n" + name
}

// longName names a result in one line: "static file (nginx)", "stage 2
// app server", "stage 4 without index".
func longName(x *record.Result) string {
	switch {
	case x.Stage == "":
		return x.Name // a load of scalelab load, not a stage
	case isBaseline(x):
		return label(x)
	case isTalksNoIndex(x.Key()):
		return "stage " + x.Stage + " without index"
	}
	return "stage " + label(x)
}

// times formats a speed-up: 1.0×, 27×, 340×.
func times(v float64) string { return trim(v) + "×" }

// throughputFigure is the talk in one picture: this run's req/s per stage
// (left) and, since twenty years of hardware make absolute numbers
// incomparable, the speed-up over stage 1 beside the talk's (right).
func throughputFigure(run *record.Run) figure {
	xs := stageResults(run, BuiltinTool)
	left := newPlot("Requests per second by stage", "", "req/s, log scale (whiskers: the median's interval)")
	var bs []bar
	var names []string
	for i, x := range xs {
		var lo, hi float64
		if iv := x.RPSInterval(); iv.Known() {
			lo, hi = iv.Lo, iv.Hi
		}
		c := StageColor(x.Key())
		bs = append(bs, bar{pos: float64(i), value: x.RPS, lo: lo, hi: hi, fill: c, line: c, label: short(x.RPS)})
		names = append(names, tickName(x))
	}
	addBars(left, &bars{bars: bs, width: 0.6}, names)

	b1 := run.Stage1(BuiltinTool)
	var right *plot.Plot
	if b1 != nil && b1.RPS > 0 {
		right = newPlot("Speed-up over stage 1, beside the talk's", "", "times stage 1's req/s, log scale (whiskers: interval)")
		var sb []bar
		for i, x := range xs {
			c := StageColor(x.Key())
			if x.RPS > 0 {
				v, lo, hi := x.RPS/b1.RPS, 0.0, 0.0
				if iv := run.Ratio(x, b1); iv.Known() && x != b1 {
					v, lo, hi = iv.Center, iv.Lo, iv.Hi
				}
				sb = append(sb, bar{pos: float64(i) - 0.2, value: v, lo: lo, hi: hi, fill: c, line: c, label: times(v)})
			}
			if t := talkRPS(x); t > 0 {
				sb = append(sb, bar{pos: float64(i) + 0.2, value: t / TalkStage1, line: c, label: times(t / TalkStage1)})
			}
		}
		addBars(right, &bars{bars: sb, width: 0.38}, names)
		right.Legend.Add("this run", swatch{fill: grey, line: grey})
		right.Legend.Add("the talk (2007)", swatch{line: grey})
		right.Legend.Left = true
	}
	return figure{caption: caption(run), draw: func(dc draw.Canvas) {
		if right == nil {
			left.Draw(dc)
			return
		}
		drawRow(dc, left, right)
	}}
}

// addBars puts bars on a plot with the category names under them and a
// log value axis from the decade below the smallest value to well above
// the largest, leaving room for the values written on top.
func addBars(p *plot.Plot, b *bars, names []string) {
	grid := plotter.NewGrid()
	grid.Vertical.Color = nil
	grid.Horizontal.Color = lightGrey
	if b.horizontal {
		grid.Horizontal.Color, grid.Vertical.Color = nil, lightGrey
	}
	p.Add(grid, b)
	lo, hi := valueRange(b.bars)
	cat, val := &p.X, &p.Y
	top := hi * 3
	if b.horizontal {
		cat, val = &p.Y, &p.X
		top = hi * 6 // the value is written to the right of the bar
	}
	// A third of the smallest value: the shortest bar is still a bar.
	logAxis(val, decadeBelow(lo/3), top)
	cat.Tick.Marker = categoryTicks(names)
	cat.Min, cat.Max = -0.6, float64(len(names))-0.4
	cat.Tick.Length = 0
}

// addGrid draws light grid lines at a plot's labelled ticks, both ways.
func addGrid(p *plot.Plot) {
	grid := plotter.NewGrid()
	grid.Vertical.Color, grid.Horizontal.Color = lightGrey, lightGrey
	p.Add(grid)
}

// drawRow draws plots side by side with their axes aligned.
func drawRow(dc draw.Canvas, ps ...*plot.Plot) {
	tiles := draw.Tiles{Rows: 1, Cols: len(ps), PadX: vg.Inch / 4, PadTop: 6, PadBottom: 4, PadLeft: 6, PadRight: 10}
	cs := plot.Align([][]*plot.Plot{ps}, tiles, dc)
	for j, p := range ps {
		p.Draw(cs[0][j])
	}
}

// drawColumn draws plots one above the other with their axes aligned.
func drawColumn(dc draw.Canvas, ps ...*plot.Plot) {
	rows := make([][]*plot.Plot, len(ps))
	for i, p := range ps {
		rows[i] = []*plot.Plot{p}
	}
	tiles := draw.Tiles{Rows: len(ps), Cols: 1, PadY: 4, PadTop: 6, PadBottom: 4, PadLeft: 6, PadRight: 14}
	cs := plot.Align(rows, tiles, dc)
	for i, p := range ps {
		p.Draw(cs[i][0])
	}
}

// magnitudesFigure puts stage 0's three baselines (static, dynamic, one
// query) on the same log axis as the site's stages: how far below a
// static file a real page sits, and how much of that the cache wins back.
func magnitudesFigure(run *record.Run) figure {
	xs := append(baselines(run), stageResults(run, BuiltinTool)...)
	p := newPlot("Orders of magnitude: the baselines beside the stages", "requests per second (log scale)", "")
	var bs []bar
	names := make([]string, len(xs))
	for i, x := range xs {
		pos := float64(len(xs) - 1 - i) // the first at the top
		c := StageColor(x.Key())
		lo, hi := spread(x)
		bs = append(bs, bar{pos: pos, value: x.RPS, lo: lo, hi: hi, fill: c, line: c, label: short(x.RPS) + " req/s"})
		names[int(pos)] = longName(x)
	}
	addBars(p, &bars{bars: bs, width: 0.65, horizontal: true}, names)
	return figure{caption: caption(run), draw: func(dc draw.Canvas) { drawRow(dc, p) }}
}

// latencySeries are the results that have histograms, baselines first.
func latencySeries(run *record.Run) []*record.Result {
	var out []*record.Result
	for _, x := range append(baselines(run), stageResults(run, BuiltinTool)...) {
		if mergedHist(x) != nil {
			out = append(out, x)
		}
	}
	return out
}

// percentileTicks label the latency chart's x axis, where lg(v) stands
// for the percentile 100 × (1 − 1/v): HdrHistogram's layout, which gives
// the tail (99%, 99.9%, 99.99%) as much room as the body.
var percentileTicks = plot.TickerFunc(func(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	for _, t := range []struct {
		v float64
		l string
	}{{1, "0%"}, {2, "50%"}, {10, "90%"}, {100, "99%"}, {1000, "99.9%"}, {10000, "99.99%"}} {
		if at := lg(t.v); at >= lo && at <= hi {
			ticks = append(ticks, plot.Tick{Value: at, Label: t.l})
		}
	}
	return ticks
})

// dashes tell the three baselines apart: they share stage 0's colour.
var dashes = map[string][]vg.Length{"static": {2, 3}, "dynamic": {8, 4}, "query": {12, 3, 2, 3}}

// latencyFigure draws, for each stage, the latency at every percentile
// from p0 to p99.99 (or as far as the requests counted reach) from the
// stage's merged histograms.
func latencyFigure(run *record.Run, series []*record.Result) figure {
	p := newPlot("Latency by percentile, per stage", "percentile (log scale of 1/(1 − p))", "latency (ms, log scale)")
	addGrid(p)
	lo, hi := math.Inf(1), 0.0
	for _, x := range series {
		h := mergedHist(x)
		// With n requests, percentiles beyond 1 − 1/n are all the maximum.
		end := math.Min(1e4, float64(h.TotalCount()))
		var xys plotter.XYs
		const steps = 160
		for i := 0; i <= steps; i++ {
			v := math.Pow(end, float64(i)/steps)
			q := 100 * (1 - 1/v)
			ms := float64(h.ValueAtQuantile(q)) / 1000
			if ms <= 0 {
				continue
			}
			xys = append(xys, plotter.XY{X: lg(v), Y: lg(ms)})
			lo, hi = math.Min(lo, ms), math.Max(hi, ms)
		}
		if len(xys) == 0 {
			continue
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			continue
		}
		l.Color = StageColor(x.Key())
		l.Width = 2.5
		if isBaseline(x) {
			l.Width = 1.5
			l.Dashes = dashes[x.Page]
		}
		p.Add(l)
		p.Legend.Add(longName(x), l)
	}
	if hi == 0 {
		lo, hi = 1, 10
	}
	p.X.Tick.Marker = percentileTicks
	p.X.Min, p.X.Max = 0, 4 // lg(1) to lg(1e4): p0 to p99.99
	logAxis(&p.Y, decadeBelow(lo), decadeAbove(hi))
	// Bottom right: latencies rise to the right, so that corner is empty.
	p.Legend.Top = false
	return figure{caption: caption(run), draw: func(dc draw.Canvas) { drawRow(dc, p) }}
}

func hasTimeline(run *record.Run) bool {
	for _, x := range run.Results {
		for _, r := range x.Records {
			if len(r.Results.Timeline) > 0 {
				return true
			}
		}
	}
	return false
}

// timelineFigure draws every measured second of the run in the order it
// happened: req/s, errors per second and the p99 latency of each second,
// one segment per repeat in its stage's colour. It shows what a median
// hides: a slow start, a stall, errors in bursts. A second with no
// response has no logarithm: it is drawn on the req/s panel's floor with a
// cross, so that the line falls to it rather than joining the seconds on
// either side, and the stalled seconds (see record.Stalls) are shaded
// across the panels. A second without a p99 breaks the p99 line.
func timelineFigure(run *record.Run) figure {
	rps := newPlot("Timeline of the run: every measured second", "", "req/s (log)")
	errs := newPlot("", "", "errors/s")
	p99 := newPlot("", "seconds since the run started", "p99 (ms, log)")
	var shade shading
	for _, p := range []*plot.Plot{rps, errs, p99} {
		p.Add(&shade)
		addGrid(p)
	}
	start := run.Started
	rlo, rhi, plo, phi, ehi := math.Inf(1), 0.0, math.Inf(1), 0.0, 0.0
	tmin, tmax := math.Inf(1), 0.0
	// The seconds of each measurement, by stage, to label them.
	type span struct {
		key      string
		from, to float64
	}
	var spans []span
	// The req/s lines and the seconds with no response, placed on the
	// floor once it is known.
	type series struct {
		xys   plotter.XYs
		zeros []int // indexes in xys of seconds with no response
		c     color.Color
	}
	var lines []series
	for i := range run.Results {
		x := &run.Results[i]
		c := StageColor(x.Key())
		stalls := x.Stalls
		if stalls == nil {
			stalls = record.StallsOf(x.Records)
		}
		stalled := map[[2]int]bool{}
		if stalls != nil {
			for _, s := range stalls.Seconds {
				stalled[[2]int{s.Repeat, s.T}] = true
			}
		}
		for ri, r := range x.Records {
			off := r.Started.Sub(start).Seconds()
			if start.IsZero() || off < 0 {
				off = 0
			}
			// Older records leave out the seconds without a response:
			// every second up to the run's end is drawn, missing ones as
			// zeros.
			byT := map[int]record.Second{}
			n := int(math.Ceil(r.Results.Seconds))
			for _, s := range r.Results.Timeline {
				byT[s.T] = s
				n = max(n, s.T+1)
			}
			var rx series
			rx.c = c
			var ex plotter.XYs
			var px []plotter.XYs
			var seg plotter.XYs
			for t := 0; t < n; t++ {
				s := byT[t]
				// The last second is usually a sliver: its rate is noise.
				d := math.Min(1, r.Results.Seconds-float64(t))
				if d < 0.5 {
					continue
				}
				at := off + float64(t) + d/2
				if stalled[[2]int{ri + 1, t}] {
					shade.add(off+float64(t), off+float64(t)+d)
				}
				if v := float64(s.Requests) / d; v > 0 {
					rx.xys = append(rx.xys, plotter.XY{X: at, Y: lg(v)})
					rlo, rhi = math.Min(rlo, v), math.Max(rhi, v)
				} else {
					rx.zeros = append(rx.zeros, len(rx.xys))
					rx.xys = append(rx.xys, plotter.XY{X: at})
				}
				ev := float64(s.Errors) / d
				ex = append(ex, plotter.XY{X: at, Y: ev})
				ehi = math.Max(ehi, ev)
				if s.P99Ms > 0 {
					seg = append(seg, plotter.XY{X: at, Y: lg(s.P99Ms)})
					plo, phi = math.Min(plo, s.P99Ms), math.Max(phi, s.P99Ms)
				} else if len(seg) > 0 {
					px, seg = append(px, seg), nil
				}
				tmin, tmax = math.Min(tmin, at), math.Max(tmax, at)
			}
			px = append(px, seg)
			lines = append(lines, rx)
			addLine(errs, ex, c)
			for _, seg := range px {
				addLine(p99, seg, c)
			}
			if len(rx.xys) > 0 {
				spans = append(spans, span{x.Key(), rx.xys[0].X, rx.xys[len(rx.xys)-1].X})
			}
		}
	}
	if rhi == 0 {
		rlo, rhi = 1, 10
	}
	if phi == 0 {
		plo, phi = 1, 10
	}
	if len(shade.spans) > 0 {
		rps.Title.Text += " (shaded: stalled)"
	}
	floor := decadeBelow(rlo)
	zeros := false
	for _, l := range lines {
		zeros = zeros || len(l.zeros) > 0
	}
	if zeros && floor > rlo/2 {
		// The floor stands for zero: keep it clear of the slowest second
		// that did answer.
		floor /= 10
	}
	for _, l := range lines {
		var zs plotter.XYs
		for _, i := range l.zeros {
			l.xys[i].Y = lg(floor)
			zs = append(zs, l.xys[i])
		}
		addLine(rps, l.xys, l.c)
		if len(zs) > 0 {
			if sc, err := plotter.NewScatter(zs); err == nil {
				sc.GlyphStyle = draw.GlyphStyle{Color: l.c, Radius: vg.Points(4), Shape: draw.CrossGlyph{}}
				rps.Add(sc)
			}
		}
	}
	logAxis(&rps.Y, floor, rhi*8)
	if zeros {
		rps.Y.Tick.Marker = zeroFloor{rps.Y.Tick.Marker, lg(floor)}
	}
	logAxis(&p99.Y, decadeBelow(plo), decadeAbove(phi))
	errs.Y.Min, errs.Y.Max = 0, math.Max(1, ehi*1.1)
	// Name each stage above its seconds, in its colour: a legend would
	// hide the lines.
	// A stage's repeats measured one after another are one label; in
	// interleaved rounds each round's measurement has its own.
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.from, b.from) })
	var merged []span
	for _, sp := range spans {
		if n := len(merged); n > 0 && merged[n-1].key == sp.key {
			merged[n-1].to = math.Max(merged[n-1].to, sp.to)
			continue
		}
		merged = append(merged, sp)
	}
	for _, sp := range merged {
		name, y := sp.key, lg(rhi*3)
		if isTalksNoIndex(sp.key) {
			// A line lower: its long name would cover the label of
			// stage 4 just before it.
			name, y = strings.TrimSuffix(sp.key, stages.NoIndex.Suffix)+" no index", lg(rhi)
		}
		rps.Add(&note{x: (sp.from + sp.to) / 2, y: y, text: name, color: StageColor(sp.key)})
	}
	if tmax == 0 {
		tmin, tmax = 0, 1
	}
	for _, p := range []*plot.Plot{rps, errs, p99} {
		p.X.Min, p.X.Max = math.Max(0, tmin-2), tmax+2
	}
	// The panels share their time axis: only the bottom one labels it.
	for _, p := range []*plot.Plot{rps, errs} {
		p.X.Tick.Marker = unlabelled{plot.DefaultTicks{}}
	}
	return figure{caption: caption(run), draw: func(dc draw.Canvas) { drawColumn(dc, rps, errs, p99) }}
}

// zeroFloor labels the floor of a log axis "0": the seconds with no
// response are drawn there.
type zeroFloor struct {
	plot.Ticker
	at float64
}

func (z zeroFloor) Ticks(lo, hi float64) []plot.Tick {
	ts := z.Ticker.Ticks(lo, hi)
	for i := range ts {
		if math.Abs(ts[i].Value-z.at) < 1e-9 {
			ts[i].Label = "0"
		}
	}
	return ts
}

// stallShade is the colour of a stalled second: light enough that the
// lines over it stay readable.
var stallShade = color.RGBA{R: 0xF6, G: 0xD5, B: 0xD5, A: 0xFF}

// shading shades spans of the time axis, the full height of a panel: the
// stalled seconds. It is added before the grid and lines, to lie beneath.
type shading struct{ spans [][2]float64 }

// add shades from..to, joined to the span before when they touch: two
// rectangles side by side would leave a seam.
func (s *shading) add(from, to float64) {
	if n := len(s.spans); n > 0 && math.Abs(s.spans[n-1][1]-from) < 1e-6 {
		s.spans[n-1][1] = to
		return
	}
	s.spans = append(s.spans, [2]float64{from, to})
}

// Plot implements plot.Plotter.
func (s *shading) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	for _, sp := range s.spans {
		x0, x1 := max(trX(sp[0]), c.Min.X), min(trX(sp[1]), c.Max.X)
		if x1 <= x0 {
			continue
		}
		c.FillPolygon(stallShade, []vg.Point{{X: x0, Y: c.Min.Y}, {X: x1, Y: c.Min.Y}, {X: x1, Y: c.Max.Y}, {X: x0, Y: c.Max.Y}})
	}
}

func addLine(p *plot.Plot, xys plotter.XYs, c color.Color) {
	if len(xys) == 0 {
		return
	}
	l, err := plotter.NewLine(xys)
	if err != nil {
		return
	}
	l.Color, l.Width = c, 2
	p.Add(l)
	if len(xys) == 1 {
		s, err := plotter.NewScatter(xys)
		if err == nil {
			s.Color = c
			p.Add(s)
		}
	}
}

// unlabelled keeps a ticker's marks and drops their labels.
type unlabelled struct{ plot.Ticker }

func (u unlabelled) Ticks(lo, hi float64) []plot.Tick {
	ts := u.Ticker.Ticks(lo, hi)
	for i := range ts {
		ts[i].Label = ""
	}
	return ts
}

// note is a text written at a data point, centred, in a colour.
type note struct {
	x, y  float64
	text  string
	color color.Color
}

// Plot implements plot.Plotter.
func (n *note) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	st := textStyle(sansBold, valueSize, n.color)
	st.XAlign, st.YAlign = draw.XCenter, draw.YCenter
	c.FillText(st, vg.Point{X: trX(n.x), Y: trY(n.y)}, n.text)
}

// chartError says which chart failed to render.
func chartError(name string, err error) error {
	return fmt.Errorf("chart %s: %w", name, err)
}

// sweep is one stage's throughput at each connection count measured.
type sweep struct {
	stage  string
	points []*record.Result // by connections, ascending
}

// sweeps gathers the points of a concurrency sweep (scalelab bench
// --sweep) with each stage's main closed-loop result, stage by stage in
// the talk's order; nil when the run has no sweep.
func sweeps(run *record.Run) []sweep {
	any := false
	for _, x := range run.Results {
		any = any || x.Sweep
	}
	if !any {
		return nil
	}
	byStage := map[string][]*record.Result{}
	var order []string
	for i := range run.Results {
		x := &run.Results[i]
		if x.Tool != BuiltinTool || isBaseline(x) || x.Page != "" || x.Rate > 0 || x.Connections <= 0 || x.RPS <= 0 {
			continue
		}
		if _, ok := byStage[x.Key()]; !ok {
			order = append(order, x.Key())
		}
		byStage[x.Key()] = append(byStage[x.Key()], x)
	}
	slices.SortStableFunc(order, func(a, b string) int { return stageOrder(a) - stageOrder(b) })
	var out []sweep
	for _, id := range order {
		pts := byStage[id]
		// The main result first, so that it wins over a sweep point
		// measured at the same count.
		slices.SortStableFunc(pts, func(a, b *record.Result) int {
			if a.Connections != b.Connections {
				return a.Connections - b.Connections
			}
			if a.Sweep != b.Sweep && !a.Sweep {
				return -1
			}
			return 0
		})
		pts = slices.CompactFunc(pts, func(a, b *record.Result) bool { return a.Connections == b.Connections })
		if len(pts) > 1 {
			out = append(out, sweep{stage: id, points: pts})
		}
	}
	return out
}

// concurrencyFigure draws req/s against the number of connections, one
// line per stage: a stage's curve flattens where it saturates, and the
// talk's stages saturate at very different loads.
func concurrencyFigure(run *record.Run) figure {
	model := capacityModel(run)
	drewModel := false
	p := newPlot("Throughput against concurrency: where each stage saturates", "connections (log scale)", "requests per second (log scale)")
	addGrid(p)
	lo, hi := math.Inf(1), 0.0
	conns := map[int]bool{}
	for _, sw := range sweeps(run) {
		var xys plotter.XYs
		for _, x := range sw.points {
			xys = append(xys, plotter.XY{X: lg(float64(x.Connections)), Y: lg(x.RPS)})
			lo, hi = math.Min(lo, x.RPS), math.Max(hi, x.RPS)
			conns[x.Connections] = true
		}
		l, s, err := plotter.NewLinePoints(xys)
		if err != nil {
			continue
		}
		c := StageColor(sw.stage)
		l.Color, l.Width = c, 2.5
		s.Color, s.Shape, s.Radius = c, draw.CircleGlyph{}, 4
		p.Add(l, s)
		p.Legend.Add(longName(sw.points[0]), l, s)
		if m := mvaLine(model, sw); len(m) > 1 {
			ml, err := plotter.NewLine(m)
			if err == nil {
				ml.Color, ml.Width, ml.Dashes = c, 1.5, []vg.Length{vg.Points(6), vg.Points(4)}
				p.Add(ml)
				drewModel = true
			}
			for _, xy := range m {
				lo, hi = math.Min(lo, math.Pow(10, xy.Y)), math.Max(hi, math.Pow(10, xy.Y))
			}
		}
	}
	if hi == 0 {
		lo, hi = 1, 10
	}
	logAxis(&p.Y, decadeBelow(lo), decadeAbove(hi))
	var marks []int
	for c := range conns {
		marks = append(marks, c)
	}
	slices.Sort(marks)
	p.X.Tick.Marker = plot.TickerFunc(func(_, _ float64) []plot.Tick {
		var ts []plot.Tick
		for _, c := range marks {
			ts = append(ts, plot.Tick{Value: lg(float64(c)), Label: fmt.Sprint(c)})
		}
		return ts
	})
	if len(marks) > 0 {
		p.X.Min, p.X.Max = lg(float64(marks[0]))-0.1, lg(float64(marks[len(marks)-1]))+0.1
	}
	if drewModel {
		key, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 0, Y: 0}})
		if err == nil {
			key.Color, key.Width, key.Dashes = grey, 1.5, []vg.Length{vg.Points(6), vg.Points(4)}
			p.Legend.Add("the model (MVA)", key)
		}
	}
	p.Legend.Left = true
	capt := caption(run)
	if drewModel {
		capt += "\nDashed: the model's MVA of each stage at each connection count, from the CPU per request of its main measurement."
	}
	return figure{caption: capt, draw: func(dc draw.Canvas) { drawRow(dc, p) }}
}

// mvaLine is the model's prediction at a sweep's connection counts (log
// scales), nil when the model has no such stage.
func mvaLine(a *model.Analysis, sw sweep) plotter.XYs {
	if a == nil {
		return nil
	}
	for _, s := range a.Stages {
		if s.Key != sw.stage {
			continue
		}
		checks := append([]model.Check{s.Check}, s.SweepChecks...)
		slices.SortFunc(checks, func(a, b model.Check) int { return a.Connections - b.Connections })
		var out plotter.XYs
		for _, c := range checks {
			if len(out) > 0 && out[len(out)-1].X == lg(float64(c.Connections)) {
				continue
			}
			out = append(out, plotter.XY{X: lg(float64(c.Connections)), Y: lg(c.Predicted)})
		}
		return out
	}
	return nil
}
