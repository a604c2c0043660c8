// Package report turns a run's record (run.json, written by bench/driver)
// into what a person looks at: charts (PNG for slides and web pages, SVG
// for editing), one self-contained report.html that tells the talk's story
// stage by stage, report.md with the same tables, and the comparison of
// two runs.
//
// Everything here is a function of the record alone: no clock, no network,
// no stage. Drawing a run again gives the same files, so a chart in the
// README can always be traced back to, and regenerated from, its record.
//
// Charts are drawn with gonum.org/v1/plot, whose fonts are embedded in the
// library, so the PNG files look the same on every machine.
package report

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/scalelab/scalelab/bench/record"
)

// RunFile is the name of a run's record inside its folder.
const RunFile = "run.json"

// Load reads a run's record from its folder (or from the run.json given
// directly). Errors name the file and say what is wrong with it.
func Load(path string) (*record.Run, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, RunFile)
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: no such file (give a run folder written by scalelab lab or bench)", path)
	}
	kind, err := Identify(path)
	switch {
	case err != nil:
		return nil, err
	case kind == LoadRecord:
		return nil, fmt.Errorf("%s is a load record (scalelab load --out), not a run's: scalelab plot draws it, scalelab merge combines it with others", path)
	case kind == Unknown:
		return nil, unknownRecord(path)
	}
	// record.ReadRun's errors name the file (os errors carry the path).
	return record.ReadRun(path)
}

// Write draws the run recorded in dir into dir: each chart as NAME.png
// and NAME.svg, report.html and report.md, and writes the record's
// exports again (summary.csv, bench.txt, the .hgrm files: see
// record.Run.WriteExports). It returns the paths written.
//
// Given the file of a load record (scalelab load --out) instead, it draws
// that record's charts beside it (see WriteLoad).
func Write(dir string) ([]string, error) {
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		if kind, err := Identify(dir); err == nil && kind == LoadRecord {
			return WriteLoad(dir)
		}
	}
	run, err := Load(dir)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		dir = filepath.Dir(dir)
	}
	return WriteRun(run, dir)
}

// WriteRun draws run into the folder dir (see Write).
func WriteRun(run *record.Run, dir string) ([]string, error) {
	var written []string
	charts := Charts(run)
	images := map[string][]byte{}
	for _, c := range charts {
		files, png, err := WriteChart(c, dir)
		written = append(written, files...)
		if err != nil {
			return written, err
		}
		images[c.Name] = png
	}
	html, err := HTML(run, charts, images)
	if err != nil {
		return written, err
	}
	exports, err := run.WriteExports(dir)
	written = append(written, exports...)
	if err != nil {
		return written, err
	}
	for _, f := range []struct {
		name string
		b    []byte
	}{{"report.html", html}, {"report.md", Markdown(run, charts)}} {
		p := filepath.Join(dir, f.name)
		if err := writeFile(p, f.b); err != nil {
			return written, err
		}
		written = append(written, p)
	}
	return written, nil
}

// WriteChart writes a chart into dir as NAME.png and NAME.svg. It returns
// the paths written and the PNG's bytes.
func WriteChart(c Chart, dir string) ([]string, []byte, error) {
	png, err := c.PNG()
	if err != nil {
		return nil, nil, chartError(c.Name, err)
	}
	svg, err := c.SVG()
	if err != nil {
		return nil, nil, chartError(c.Name, err)
	}
	var written []string
	for _, f := range []struct {
		ext string
		b   []byte
	}{{".png", png}, {".svg", svg}} {
		p := filepath.Join(dir, c.Name+f.ext)
		if err := writeFile(p, f.b); err != nil {
			return written, png, err
		}
		written = append(written, p)
	}
	return written, png, nil
}

// writeFile writes through a temporary file and a rename, so that a
// report open in a browser is never seen half-written.
func writeFile(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
