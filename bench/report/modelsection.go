package report

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/scalelab/scalelab/bench/model"
	"github.com/scalelab/scalelab/bench/record"
)

// modelSection is the report's "capacity model": what scalelab model
// prints, as tables both report.md and report.html render.
type modelSection struct {
	Intro  string
	Tables []simpleTable
	Notes  []string
}

// simpleTable is a table of text: the first column left-aligned.
type simpleTable struct {
	Caption string
	Head    []string
	Rows    [][]string
}

// capacitySection builds the section from the model of run; nil when the
// run has nothing to model.
func capacitySection(run *record.Run) *modelSection {
	a := capacityModel(run)
	if a == nil {
		return nil
	}
	sec := &modelSection{}
	check := simpleTable{
		Caption: fmt.Sprintf("The model beside the measurement: this run's machine (%d cores shared by the servers and the load generator) and connections", a.Machine.Cores),
		Head:    []string{"stage", "connections", "measured req/s", "model req/s", "error", "bottleneck"},
	}
	for _, s := range a.Stages {
		check.Rows = append(check.Rows, []string{longKey(s.Key), fmt.Sprint(s.Check.Connections), fmtRPS(s.Check.Measured), fmtRPS(s.Check.Predicted), model.Percent(s.Check.Error()), model.Name(s.Check.Bottleneck)})
	}
	sec.Tables = append(sec.Tables, check)
	sweep := simpleTable{Caption: "MVA against the measured sweep (req/s measured / model, error)", Head: []string{"stage"}}
	conns := map[int]int{}
	for _, s := range a.Stages {
		for _, c := range s.SweepChecks {
			if _, ok := conns[c.Connections]; !ok {
				conns[c.Connections] = len(sweep.Head)
				sweep.Head = append(sweep.Head, fmt.Sprintf("%d conns", c.Connections))
			}
		}
	}
	for _, s := range a.Stages {
		if len(s.SweepChecks) == 0 {
			continue
		}
		row := make([]string, len(sweep.Head))
		row[0] = longKey(s.Key)
		for i := 1; i < len(row); i++ {
			row[i] = "–"
		}
		for _, c := range s.SweepChecks {
			row[conns[c.Connections]] = fmt.Sprintf("%s / %s (%s)", fmtRPS(c.Measured), fmtRPS(c.Predicted), c.ErrorText())
		}
		sweep.Rows = append(sweep.Rows, row)
	}
	if len(sweep.Rows) > 0 {
		sec.Tables = append(sec.Tables, sweep)
	}
	worst, at := a.LargestError()
	sec.Intro = fmt.Sprintf("Each stage's CPU per request from this run, as a queueing model (scalelab model; docs/model.md). Its largest error against this run's measurements: %.0f%% (%s).", 100*worst, at)
	cores := simpleTable{Caption: "Predicted req/s on one machine of N cores (the load generator elsewhere), and where the bottleneck is", Head: []string{"stage"}}
	for _, c := range a.Options.Cores {
		cores.Head = append(cores.Head, fmt.Sprintf("%d", c))
	}
	cores.Head = append(cores.Head, "bottleneck")
	for _, s := range a.Stages {
		row := []string{longKey(s.Key)}
		for _, p := range s.ByCores {
			row = append(row, model.Short(p.RPS))
		}
		row = append(row, strings.Join(s.Moves(), ", "))
		cores.Rows = append(cores.Rows, row)
	}
	sec.Tables = append(sec.Tables, cores)
	if a.Overtake > 0 {
		sec.Notes = append(sec.Notes, fmt.Sprintf("Stage %s overtakes stage %s from %d cores: one process (the GIL) caps stage %s however many cores the machine has.", a.Overtaker, a.Overtaken, a.Overtake, a.Overtaken))
	}
	o := a.Options
	plans := simpleTable{
		Caption: fmt.Sprintf("Machines of %d cores needed per tier, for page views a day at this run's page mix within p%g ≤ %s", o.MachineCores, o.SLO.Quantile, model.Seconds(o.SLO.Seconds)),
		Head:    []string{"stage"},
	}
	for _, pd := range o.PagesPerDay {
		plans.Head = append(plans.Head, model.Count(pd))
	}
	for _, s := range a.Stages {
		row := []string{longKey(s.Key)}
		for _, p := range s.Plans {
			row = append(row, model.PlanCell(p))
		}
		plans.Rows = append(plans.Rows, row)
		for _, p := range s.Plans {
			if p.Unreachable != "" {
				sec.Notes = append(sec.Notes, fmt.Sprintf("%s: %s.", longKey(s.Key), p.Unreachable))
				break
			}
		}
	}
	sec.Tables = append(sec.Tables, plans)
	sec.Notes = append(sec.Notes, a.Assumptions()...)
	return sec
}

// longKey names a stage by its key in the model's tables: "stage 3",
// "stage 4 without index".
func longKey(key string) string { return stageLegend(key) }

// markdown renders the section for report.md.
func (sec *modelSection) markdown() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "\n**The capacity model:** %s\n", mdEscape(sec.Intro))
	for _, t := range sec.Tables {
		fmt.Fprintf(&b, "\n%s:\n\n|", mdEscape(t.Caption))
		for _, h := range t.Head {
			fmt.Fprintf(&b, " %s |", mdEscape(h))
		}
		b.WriteString("\n|---|")
		for range t.Head[1:] {
			b.WriteString("--:|")
		}
		b.WriteString("\n")
		for _, r := range t.Rows {
			b.WriteString("|")
			for _, c := range r {
				fmt.Fprintf(&b, " %s |", mdEscape(c))
			}
			b.WriteString("\n")
		}
	}
	if len(sec.Notes) > 0 {
		b.WriteString("\n")
		for _, n := range sec.Notes {
			fmt.Fprintf(&b, "- %s\n", mdEscape(n))
		}
	}
	return b.Bytes()
}
