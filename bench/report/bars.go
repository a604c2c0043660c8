package report

import (
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// bar is one bar of a bar chart.
type bar struct {
	// pos is the bar's centre on the category axis: 0, 1, 2 ... for one
	// bar per category, 1.8 and 2.2 for a pair in the third.
	pos   float64
	value float64
	// lo and hi are the range of the repeats behind value, drawn as a
	// whisker; zero when there is no range.
	lo, hi float64
	// fill is nil for a bar drawn as an outline only (the reference: the
	// talk, or the first run of a comparison).
	fill, line color.Color
	label      string
}

// bars draws bars on a log value axis (see logAxis) from the axis'
// minimum rather than from zero, which a log axis does not have (gonum's
// BarChart draws from zero), with the value written at each bar's end and
// the repeats' range as a whisker.
type bars struct {
	bars []bar
	// width is a bar's width in category units (1 is a whole slot).
	width      float64
	horizontal bool
}

// Plot implements plot.Plotter.
func (b *bars) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	cat, tr := trX, trY
	if b.horizontal {
		cat, tr = trY, trX
	}
	val := func(v float64) vg.Length { return tr(lg(v)) }
	base := c.Min.Y
	if b.horizontal {
		base = c.Min.X
	}
	for _, x := range b.bars {
		if x.value <= 0 {
			continue
		}
		mid := cat(x.pos)
		half := (cat(x.pos+b.width/2) - cat(x.pos-b.width/2)) / 2
		end := val(x.value)
		rect := b.rect(mid-half, mid+half, base, end)
		if x.fill != nil {
			c.SetColor(x.fill)
			c.Fill(rect.Path())
		}
		c.SetLineStyle(draw.LineStyle{Color: x.line, Width: 2})
		c.Stroke(rect.Path())
		top := end
		if x.lo > 0 && x.hi > x.lo {
			lo, hi := val(x.lo), val(x.hi)
			ls := draw.LineStyle{Color: okabeBlack, Width: 1.5}
			cap := half / 2
			c.StrokeLines(ls, []vg.Point{b.pt(mid, lo), b.pt(mid, hi)})
			c.StrokeLines(ls, []vg.Point{b.pt(mid-cap, lo), b.pt(mid+cap, lo)})
			c.StrokeLines(ls, []vg.Point{b.pt(mid-cap, hi), b.pt(mid+cap, hi)})
			top = max(top, hi)
		}
		if x.label != "" {
			st := textStyle(sans, valueSize, okabeBlack)
			if b.horizontal {
				st.XAlign, st.YAlign = draw.XLeft, draw.YCenter
			} else {
				st.XAlign, st.YAlign = draw.XCenter, draw.YBottom
			}
			c.FillText(st, b.pt(mid, top+6), x.label)
		}
	}
}

// pt makes a point from a position on the category axis and one on the
// value axis.
func (b *bars) pt(cat, val vg.Length) vg.Point {
	if b.horizontal {
		return vg.Point{X: val, Y: cat}
	}
	return vg.Point{X: cat, Y: val}
}

func (b *bars) rect(c0, c1, v0, v1 vg.Length) vg.Rectangle {
	p0, p1 := b.pt(c0, v0), b.pt(c1, v1)
	return vg.Rectangle{Min: vg.Point{X: min(p0.X, p1.X), Y: min(p0.Y, p1.Y)}, Max: vg.Point{X: max(p0.X, p1.X), Y: max(p0.Y, p1.Y)}}
}

// DataRange implements plot.DataRanger: the categories with half a slot
// either side, and the values' range (the caller sets log limits).
func (b *bars) DataRange() (xmin, xmax, ymin, ymax float64) {
	cmin, cmax := math.Inf(1), math.Inf(-1)
	vmin, vmax := math.Inf(1), math.Inf(-1)
	for _, x := range b.bars {
		cmin, cmax = math.Min(cmin, x.pos-0.5), math.Max(cmax, x.pos+0.5)
		for _, v := range []float64{x.value, x.lo, x.hi} {
			if v > 0 {
				vmin, vmax = math.Min(vmin, lg(v)), math.Max(vmax, lg(v))
			}
		}
	}
	if b.horizontal {
		return vmin, vmax, cmin, cmax
	}
	return cmin, cmax, vmin, vmax
}

// valueRange is the smallest and largest positive value (and whisker)
// among bars, for choosing log-axis limits.
func valueRange(bs []bar) (lo, hi float64) {
	lo, hi = math.Inf(1), 0
	for _, x := range bs {
		for _, v := range []float64{x.value, x.lo, x.hi} {
			if v > 0 {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	if hi == 0 {
		return 1, 10
	}
	return lo, hi
}

// categoryTicks labels the category axis with names at 0, 1, 2 ...
func categoryTicks(names []string) plot.Ticker {
	return plot.TickerFunc(func(_, _ float64) []plot.Tick {
		ticks := make([]plot.Tick, len(names))
		for i, n := range names {
			ticks[i] = plot.Tick{Value: float64(i), Label: n}
		}
		return ticks
	})
}

// swatch is a legend entry's icon: a filled or outlined box.
type swatch struct{ fill, line color.Color }

// Thumbnail implements plot.Thumbnailer.
func (s swatch) Thumbnail(c *draw.Canvas) {
	r := c.Rectangle
	if s.fill != nil {
		c.SetColor(s.fill)
		c.Fill(r.Path())
	}
	c.SetLineStyle(draw.LineStyle{Color: s.line, Width: 2})
	c.Stroke(r.Path())
}
