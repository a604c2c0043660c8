package report

import (
	"fmt"

	"github.com/scalelab/scalelab/bench/record"
)

// MergeFiles reads load-generator records (scalelab load --out) and
// merges them with record.Merge into one, as if one client had sent every
// request: for runs that loaded the same server at the same time from
// several processes or machines. A file that is not such a record (a
// run.json, say) is an error naming it.
func MergeFiles(paths ...string) (*record.Record, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("merge: no record files given")
	}
	var recs []*record.Record
	for _, p := range paths {
		switch kind, err := Identify(p); {
		case err != nil:
			return nil, fmt.Errorf("merge: %w", err)
		case kind == RunRecord:
			return nil, fmt.Errorf("merge: %s is a run's record (run.json), not a load-generator record (written by scalelab load --out)", p)
		case kind == Unknown:
			return nil, fmt.Errorf("merge: %w", unknownRecord(p))
		}
		r, err := record.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("merge: %w", err)
		}
		if r.Tool == "" || r.Results.Latency.Hist == nil || r.Results.Latency.Hist.Histogram == nil {
			return nil, fmt.Errorf("merge: %s is not a load-generator record (written by scalelab load --out)", p)
		}
		recs = append(recs, r)
	}
	m, err := record.Merge(recs...)
	if err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	return m, nil
}
