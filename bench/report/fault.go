package report

import (
	"fmt"
	"image/color"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg/draw"

	"github.com/scalelab/scalelab/bench/record"
)

// faulted returns the first result of the run with an injected fault.
func faulted(run *record.Run) *record.Result {
	for i := range run.Results {
		if x := &run.Results[i]; x.Fault != nil && len(x.Records) > 0 {
			return x
		}
	}
	return nil
}

// faultFigure draws a fault run's measurement second by second: req/s,
// errors/s and p99, with the fault's window shaded and what the injector
// did marked, so that the dip and the recovery are seen, not told.
func faultFigure(run *record.Run, x *record.Result) figure {
	f := x.Fault
	title := fmt.Sprintf("Stage %s under a fault: %s at %.0f s", x.Key(), f.Kind, f.AtS)
	if f.ForS > 0 {
		title += fmt.Sprintf(" for %.0f s", f.ForS)
	}
	rps := newPlot(title, "", "req/s answered")
	errs := newPlot("", "", "errors/s")
	p99 := newPlot("", "seconds since the measurement started", "p99 (ms, log)")
	c := StageColor(x.Key())
	r := x.Records[0].Results
	var rx, ex, px plotter.XYs
	rhi, ehi, plo, phi := 0.0, 0.0, math.Inf(1), 0.0
	for _, s := range r.Timeline {
		d := math.Min(1, r.Seconds-float64(s.T))
		if d < 0.5 {
			continue // the last sliver of a second
		}
		t := float64(s.T) + d/2
		// Requests answered without error: failures come fast during an
		// outage, and counting them would hide the dip.
		v, ev := float64(s.Requests-s.Errors)/d, float64(s.Errors)/d
		rx, ex = append(rx, plotter.XY{X: t, Y: v}), append(ex, plotter.XY{X: t, Y: ev})
		rhi, ehi = math.Max(rhi, v), math.Max(ehi, ev)
		if s.P99Ms > 0 {
			px = append(px, plotter.XY{X: t, Y: lg(s.P99Ms)})
			plo, phi = math.Min(plo, s.P99Ms), math.Max(phi, s.P99Ms)
		}
	}
	if phi == 0 {
		plo, phi = 1, 10
	}
	rps.Y.Min, rps.Y.Max = 0, math.Max(1, rhi*1.25)
	errs.Y.Min, errs.Y.Max = 0, math.Max(1, ehi*1.1)
	logAxis(&p99.Y, decadeBelow(plo), decadeAbove(phi))
	shade := color.NRGBA{R: 220, G: 60, B: 60, A: 40}
	for _, p := range []*plot.Plot{rps, errs, p99} {
		addGrid(p)
		lo, hi := p.Y.Min, p.Y.Max
		// The fault's window, from its first event to its last (stopping
		// a service takes a moment), or a thin band at an instant fault.
		from, to := f.AtS, f.AtS+f.ForS
		if n := len(f.Events); n > 0 {
			from = f.Events[0].T
			if f.ForS > 0 {
				to = f.Events[n-1].T
			}
		}
		to = math.Max(to, from+0.15)
		if poly, err := plotter.NewPolygon(plotter.XYs{{X: from, Y: lo}, {X: to, Y: lo}, {X: to, Y: hi}, {X: from, Y: hi}}); err == nil {
			poly.Color, poly.LineStyle.Width = shade, 0
			p.Add(poly)
		}
		for _, e := range f.Events {
			addLine(p, plotter.XYs{{X: e.T, Y: lo}, {X: e.T, Y: hi}}, color.NRGBA{R: 180, G: 40, B: 40, A: 140})
		}
		p.X.Min, p.X.Max = 0, math.Max(r.Seconds, 1)
	}
	addLine(rps, rx, c)
	addLine(errs, ex, c)
	addLine(p99, px, c)
	// The events, numbered on the req/s panel; the caption says what each
	// number is.
	var events []string
	for i, e := range f.Events {
		rps.Add(&note{x: e.T, y: rps.Y.Max * (0.93 - 0.07*float64(i%2)), text: fmt.Sprint(i + 1), color: color.NRGBA{R: 160, G: 30, B: 30, A: 255}})
		events = append(events, fmt.Sprintf("%d: %s", i+1, e.What))
	}
	cap := strings.Join(events, "  ·  ") + "\n" + caption(run)
	for _, p := range []*plot.Plot{rps, errs} {
		p.X.Tick.Marker = unlabelled{plot.DefaultTicks{}}
	}
	return figure{caption: cap, draw: func(dc draw.Canvas) { drawColumn(dc, rps, errs, p99) }}
}

// faultNotes says in words what each injected fault did, for the reports
// beside the fault chart.
func faultNotes(run *record.Run) []string {
	var out []string
	for _, x := range run.Results {
		f := x.Fault
		if f == nil {
			continue
		}
		s := fmt.Sprintf("Stage %s, %s at %s s", x.Key(), f.Kind, trim(f.AtS))
		if f.ForS > 0 {
			s += fmt.Sprintf(" for %s s", trim(f.ForS))
		}
		if f.DelayMs > 0 {
			s += fmt.Sprintf(" (%s ms added to each round trip)", trim(f.DelayMs))
		}
		back := "it did not recover within the measurement"
		if f.RecoveredS >= 0 {
			back = fmt.Sprintf("back %s s after the fault ended", trim(f.RecoveredS))
		}
		s += fmt.Sprintf(": %s req/s answered before, %s in the lowest second, %s errors, worst p99 %s ms; %s.",
			num(f.BeforeRPS), num(f.DipRPS), num(float64(f.Errors)), trim(math.Round(f.WorstP99Ms)), back)
		for _, e := range f.Events {
			s += fmt.Sprintf(" At %.1f s: %s.", e.T, e.What)
		}
		out = append(out, s)
	}
	return out
}

// writeNotes says, per stage, what the check for lost writes found.
func writeNotes(run *record.Run) []string {
	var out []string
	for _, x := range run.Results {
		if x.Writes != nil && !x.Sweep {
			out = append(out, fmt.Sprintf("Stage %s: %s.", x.Key(), x.Writes))
		}
	}
	return out
}

// warmupNotes say, per stage, how its warm-ups went: how long they ran,
// whether each settled, and how much stage 4's cache was primed with.
// Runs recorded before steady-state warm-ups have none.
func warmupNotes(run *record.Run) []string {
	var out []string
	for _, x := range run.Results {
		if len(x.Warmups) == 0 || x.Sweep {
			continue
		}
		lo, hi, settled := math.Inf(1), 0.0, 0
		var primed int64
		for _, w := range x.Warmups {
			lo, hi = math.Min(lo, w.Seconds), math.Max(hi, w.Seconds)
			if w.Settled {
				settled++
			}
			primed += w.PrimeRequests
		}
		secs := fmt.Sprintf("%.0f s", hi)
		if hi-lo >= 0.5 {
			secs = fmt.Sprintf("%.0f–%.0f s", lo, hi)
		}
		n := len(x.Warmups)
		line := fmt.Sprintf("Stage %s: %d %s of %s, %d of them steady", x.Key(), n, plural(n, "warm-up"), secs, settled)
		if settled == n {
			line = fmt.Sprintf("Stage %s: %d %s of %s, every one steady", x.Key(), n, plural(n, "warm-up"), secs)
			if n == 1 {
				line = fmt.Sprintf("Stage %s: a warm-up of %s, steady", x.Key(), secs)
			}
		}
		if primed > 0 {
			line += fmt.Sprintf("; its cache primed with %s requests in all", num(float64(primed)))
		}
		out = append(out, line+".")
	}
	return out
}
