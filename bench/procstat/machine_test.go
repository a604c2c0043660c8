package procstat

import (
	"testing"
	"time"
)

func TestParseCPUStat(t *testing.T) {
	a, err := ParseCPUStat("cpu  100 5 50 800 20 1 4 10 0 0\ncpu0 50 2 25 400 10 0 2 5 0 0\n")
	if err != nil {
		t.Fatal(err)
	}
	if a.Busy() != 1600*time.Millisecond || a.IdleTime() != 8200*time.Millisecond || a.Steal != 100*time.Millisecond {
		t.Errorf("busy %v idle %v steal %v", a.Busy(), a.IdleTime(), a.Steal)
	}
	if a.Total() != 9900*time.Millisecond {
		t.Errorf("total %v", a.Total())
	}
	if c, _ := ParseCPUStat("cpu  1 1 1 1 1 1 1 1\ncpu0 1 1 1 1 1 1 1 1\ncpu1 1 1 1 1 1 1 1 1\ncpufreq 3\nintr 9\n"); c.Cores != 2 {
		t.Errorf("%d cores in a /proc/stat with cpu0 and cpu1, want 2", c.Cores)
	}
	if _, err := ParseCPUStat("intr 1 2 3"); err == nil {
		t.Error("no cpu line: no error")
	}
	// An old kernel without the steal field.
	if b, err := ParseCPUStat("cpu 1 2 3 4 5 6 7"); err != nil || b.Steal != 0 || b.Total() != 280*time.Millisecond {
		t.Errorf("%+v %v", b, err)
	}
}
