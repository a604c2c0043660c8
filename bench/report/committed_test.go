package report_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/scalelab/scalelab/bench/report"
)

// The runs committed in results/ redraw byte for byte into the charts and
// reports committed beside them: the README's figures stay traceable to
// their records through every change of the record's format (an older
// version is upgraded as it is read) and of the report's code.
func TestCommittedRunsRedrawTheSame(t *testing.T) {
	runs, _ := filepath.Glob("../../results/*/run.json")
	if len(runs) == 0 {
		t.Skip("no committed runs in results/")
	}
	for _, path := range runs {
		name := filepath.Base(filepath.Dir(path))
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, report.RunFile), b, 0o644); err != nil {
				t.Fatal(err)
			}
			files, err := report.Write(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range files {
				committed, err := os.ReadFile(filepath.Join(filepath.Dir(path), filepath.Base(f)))
				if err != nil {
					t.Errorf("%s is not committed: %v", filepath.Base(f), err)
					continue
				}
				redrawn, _ := os.ReadFile(f)
				if !bytes.Equal(committed, redrawn) {
					t.Errorf("%s redraws differently from the committed file (scalelab plot results/%s, and explain the change)", filepath.Base(f), name)
				}
			}
		})
	}
}
