package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"strconv"
	"strings"

	xfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/scalelab/scalelab/stages"
)

// Every chart is drawn at the size of a 16:9 slide's content area, with
// fonts big enough to read from the back of a room: 10 x 5.625 inches,
// rendered to PNG at 160 dpi (1600 x 900 pixels) and to SVG in points.
const (
	Width  = 10 * vg.Inch
	Height = 5.625 * vg.Inch
	DPI    = 160
)

// The Okabe-Ito palette: eight colours told apart by people with any of
// the common colour-vision deficiencies (Okabe and Ito, 2008).
var (
	okabeBlack     = rgb(0x00, 0x00, 0x00)
	okabeOrange    = rgb(0xE6, 0x9F, 0x00)
	okabeSkyBlue   = rgb(0x56, 0xB4, 0xE9)
	okabeGreen     = rgb(0x00, 0x9E, 0x73)
	okabeBlue      = rgb(0x00, 0x72, 0xB2)
	okabeVermilion = rgb(0xD5, 0x5E, 0x00)
	okabePurple    = rgb(0xCC, 0x79, 0xA7)
	grey           = rgb(0x66, 0x66, 0x66)
	lightGrey      = rgb(0xDD, 0xDD, 0xDD)
)

func rgb(r, g, b uint8) color.Color { return color.RGBA{R: r, G: g, B: b, A: 0xFF} }

// StageColor is the colour of a stage (by key: "4", "4-noindex") on every
// chart, from the stages' table: one colour per stage, so a reader who
// learnt "blue is the cache" on one slide reads the next one at a glance,
// and the collapse without the index in the alarming vermilion. Stages the
// table does not know (a "2-noindex" from scalelab bench) get grey.
func StageColor(key string) color.Color {
	id, noIndex := stages.ParseKey(key)
	st, ok := stages.Find(id)
	switch {
	case isTalksNoIndex(key):
		return stages.NoIndex.Colour
	case ok && !noIndex:
		return st.Colour
	}
	return grey
}

// The fonts: Liberation Sans (embedded in gonum/plot, so a PNG looks the
// same on every machine) at sizes readable on a projected slide.
var (
	sans      = font.Font{Typeface: "Liberation", Variant: "Sans"}
	sansBold  = font.Font{Typeface: "Liberation", Variant: "Sans", Weight: xfont.WeightBold}
	handler   = text.Plain{Fonts: font.DefaultCache}
	titleSize = vg.Length(17)
	labelSize = vg.Length(14)
	tickSize  = vg.Length(12)
	valueSize = vg.Length(11)
	noteSize  = vg.Length(9)
)

func textStyle(f font.Font, size vg.Length, c color.Color) text.Style {
	return text.Style{Color: c, Font: font.From(f, size), Handler: handler, XAlign: draw.XLeft, YAlign: draw.YBottom}
}

// newPlot returns a plot with the house style: title, axis labels with
// units, large fonts, light grid lines drawn by the caller if wanted.
func newPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.TextHandler = handler
	p.Title.Text = title
	p.Title.TextStyle.Font = font.From(sansBold, titleSize)
	p.Title.TextStyle.Handler = handler
	p.Title.Padding = 8
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = font.From(sans, labelSize)
		a.Label.TextStyle.Handler = handler
		a.Tick.Label.Font = font.From(sans, tickSize)
		a.Tick.Label.Handler = handler
		a.LineStyle.Width = 1
		a.Tick.LineStyle.Width = 1
	}
	p.X.Label.Text, p.Y.Label.Text = xLabel, yLabel
	p.Legend.TextStyle.Font = font.From(sans, tickSize)
	p.Legend.TextStyle.Handler = handler
	p.Legend.Top = true
	p.Legend.Padding = 2
	return p
}

// logAxis makes an axis logarithmic from lo to hi, with ticks at powers
// of ten labelled 1, 10, 100, 1k, 10k, 100k, 1M and unlabelled minor ticks.
//
// The axis is linear and the data given to it are log10 of the values
// (see lg): gonum's LogScale places an axis label at the linear middle of
// the range, which on a log axis pushes the label off the chart and
// squeezes the plot. Every plotter of a log axis therefore takes lg(v).
func logAxis(a *plot.Axis, lo, hi float64) {
	a.Tick.Marker = logTicks{}
	a.Min, a.Max = lg(lo), lg(hi)
}

// lg is where a value sits on a log axis.
func lg(v float64) float64 { return math.Log10(v) }

// logTicks mark a log axis (see logAxis): lo and hi are log10 values.
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	// Minor ticks help read a few decades; over many they are a smudge.
	minor := hi-lo <= 4
	for e := math.Floor(lo); e <= math.Ceil(hi); e++ {
		for m := 1.0; m < 10; m++ {
			if m > 1 && !minor {
				break
			}
			at := e + math.Log10(m)
			if at < lo-1e-9 || at > hi+1e-9 {
				continue
			}
			t := plot.Tick{Value: at}
			if m == 1 {
				t.Label = short(math.Pow(10, e))
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

// decadeBelow and the like pick axis limits on powers of ten, so that log
// axes start and end on a labelled tick.
func decadeBelow(x float64) float64 { return math.Pow(10, math.Floor(math.Log10(x))) }
func decadeAbove(x float64) float64 { return math.Pow(10, math.Ceil(math.Log10(x))) }

// short formats a number for a tick or a bar: 1, 25, 0.5, 1.2k, 45k, 3.4M.
func short(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e6:
		return trim(v/1e6) + "M"
	case a >= 1e3:
		return trim(v/1e3) + "k"
	}
	return trim(v)
}

// trim gives two significant digits below 100 and none after the point
// above: 0.25, 1.2, 45, 450.
func trim(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 100 || a == 0:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	case a >= 1:
		return strings.TrimSuffix(strconv.FormatFloat(v, 'f', 1, 64), ".0")
	}
	return strconv.FormatFloat(v, 'g', 2, 64)
}

// figure is a chart: a function that draws on a canvas, and the caption
// written under it. Rendering is separate so the same drawing becomes PNG
// and SVG.
type figure struct {
	caption string
	draw    func(dc draw.Canvas)
}

// captionLine is the height of one line of caption under a chart.
const captionLine = 0.17 * vg.Inch

func (f figure) drawAll(dc draw.Canvas) {
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	captionHeight := captionLine*vg.Length(strings.Count(f.caption, "\n")+1) + 0.13*vg.Inch
	f.draw(draw.Crop(dc, 0, 0, captionHeight, 0))
	st := textStyle(sans, noteSize, grey)
	st.YAlign = draw.YCenter
	dc.FillText(st, vg.Point{X: dc.Min.X + 8, Y: dc.Min.Y + captionHeight/2}, f.caption)
}

// PNG renders the figure as a PNG of Width x Height at DPI.
func (f figure) PNG() ([]byte, error) {
	c := vgimg.NewWith(vgimg.UseWH(Width, Height), vgimg.UseDPI(DPI))
	f.drawAll(draw.New(c))
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("encode png: %w", err)
	}
	return buf.Bytes(), nil
}

// SVG renders the figure as an SVG of Width x Height points. Fonts are
// named, not embedded: the files stay small and editable, and any
// Liberation or Arial-metric sans font shows them as drawn.
func (f figure) SVG() ([]byte, error) {
	c := vgsvg.New(Width, Height)
	f.drawAll(draw.New(c))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("encode svg: %w", err)
	}
	return buf.Bytes(), nil
}
