package report

import (
	"bytes"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"slices"
	"strings"

	"github.com/scalelab/scalelab/bench/record"
	"github.com/scalelab/scalelab/stages"
)

//go:embed report.html.tmpl
var htmlTemplate string

var htmlPage = template.Must(template.New("report").Funcs(template.FuncMap{
	"rps":      fmtRPS,
	"rpsCell":  rpsCell,
	"times":    fmtTimes,
	"rng":      fmtRange,
	"ratio":    fmtRatio,
	"step":     fmtStep,
	"talkstep": fmtTalkStep,
	"ms":       fmtMs,
	"day":      fmtDay,
	"num":      func(n int64) string { return num(float64(n)) },
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
func HTML(run *record.Run, charts []Chart, images map[string][]byte) ([]byte, error) {
	rs := rows(run)
	data := struct {
		Run      *record.Run
		Caption  string
		Settings string
		Warnings []string
		Rows     []row
		// Charts by name; pointers, so that a chart the run cannot draw
		// is nil and the template's "with" leaves its section out.
		Charts     map[string]*htmlChart
		Stages     []htmlStage
		Verdict    string
		Explained  []Explanation
		Costs      []costRow
		TalkAB     float64
		TalkStage1 float64
		// Faults, Warmups and Writes say what injected faults did, how
		// the warm-ups went and what the check for lost writes found.
		Faults, Warmups, Writes []string
		// Model is the capacity model's section (nil: nothing to model).
		Model *modelSection
	}{Model: capacitySection(run), Faults: faultNotes(run), Warmups: warmupNotes(run), Writes: writeNotes(run), Run: run, Caption: caption(run), Settings: settingsLine(run), Warnings: allWarnings(run, rs), Rows: rs,
		Charts: map[string]*htmlChart{}, Verdict: indexVerdict(run), Explained: Explanations(run), Costs: costRows(run), TalkAB: talkAB, TalkStage1: TalkStage1}
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
	// The talk's stages in order (each followed by its no-index variant
	// when the run has it), then any other this run measured (a
	// "2-noindex" from scalelab bench --no-index).
	type stageKey struct{ key, name string }
	var all []stageKey
	for _, st := range stages.All {
		all = append(all, stageKey{st.ID, st.Name}, stageKey{stages.Key(st.ID, true), ""})
	}
	for _, r := range rs {
		if !slices.ContainsFunc(all, func(k stageKey) bool { return k.key == r.Stage }) {
			all = append(all, stageKey{r.Stage, strings.TrimPrefix(r.Label, "stage "+r.Stage+" ")})
		}
	}
	for _, k := range all {
		ch := chapterOf(k.key)
		s := htmlStage{ID: k.key, Title: stageTitle(k.key, k.name), Changed: ch.changed, Bottleneck: ch.bottleneck}
		for _, r := range rs {
			if r.Stage == k.key {
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

// stageTitle is a stage's heading in the report ("Stage 3 —
// load-balanced"); key is the stage's key, name its name.
func stageTitle(key, name string) string {
	switch {
	case isBaselineKey(key):
		return "Stage " + key + " — the baselines"
	case isTalksNoIndex(key):
		return "Stage " + strings.TrimSuffix(key, stages.NoIndex.Suffix) + " without its index"
	}
	return fmt.Sprintf("Stage %s — %s", key, name)
}
