package record

import "testing"

// Outsiders are what the machine was busy with beyond the client and the
// watched processes, read from two /proc/stat snapshots' difference.
func TestNoise(t *testing.T) {
	c := CPU{ClientUserS: 1, ClientSysS: 0.5,
		Watched: []ProcCPU{{UserS: 3, SysS: 1}, {UserS: 2}},
		// 2 cores × 10 s: 9 busy, 10.5 idle, 0.5 steal.
		Machine: &MachineCPU{TotalS: 20, BusyS: 9, IdleS: 10.5, StealS: 0.5}}
	out, steal, total, ok := c.Noise()
	if !ok || out != 1.5 || steal != 0.5 || total != 20 {
		t.Errorf("noise: outside %v steal %v total %v ok %v, want 1.5 0.5 20 true", out, steal, total, ok)
	}
	if IsNoisy(out, steal, total) {
		t.Error("2 of 20 CPU-s taken by others is not above 10%")
	}
	if !IsNoisy(out+0.1, steal, total) {
		t.Error("2.1 of 20 CPU-s taken by others is above 10%")
	}
	// The lab counted in ticks may come out a little above the machine's
	// busy time: outsiders are then none, not a negative number.
	c.Machine.BusyS = 7
	if out, _, _, _ := c.Noise(); out != 0 {
		t.Errorf("outside %v, want 0", out)
	}
	if _, _, _, ok := (CPU{}).Noise(); ok {
		t.Error("a record without the machine's account has noise")
	}
}

func TestWhereWarnings(t *testing.T) {
	w := &Where{CPUS: map[string]float64{CPUPostgres: 16, CPUIdle: 6}, MachineS: 20}
	if !w.Overcounted() || len(w.Warnings()) != 1 {
		t.Errorf("22 of 20 CPU-s: overcounted %v, warnings %q", w.Overcounted(), w.Warnings())
	}
	w.CPUS[CPUIdle] = 4.5 // within the 5% of ticks
	w.Noisy, w.Remeasured = 1, 1
	if w.Overcounted() || len(w.Warnings()) != 2 {
		t.Errorf("20.5 of 20 CPU-s, noisy: overcounted %v, warnings %q", w.Overcounted(), w.Warnings())
	}
}
