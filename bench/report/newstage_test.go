package report_test

import (
	"image/color"
	"slices"
	"strings"
	"testing"

	"github.com/scalelab/scalelab/bench/record"
	"github.com/scalelab/scalelab/bench/report"
	"github.com/scalelab/scalelab/stages"
)

// A new stage is one entry in the stages' table: the report tells it
// (its chapter, its colour, its place in the tables) with no other change.
func TestANewStageNeedsOnlyItsTableEntry(t *testing.T) {
	saved := stages.All
	t.Cleanup(func() { stages.All = saved })
	purple := color.RGBA{0x12, 0x34, 0x56, 0xFF}
	stages.All = append(slices.Clone(saved), stages.Stage{
		ID: "5", Alias: "sharded", Name: "sharded", Process: stages.Balanced, UsesDatabase: true,
		Colour: purple, Changed: "The database is split by user over two servers.", Bottleneck: "The busiest shard.",
	})
	run := mustLoad(t)
	run.Results = append(run.Results, record.Result{
		Stage: "5", Name: "sharded", Tool: report.BuiltinTool, RPS: 12345, RPSRuns: []float64{12000, 12345, 12500},
		DurationS: 10, Verification: "passed",
	})
	if got := report.StageColor("5"); got != purple {
		t.Errorf("StageColor(5) = %v, want the table's colour", got)
	}
	charts := report.Charts(run)
	images := map[string][]byte{}
	for _, c := range charts {
		png, err := c.PNG()
		if err != nil {
			t.Fatal(err)
		}
		images[c.Name] = png
	}
	html, err := report.HTML(run, charts, images)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Stage 5 — sharded", "The database is split by user over two servers.", "The busiest shard."} {
		if !strings.Contains(string(html), want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	md := string(report.Markdown(run, charts))
	if !strings.Contains(md, "stage 5 sharded") {
		t.Errorf("report.md has no row for stage 5:\n%s", md)
	}
	// In the talk's order: after stage 4 and its variant.
	if i, j := strings.Index(md, "stage 4 without index"), strings.Index(md, "stage 5 sharded"); i < 0 || j < i {
		t.Errorf("stage 5 is not after stage 4 without its index in report.md")
	}
}
