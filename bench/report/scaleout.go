package report

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/scalelab/scalelab/bench/model"
	"github.com/scalelab/scalelab/bench/record"
	"github.com/scalelab/scalelab/stages"
)

// capacityModel is the model of a run with the default questions; nil
// when the run has no stage with CPU per request to model. The report
// asks what scalelab model asks without flags, so the two agree.
func capacityModel(run *record.Run) *model.Analysis {
	a, err := model.Analyse(run, model.Options{})
	if err != nil || len(a.Stages) == 0 {
		return nil
	}
	return a
}

// scaleoutFigure draws each stage's predicted req/s against the cores of
// one machine: dashed, the model's; a dot, what the run measured on its
// own cores; the bottleneck written where it changes; and a ring where
// stage 3 overtakes stage 2.
func scaleoutFigure(run *record.Run, a *model.Analysis) figure {
	p := newPlot("Predicted req/s with more cores (the model, dashed) and measured (dots)", "cores of one machine (log scale)", "requests per second (log scale)")
	addGrid(p)
	lo, hi := math.Inf(1), 0.0
	cores := map[int]bool{}
	byKey := map[string]model.StageModel{}
	for _, s := range a.Stages {
		byKey[s.Key] = s
		c := StageColor(s.Key)
		var xys plotter.XYs
		for _, pt := range s.ByCores {
			xys = append(xys, plotter.XY{X: lg(float64(pt.Cores)), Y: lg(pt.RPS)})
			lo, hi = math.Min(lo, pt.RPS), math.Max(hi, pt.RPS)
			cores[pt.Cores] = true
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			continue
		}
		l.Color, l.Width, l.Dashes = c, 2, []vg.Length{vg.Points(6), vg.Points(4)}
		p.Add(l)
		meas, err := plotter.NewScatter(plotter.XYs{{X: lg(float64(a.Machine.Cores)), Y: lg(s.RPS)}})
		if err == nil {
			meas.Color, meas.Shape, meas.Radius = c, draw.CircleGlyph{}, 5
			p.Add(meas)
		}
		lo, hi = math.Min(lo, s.RPS), math.Max(hi, s.RPS)
		p.Legend.Add(stageLegend(s.Key), l, meas)
		// The bottleneck where it moves, just above the line (every
		// stage starts limited by the cores, as the caption says).
		for i := 1; i < len(s.ByCores); i++ {
			if pt := s.ByCores[i]; pt.Bottleneck != s.ByCores[i-1].Bottleneck {
				// Above the line just after the point, or just before it at
				// the chart's edge: clear of the measured dots.
				x, y, left := lg(float64(pt.Cores)), lg(pt.RPS), i == len(s.ByCores)-1
				if !left {
					next := s.ByCores[i+1]
					x, y = (x+lg(float64(next.Cores)))/2, (y+lg(next.RPS))/2
				}
				p.Add(&tag{x: x, y: y, text: "→ " + shortBottleneck(pt.Bottleneck), color: c, left: left})
			}
		}
	}
	if a.Overtake > 0 {
		if s3, ok := byKey[a.Overtaker]; ok {
			for _, pt := range s3.ByCores {
				if pt.Cores == a.Overtake {
					ring, err := plotter.NewScatter(plotter.XYs{{X: lg(float64(pt.Cores)), Y: lg(pt.RPS)}})
					if err == nil {
						ring.Color, ring.Shape, ring.Radius = StageColor(a.Overtaker), draw.RingGlyph{}, 10
						p.Add(ring)
					}
				}
			}
		}
	}
	if hi == 0 {
		lo, hi = 1, 10
	}
	logAxis(&p.Y, decadeBelow(lo), decadeAbove(hi)*3)
	var marks []int
	for _, c := range a.Options.Cores {
		if cores[c] {
			marks = append(marks, c)
		}
	}
	p.X.Tick.Marker = plot.TickerFunc(func(_, _ float64) []plot.Tick {
		var ts []plot.Tick
		for _, c := range marks {
			ts = append(ts, plot.Tick{Value: lg(float64(c)), Label: fmt.Sprint(c)})
		}
		return ts
	})
	if len(marks) > 0 {
		p.X.Min, p.X.Max = lg(float64(marks[0]))-0.1, lg(float64(marks[len(marks)-1]))+0.15
	}
	p.Legend.Left, p.Legend.Top = true, true
	capt := caption(run) + "\n" + scaleoutCaption(a)
	return figure{caption: capt, draw: func(dc draw.Canvas) { drawRow(dc, p) }}
}

// tag is a short label beside a point of a line, a little above it: to
// its right, or with left to its left.
type tag struct {
	x, y  float64
	text  string
	color color.Color
	left  bool
}

// Plot implements plot.Plotter.
func (t *tag) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	st := textStyle(sansBold, valueSize, t.color)
	st.XAlign, st.YAlign = draw.XLeft, draw.YBottom
	st.XAlign = draw.XCenter
	pt := vg.Point{X: trX(t.x), Y: trY(t.y) + 3}
	if t.left {
		st.XAlign = draw.XRight
		pt.X = trX(t.x) - 6
	}
	c.FillText(st, pt, t.text)
}

// stageLegend names a stage from its key: "stage 3 load-balanced",
// "stage 4 without index".
func stageLegend(key string) string {
	id, noIndex := stages.ParseKey(key)
	if noIndex {
		return "stage " + id + " without index"
	}
	if st, ok := stages.Find(id); ok {
		return "stage " + id + " " + st.Name
	}
	return "stage " + key
}

// shortBottleneck is a bottleneck on the chart: a word.
func shortBottleneck(id string) string {
	switch id {
	case model.Cores:
		return "cores"
	case record.CPUServe:
		return "app"
	case record.CPUPostgres:
		return "db"
	}
	return id
}

// scaleoutCaption says what the chart's lines are and how far to trust
// them.
func scaleoutCaption(a *model.Analysis) string {
	s := "Model: each stage's CPU per request from this run, its components queued (exact MVA) on one machine of N cores, the load generator elsewhere."
	s += fmt.Sprintf("\nDots: measured on %d cores. Every stage is first limited by the cores; → marks where the bottleneck moves.", a.Machine.Cores)
	if a.Overtake > 0 {
		s += fmt.Sprintf(" Ring: stage %s overtakes stage %s at %d cores.", a.Overtaker, a.Overtaken, a.Overtake)
	}
	return s
}
