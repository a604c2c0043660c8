package report_test

import (
	"bytes"
	"image/png"
	"testing"

	"github.com/scalelab/scalelab/bench/driver"
	"github.com/scalelab/scalelab/bench/record"
	"github.com/scalelab/scalelab/bench/report"
)

// A run that recorded where the CPU went gets the stacked chart; one that
// did not (older records) does not.
func TestWhereChart(t *testing.T) {
	run := &record.Run{Version: record.RunVersion, Machine: record.Machine{Hostname: "h", Cores: 2}}
	for _, st := range []struct {
		id   string
		cpus map[string]float64
	}{
		{"1", map[string]float64{record.CPUServe: 12, record.CPUPostgres: 6, record.CPUClient: 0.5, record.CPUIdle: 1.5}},
		{"4", map[string]float64{record.CPUNginx: 6, record.CPUMemcached: 2, record.CPUApp: 4, record.CPUClient: 7, record.CPUIdle: 1}},
	} {
		run.Results = append(run.Results, record.Result{Stage: st.id, Name: "s" + st.id, Tool: "scalelab load", RPS: 100, RPSRuns: []float64{100},
			DurationS: 10, Where: &driver.Where{CPUS: st.cpus, SQLPerView: 1.5}})
	}
	var where *report.Chart
	for _, c := range report.Charts(run) {
		if c.Name == "where" {
			where = &c
		}
	}
	if where == nil {
		t.Fatal("no where chart for a run that recorded where the CPU went")
	}
	b, err := where.PNG()
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil || img.Bounds().Dx() != 1600 || img.Bounds().Dy() != 900 {
		t.Fatalf("where.png: %v, %v", img.Bounds(), err)
	}
	for i := range run.Results {
		run.Results[i].Where = nil
	}
	for _, c := range report.Charts(run) {
		if c.Name == "where" {
			t.Error("a where chart for a run without the data")
		}
	}
}
