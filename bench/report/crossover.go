package report

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/scalelab/scalelab/bench/record"
	"github.com/scalelab/scalelab/stages"
)

// The crossover (lab --crossover): when does a load balancer pay? The
// app server and the balanced stages measured at app costs from Go's own
// (a tenth of a millisecond) to beyond the talk's Python's, and stage 3's
// gain over stage 2 against the cost. On a small machine a Go app is too
// cheap for a balancer to pay; a costly one makes every added core nearly
// a whole app server. No tool we know of draws this.

// crossPt is one stage measured at one app cost.
type crossPt struct{ costMs, rps float64 }

// crossSeries is one stage across the app costs.
type crossSeries struct {
	key, name string
	pts       []crossPt // by cost, ascending
}

// crossoverSeries gathers a crossover run's points stage by stage in the
// talk's order: each stage's main result (the app as it is) at cost 0, and
// its crossover points at theirs.
func crossoverSeries(run *record.Run) []crossSeries {
	if len(run.Settings.Crossover) == 0 {
		return nil
	}
	by := map[string]*crossSeries{}
	var order []string
	for i := range run.Results {
		x := &run.Results[i]
		if x.Tool != BuiltinTool || x.Page != "" || x.Sweep || isBaseline(x) || x.RPS <= 0 || !verifiedOK(x) {
			continue
		}
		cost := 0.0
		if x.AppCost != nil {
			cost = x.AppCost.PerRequestMs
		}
		s := by[x.Key()]
		if s == nil {
			s = &crossSeries{key: x.Key(), name: longName(x)}
			by[x.Key()] = s
			order = append(order, x.Key())
		}
		s.pts = append(s.pts, crossPt{cost, x.RPS})
	}
	slices.SortStableFunc(order, func(a, b string) int { return stageOrder(a) - stageOrder(b) })
	var out []crossSeries
	for _, k := range order {
		s := by[k]
		slices.SortStableFunc(s.pts, func(a, b crossPt) int { return cmpFloat(a.costMs, b.costMs) })
		out = append(out, *s)
	}
	return out
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// gains are the balanced stage's req/s over the app server's at each cost
// both were measured at.
func gains(series []crossSeries) []crossPt {
	one, many := stages.ScaleOut()
	var a, b []crossPt
	for _, s := range series {
		switch s.key {
		case one.ID:
			a = s.pts
		case many.ID:
			b = s.pts
		}
	}
	var out []crossPt
	for _, p := range a {
		for _, q := range b {
			if p.costMs == q.costMs && p.rps > 0 {
				out = append(out, crossPt{p.costMs, q.rps / p.rps})
			}
		}
	}
	return out
}

// BreakEven is where, by the CPU per request each component was measured
// to use with the app as it is, the balanced stage starts to beat the one
// app server, and the model behind it.
//
// The app server is the GIL's: one core, so its req/s is 10⁶ / (a + c) for
// an app that spends a µs of its own and c more per request. The balanced
// stage spreads its app over every core, busy for the share u of the
// machine it kept busy, so with n cores it serves u·n·10⁶ / (t + c), t
// being all its components' µs per request. They meet where
// u·n·(a + c) = t + c: c = (t − u·n·a) / (u·n − 1). Below it the balancer,
// the sessions in memcached, the database and the load generator cost more
// than the cores they free; far above it, the gain tends to u·n.
type BreakEven struct {
	// CostMs is the app's cost per request from which the balanced stage
	// wins; 0 when it wins with the app as it is. Never says it cannot win
	// at any cost (the machine has too few cores to spare).
	CostMs float64
	Never  bool
	// AppUs, TotalUs, Busy and Cores are the model's inputs: the app
	// server's own µs per request, the balanced stage's µs per request
	// over every component, its busy share of the machine, and the cores.
	AppUs, TotalUs, Busy float64
	Cores                int
}

// Gain is the model's gain of the balanced stage over the app server at
// an app cost of costMs a request.
func (b BreakEven) Gain(costMs float64) float64 {
	c := costMs * 1000
	return b.Busy * float64(b.Cores) * (b.AppUs + c) / (b.TotalUs + c)
}

// breakEven computes it from the stages' main results (the app as it
// is); ok is false when the run lacks them or their CPU account.
func breakEven(run *record.Run) (BreakEven, bool) {
	one, many := stages.ScaleOut()
	var a, b *record.Result
	for _, x := range stageResults(run, BuiltinTool) {
		switch {
		case x.NoIndex || x.AppCost != nil:
		case x.Stage == one.ID:
			a = x
		case x.Stage == many.ID:
			b = x
		}
	}
	if a == nil || b == nil {
		return BreakEven{}, false
	}
	as, okA := storyOf(run, a)
	bs, okB := storyOf(run, b)
	if !okA || !okB || run.Machine.Cores < 1 || as.appUs <= 0 {
		return BreakEven{}, false
	}
	be := BreakEven{AppUs: as.appUs, TotalUs: bs.totalUs, Busy: 1 - bs.idle, Cores: run.Machine.Cores}
	k := be.Busy * float64(be.Cores)
	if k <= 1 {
		be.Never = true
		return be, true
	}
	be.CostMs = math.Max(0, (be.TotalUs-k*be.AppUs)/(k-1)) / 1000
	return be, true
}

// breakEvenText says the break-even in words, with its inputs.
func breakEvenText(run *record.Run) string {
	be, ok := breakEven(run)
	if !ok {
		return ""
	}
	one, many := stages.ScaleOut()
	inputs := fmt.Sprintf("stage %s's app used %s µs of CPU a request on its one core; stage %s's components %s µs a request in all, keeping %s of the machine's %d cores busy",
		one.ID, num(be.AppUs), many.ID, num(be.TotalUs), pct(be.Busy), be.Cores)
	switch {
	case be.Never:
		return fmt.Sprintf("When does a load balancer pay? Not on this machine at any app cost: %s, no more than one core's worth, so app servers behind nginx cannot outrun the one app server.", inputs)
	case be.CostMs == 0:
		return fmt.Sprintf("When does a load balancer pay? Already with the app as it is: %s. As the app costs more, stage %s's gain over stage %s tends to %s.", inputs, many.ID, one.ID, fmtTimes(be.Busy*float64(be.Cores)))
	}
	return fmt.Sprintf("When does a load balancer pay? From an app cost of about %s ms of CPU a request, by this run's own figures: %s. Below it the balancer, the sessions in memcached, the database and the load generator cost more than the cores they free; above it stage %s's gain over stage %s tends to %s.",
		trimFloat(math.Round(be.CostMs*100)/100), inputs, many.ID, one.ID, fmtTimes(be.Busy*float64(be.Cores)))
}

// talksCostMs is the talk's app's CPU per request, from its own figure:
// one process on one core (the GIL) answering Talk requests a second.
func talksCostMs() float64 {
	one, _ := stages.ScaleOut()
	if one.Talk <= 0 {
		return 0
	}
	return 1000 / one.Talk
}

// crossoverFigure draws each stage's req/s against the app's CPU per
// request (left) and the balanced stage's gain over the app server
// (right), with the break-even and the talk's own point.
func crossoverFigure(run *record.Run) figure {
	series := crossoverSeries(run)
	one, many := stages.ScaleOut()
	// Cost 0 (Go as it is) has no place on a log axis: it is drawn a
	// step left of the smallest cost and labelled so.
	var costs []float64
	for _, c := range run.Settings.Crossover {
		if c > 0 {
			costs = append(costs, c)
		}
	}
	slices.Sort(costs)
	zeroAt := 0.025
	if len(costs) > 0 {
		zeroAt = costs[0] / 4
	}
	xOf := func(c float64) float64 {
		if c <= 0 {
			return lg(zeroAt)
		}
		return lg(c)
	}
	ticks := plot.TickerFunc(func(_, _ float64) []plot.Tick {
		ts := []plot.Tick{{Value: lg(zeroAt), Label: "Go"}}
		for _, c := range costs {
			ts = append(ts, plot.Tick{Value: lg(c), Label: trim(c)})
		}
		return ts
	})
	hiCost := zeroAt * 4
	if len(costs) > 0 {
		hiCost = costs[len(costs)-1]
	}
	talkCost := talksCostMs()
	xMin, xMax := lg(zeroAt)-0.15, math.Max(lg(hiCost), lg(math.Max(talkCost, zeroAt)))+0.15

	const xLabel = "the app's CPU per request, ms (log scale; Go: as it is)"
	left := newPlot("Req/s against the app's cost", xLabel, "requests per second (log scale)")
	addGrid(left)
	lo, hi := math.Inf(1), 0.0
	for _, s := range series {
		var xys plotter.XYs
		for _, p := range s.pts {
			xys = append(xys, plotter.XY{X: xOf(p.costMs), Y: lg(p.rps)})
			lo, hi = math.Min(lo, p.rps), math.Max(hi, p.rps)
		}
		l, sc, err := plotter.NewLinePoints(xys)
		if err != nil {
			continue
		}
		c := StageColor(s.key)
		l.Color, l.Width = c, 2.5
		sc.Color, sc.Shape, sc.Radius = c, draw.CircleGlyph{}, 4
		left.Add(l, sc)
		left.Legend.Add(s.name, l, sc)
	}
	if hi == 0 {
		lo, hi = 1, 10
	}
	logAxis(&left.Y, decadeBelow(lo), decadeAbove(hi))
	left.X.Tick.Marker, left.X.Min, left.X.Max = ticks, xMin, xMax
	left.Legend.Left = true

	right := newPlot(fmt.Sprintf("Stage %s's gain over stage %s", many.ID, one.ID), xLabel,
		fmt.Sprintf("stage %s's req/s ÷ stage %s's", many.ID, one.ID))
	addGrid(right)
	gs := gains(series)
	yHi := 2.0
	var xys plotter.XYs
	for _, g := range gs {
		xys = append(xys, plotter.XY{X: xOf(g.costMs), Y: g.rps})
		yHi = math.Max(yHi, g.rps*1.15)
	}
	even := plotter.NewFunction(func(float64) float64 { return 1 })
	even.Color, even.Width = grey, 1
	right.Add(even)
	right.Legend.Add("even: 1×", even)
	if be, ok := breakEven(run); ok && !be.Never {
		model := plotter.NewFunction(func(x float64) float64 {
			c := math.Pow(10, x)
			if x <= lg(zeroAt) {
				c = 0
			}
			return be.Gain(c)
		})
		model.Color, model.Width, model.Dashes = grey, 2, []vg.Length{vg.Points(2), vg.Points(4)}
		model.Samples = 200
		right.Add(model)
		right.Legend.Add("model (CPU per request)", model)
		if be.CostMs > 0 {
			at := lg(math.Max(be.CostMs, zeroAt))
			v, err := plotter.NewLine(plotter.XYs{{X: at, Y: 0}, {X: at, Y: yHi}})
			if err == nil {
				v.Color, v.Width, v.Dashes = StageColor(many.ID), 1.5, []vg.Length{vg.Points(6), vg.Points(4)}
				right.Add(v)
				right.Legend.Add(fmt.Sprintf("break-even: %s ms", trim(be.CostMs)), v)
			}
		}
	}
	if l, sc, err := plotter.NewLinePoints(xys); err == nil {
		c := StageColor(many.ID)
		l.Color, l.Width = c, 2.5
		sc.Color, sc.Shape, sc.Radius = c, draw.CircleGlyph{}, 4
		right.Add(l, sc)
		right.Legend.Add("this run", l, sc)
	}
	if talkCost > 0 && many.Talk > 0 && one.Talk > 0 {
		g := many.Talk / one.Talk
		yHi = math.Max(yHi, g*1.15)
		if sc, err := plotter.NewScatter(plotter.XYs{{X: lg(talkCost), Y: g}}); err == nil {
			sc.Shape, sc.Color, sc.Radius = draw.PyramidGlyph{}, okabeVermilion, 6
			right.Add(sc)
			right.Legend.Add(fmt.Sprintf("the talk (%s ms, %s)", trim(talkCost), fmtTimes(g)), sc)
		}
	}
	right.Y.Min, right.Y.Max = 0, yHi
	right.X.Tick.Marker, right.X.Min, right.X.Max = ticks, xMin, xMax
	// The gain rises to the right: the legend goes below it.
	right.Legend.Top, right.Legend.XOffs = false, -vg.Points(16)
	return figure{caption: caption(run), draw: func(dc draw.Canvas) { drawRow(dc, left, right) }}
}
