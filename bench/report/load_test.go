package report_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scalelab/scalelab/bench/report"
)

// plot, compare and merge tell the two kinds of record apart, and say what
// they expected when given other JSON.
func TestIdentifyAndPlotALoadRecord(t *testing.T) {
	run := mustLoad(t)
	dir := t.TempDir()
	loadRec := filepath.Join(dir, "load.json")
	if err := run.Results[4].Records[0].WriteFile(loadRec); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other.json")
	os.WriteFile(other, []byte(`{"name": "not a record"}`), 0o644)
	notJSON := filepath.Join(dir, "notes.json")
	os.WriteFile(notJSON, []byte("hello"), 0o644)

	for path, want := range map[string]report.Kind{
		"testdata/run.json": report.RunRecord,
		loadRec:             report.LoadRecord,
		other:               report.Unknown,
	} {
		if got, err := report.Identify(path); err != nil || got != want {
			t.Errorf("Identify(%s) = %v, %v; want %v", path, got, err, want)
		}
	}
	if _, err := report.Identify(notJSON); err == nil || !strings.Contains(err.Error(), "not a JSON record") {
		t.Errorf("Identify of text: %v", err)
	}

	// plot of a load record: its latency and timeline charts and its
	// latency distribution (.hgrm) beside it.
	files, err := report.Write(loadRec)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"load-latency.png", "load-latency.svg", "load-timeline.png", "load-timeline.svg", "load.hgrm"}
	if len(files) != len(want) {
		t.Fatalf("wrote %v, want %v", files, want)
	}
	for i, f := range files {
		if filepath.Base(f) != want[i] {
			t.Errorf("file %d: %s, want %s", i, f, want[i])
		}
		if st, err := os.Stat(f); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}

	// Other JSON: one error that says what was expected.
	if _, err := report.Write(other); err == nil || !strings.Contains(err.Error(), "not a scalelab record") {
		t.Errorf("plot of other JSON: %v", err)
	}
	if _, err := report.Load(loadRec); err == nil || !strings.Contains(err.Error(), "is a load record") {
		t.Errorf("compare of a load record: %v", err)
	}
	if _, err := report.MergeFiles(loadRec, other); err == nil || !strings.Contains(err.Error(), "not a scalelab record") {
		t.Errorf("merge with other JSON: %v", err)
	}
}
