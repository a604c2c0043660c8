package driver

import (
	"testing"

	"github.com/scalelab/scalelab/bench/record"
)

// A measurement is taken again once when outsiders took more than 10% of
// the machine, never twice, and never when they did not.
func TestRemeasure(t *testing.T) {
	cpu := func(outside float64) record.CPU {
		return record.CPU{ClientUserS: 2, Watched: []record.ProcCPU{{UserS: 10}},
			Machine: &record.MachineCPU{TotalS: 20, BusyS: 12 + outside, IdleS: 8 - outside}}
	}
	for _, c := range []struct {
		outside      float64
		retaken      bool
		noisy, again bool
	}{
		{0, false, false, false},
		{2, false, false, false}, // exactly 10%: not above
		{3, false, true, true},
		{3, true, true, false}, // the second attempt is kept, flagged
		{0, true, false, false},
	} {
		noisy, again := remeasure(cpu(c.outside), c.retaken)
		if noisy != c.noisy || again != c.again {
			t.Errorf("outsiders %v CPU-s of 20, retaken %v: noisy %v again %v, want %v %v", c.outside, c.retaken, noisy, again, c.noisy, c.again)
		}
	}
	if noisy, again := remeasure(record.CPU{}, false); noisy || again {
		t.Error("a record without the machine's account is taken again")
	}
}
