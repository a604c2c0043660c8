package report

import (
	"fmt"

	"github.com/scalelab/scalelab/bench/record"
)

// thresholdWarnings are the run's breached thresholds (--threshold), first
// among the report's warnings: a run that failed its gate must say why in
// the report a CI job publishes, not only in its log.
func thresholdWarnings(run *record.Run) []string {
	breached := record.Breached(run.Thresholds)
	if len(breached) == 0 {
		return nil
	}
	out := []string{fmt.Sprintf("%d of %d threshold checks breached", len(breached), len(run.Thresholds))}
	for _, c := range breached {
		out = append(out, "threshold "+c.String())
	}
	return out
}
