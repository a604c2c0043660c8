package record

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/scalelab/scalelab/stages"
)

// Key names a result's stage in tables, charts and benchmark names: the
// stage's id, or its no-index variant's ("4-noindex").
func (x *Result) Key() string { return stages.Key(x.Stage, x.NoIndex) }

// ReadRun reads a run.json. A record of an older version is upgraded as it
// is read (the committed runs of earlier versions still plot); one of a
// newer version is an error that says so.
func ReadRun(path string) (*Run, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var head struct {
		Version int `json:"version"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	switch {
	case head.Version < 1 || head.Version > RunVersion:
		return nil, fmt.Errorf("read %s: record version %d, this scalelab reads versions 1 to %d (use the scalelab that wrote it)", path, head.Version, RunVersion)
	case head.Version < RunVersion:
		if b, err = upgradeRun(b); err != nil {
			return nil, fmt.Errorf("read %s: upgrade from version %d: %w", path, head.Version, err)
		}
	}
	var r Run
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	// Stalls are computed from the records, so a run recorded before they
	// were has them too: the report flags its stalled stages alike.
	for i := range r.Results {
		if x := &r.Results[i]; x.Stalls == nil {
			x.Stalls = StallsOf(x.Records)
		}
	}
	return &r, nil
}

// v1Components are version 1's CPU component keys.
var v1Components = map[string]string{
	"load generator": CPUClient,
	"nginx":          CPUNginx,
	"app servers":    CPUApp,
	"serve (CGI host, app server of stage 2, Go of stage 0)": CPUServe,
	"PostgreSQL": CPUPostgres,
	"memcached":  CPUMemcached,
	"idle":       CPUIdle,
}

// upgradeRun rewrites a version 1 run.json as version 2: the same data
// under version 2's names.
func upgradeRun(b []byte) ([]byte, error) {
	var run map[string]any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber() // keep every number as written
	if err := d.Decode(&run); err != nil {
		return nil, err
	}
	rename := func(m map[string]any, from, to string) {
		if v, ok := m[from]; ok && from != to {
			m[to] = v
			delete(m, from)
		}
	}
	results, _ := run["results"].([]any)
	for _, x := range results {
		res, ok := x.(map[string]any)
		if !ok {
			continue
		}
		rename(res, "rps", "requests_per_s")
		rename(res, "rps_runs", "requests_per_s_runs")
		rename(res, "talk_rps", "talk_requests_per_s")
		if st, ok := res["stage"].(string); ok {
			if id, noIndex := stages.ParseKey(st); noIndex {
				res["stage"], res["no_index"] = id, true
			}
		}
		if w, ok := res["where"].(map[string]any); ok {
			for _, k := range []string{"cpu_s", "cpu_us_per_request"} {
				if m, ok := w[k].(map[string]any); ok {
					for old, id := range v1Components {
						rename(m, old, id)
					}
				}
			}
		}
		if f, ok := res["fault"].(map[string]any); ok {
			rename(f, "before_rps", "before_requests_per_s")
			rename(f, "dip_rps", "dip_requests_per_s")
		}
		if c, ok := res["capacity"].(map[string]any); ok {
			rename(c, "achieved_rps", "achieved_requests_per_s")
			trials, _ := c["trials"].([]any)
			for _, t := range trials {
				if t, ok := t.(map[string]any); ok {
					rename(t, "achieved_rps", "achieved_requests_per_s")
				}
			}
		}
	}
	run["version"] = RunVersion
	return json.Marshal(run)
}

// Write saves run.json and the exports drawn from it (summary.csv,
// bench.txt, the .hgrm files: see WriteExports) into dir, each atomically:
// a reader (or a crash) never sees half a file.
func (r *Run) Write(dir string) error {
	b, err := json.MarshalIndent(r, "", " ")
	if err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(dir, "run.json"), b); err != nil {
		return err
	}
	_, err = r.WriteExports(dir)
	return err
}

func writeAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		os.Remove(tmp) // a partial file only takes the space others need
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Stage1RPS is the CGI stage's req/s with the same tool, the base of the
// speed-ups; zero if the run has none.
func (r *Run) Stage1RPS(tool string) float64 {
	if x := r.Stage1(tool); x != nil {
		return x.RPS
	}
	return 0
}

// Stage1 is the CGI stage's result with the same tool, or nil.
func (r *Run) Stage1(tool string) *Result {
	for i := range r.Results {
		x := &r.Results[i]
		if x.Stage == stages.Base().ID && !x.NoIndex && x.Tool == tool && !x.Sweep && !x.Crossover {
			return x
		}
	}
	return nil
}
