package report

import (
	"bytes"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"slices"
	"strings"

	"github.com/scalelab/scalelab/bench/driver"
)

//go:embed report.html.tmpl
var htmlTemplate string

var htmlPage = template.Must(template.New("report").Funcs(template.FuncMap{
	"rps":   fmtRPS,
	"times": fmtTimes,
	"rng":   fmtRange,
	"ms":    fmtMs,
	"day":   fmtDay,
	"num":   func(n int64) string { return num(float64(n)) },
}).Parse(htmlTemplate))

// htmlChart is a chart as the page shows it: embedded as a data: URI so
// the report is one file that can be mailed or attached to an issue.
type htmlChart struct {
	Name, Title string
	Src         template.URL
}

// htmlStage is one stage's section of the story.
type htmlStage struct {
	ID, Title           string
	Changed, Bottleneck string
	Rows                []row
}

// HTML renders report.html: the talk's story stage by stage with this
// run's numbers beside the talk's, the charts (images holds each chart's
// PNG by name), the machine and settings, and every warning.
func HTML(run *driver.Run, charts []Chart, images map[string][]byte) ([]byte, error) {
	rs := rows(run)
	data := struct {
		Run      *driver.Run
		Caption  string
		Settings string
		Warnings []string
		Rows     []row
		// Charts by name; pointers, so that a chart the run cannot draw
		// is nil and the template's "with" leaves its section out.
		Charts     map[string]*htmlChart
		Stages     []htmlStage
		Verdict    string
		Costs      []costRow
		TalkAB     float64
		TalkStage1 float64
		// Faults and Writes say what injected faults did and what the
		// check for lost writes found.
		Faults, Writes []string
	}{Faults: faultNotes(run), Writes: writeNotes(run), Run: run, Caption: caption(run), Settings: settingsLine(run), Warnings: allWarnings(run, rs), Rows: rs,
		Charts: map[string]*htmlChart{}, Verdict: indexVerdict(run), Costs: costRows(run), TalkAB: driver.TalkAB, TalkStage1: TalkStage1}
	for _, c := range charts {
		png, ok := images[c.Name]
		if !ok {
			return nil, fmt.Errorf("report.html: chart %s has no image", c.Name)
		}
		// template.URL: html/template would otherwise replace a data: URI
		// with "#ZgotmplZ"; the bytes are our own PNG, not user input.
		data.Charts[c.Name] = &htmlChart{Name: c.Name, Title: c.Title,
			Src: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))}
	}
	// The talk's stages in order, then any other this run measured (a
	// "2-noindex" from scalelab bench --no-index).
	all := slices.Clone(driver.Stages)
	for _, r := range rs {
		if !slices.ContainsFunc(all, func(st driver.Stage) bool { return st.ID == r.Stage }) {
			all = append(all, driver.Stage{ID: r.Stage, Name: strings.TrimPrefix(r.Label, "stage "+r.Stage+" ")})
		}
	}
	for _, st := range all {
		s := htmlStage{ID: st.ID, Title: stageTitle(st), Changed: chapters[st.ID].changed, Bottleneck: chapters[st.ID].bottleneck}
		for _, r := range rs {
			if r.Stage == st.ID {
				s.Rows = append(s.Rows, r)
			}
		}
		if len(s.Rows) > 0 {
			data.Stages = append(data.Stages, s)
		}
	}
	var buf bytes.Buffer
	if err := htmlPage.Execute(&buf, data); err != nil {
		return nil, fmt.Errorf("report.html: %w", err)
	}
	return buf.Bytes(), nil
}

func stageTitle(st driver.Stage) string {
	switch st.ID {
	case "0":
		return "Stage 0 — the baselines"
	case "4-noindex":
		return "Stage 4 without its index"
	}
	return fmt.Sprintf("Stage %s — %s", st.ID, st.Name)
}
