package report

import (
	"strings"
	"testing"

	"github.com/scalelab/scalelab/bench/record"
)

// A stage over-counted is drawn above 100% and named in the caption, not
// cut at the top of the chart.
func TestWhereOverHundredIsShown(t *testing.T) {
	x := &record.Result{Stage: "2", Where: &record.Where{
		CPUS:     map[string]float64{record.CPUPostgres: 20, record.CPUIdle: 4},
		MachineS: 20, OutsideCPUS: 1, Noisy: 1}}
	if top := highestStack([]*record.Result{x}); top != 125 {
		t.Errorf("highest bar %v%%, want 125", top)
	}
	note := whereNote([]*record.Result{x})
	if !strings.Contains(note, "Over-counted") || !strings.Contains(note, "Other processes took") {
		t.Errorf("caption %q says nothing of the over-count or the noise", note)
	}
}
