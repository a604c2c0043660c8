package report

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/scalelab/scalelab/bench/record"
)

// Kind is what a JSON file given to plot, compare or merge holds.
type Kind int

const (
	// Unknown is JSON that is neither of scalelab's records.
	Unknown Kind = iota
	// RunRecord is a run's run.json (scalelab lab, bench).
	RunRecord
	// LoadRecord is a load generator's record (scalelab load --out,
	// merge).
	LoadRecord
)

// Identify says what kind of record the file at path holds, from the keys
// of its top-level object, so that each command can say what it expected
// instead of failing on a field deep inside. A file that is not JSON is an
// error naming it.
func Identify(path string) (Kind, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Unknown, err
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return Unknown, fmt.Errorf("%s is not a JSON record (%v): give a run folder (scalelab lab, bench) or a record of scalelab load --out", path, err)
	}
	_, hasVersion := top["version"]
	_, hasTool := top["tool"]
	_, hasEnv := top["env"]
	switch {
	case hasVersion && !hasTool:
		// Of any version: reading it says whether this scalelab can.
		return RunRecord, nil
	case hasTool && hasEnv:
		return LoadRecord, nil
	}
	return Unknown, nil
}

// unknownRecord is the error for a JSON file of another kind.
func unknownRecord(path string) error {
	return fmt.Errorf("%s is not a scalelab record: expected a run's run.json (scalelab lab, bench; with \"version\") or a load record (scalelab load --out; with \"tool\" and \"env\")", path)
}

// WriteLoad draws a load generator's record (scalelab load --out) beside
// it: its latency by percentile and its timeline, as NAME-latency.png and
// NAME-timeline.png (and .svg), and its latency distribution as NAME.hgrm
// (HdrHistogram's format), NAME being the record's file name without
// .json. It returns the paths written.
func WriteLoad(path string) ([]string, error) {
	rec, err := record.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if rec.Results.Latency.Hist == nil || rec.Results.Latency.Hist.Histogram == nil {
		return nil, fmt.Errorf("%s has no latency histogram: is it a record of scalelab load --out?", path)
	}
	// The charts of a run draw results; a load is one result of its own.
	x := record.Result{
		Name: strings.Join(rec.Settings.Targets, " "), Tool: rec.Tool,
		Records: []*record.Record{rec},
	}
	if x.Name == "" {
		x.Name = rec.Tool
	}
	run := &record.Run{Started: rec.Started, Results: []record.Result{x}}
	base := strings.TrimSuffix(filepath.Base(path), ".json")
	dir := filepath.Dir(path)
	capt := loadCaption(rec)
	lat := latencyFigure(run, []*record.Result{&run.Results[0]})
	lat.caption = capt
	tl := timelineFigure(run)
	tl.caption = capt
	var written []string
	for _, c := range []Chart{
		{base + "-latency", "Latency by percentile", lat},
		{base + "-timeline", "Timeline of the load", tl},
	} {
		files, _, err := WriteChart(c, dir)
		written = append(written, files...)
		if err != nil {
			return written, err
		}
	}
	// Its latency distribution for HdrHistogram's plotter, as a run's
	// results have theirs.
	hgrm := filepath.Join(dir, base+".hgrm")
	if err := writeFile(hgrm, rec.Results.Latency.Hist.HGRM()); err != nil {
		return written, err
	}
	return append(written, hgrm), nil
}

// loadCaption says where, when and how a load was made.
func loadCaption(rec *record.Record) string {
	s := rec.Settings
	how := fmt.Sprintf("%s loop, %d connections", s.Mode, s.Connections)
	if s.Rate > 0 {
		how = fmt.Sprintf("open loop at %s req/s", num(s.Rate))
	}
	if s.Workload != "" {
		how += ", workload " + s.Workload
	}
	parts := []string{rec.Env.Hostname, fmt.Sprintf("%d cores", rec.Env.CPUs)}
	if !rec.Started.IsZero() {
		parts = append(parts, rec.Started.UTC().Format("2006-01-02 15:04 UTC"))
	}
	parts = append(parts, how, fmt.Sprintf("%s req/s over %s s", num(rec.Results.RequestsPerS), trim(rec.Results.Seconds)), rec.Tool)
	return strings.Join(nonEmpty(parts), "  ·  ")
}
