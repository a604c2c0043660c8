package procstat

import (
	"strings"
	"testing"
	"time"
)

// A watched process inside another watched process's tree counts once.
func TestNestedWatchedCountsOnce(t *testing.T) {
	snap := map[int]stat{
		1: {name: "serve", ppid: 0},
		2: {name: "nginx", ppid: 1},
		3: {name: "worker", ppid: 2},
		4: {name: "cgi", ppid: 1},
	}
	got := tree(snap, 1, map[int]bool{1: true, 2: true})
	want := map[int]bool{1: true, 4: true}
	if len(got) != len(want) || !want[got[0]] || !want[got[1]] {
		t.Errorf("serve's tree without the watched nginx: %v, want 1 and 4", got)
	}
	if got := tree(snap, 2, map[int]bool{1: true, 2: true}); len(got) != 2 {
		t.Errorf("nginx's tree: %v, want 2 and 3", got)
	}
}

// A worker alive at the start that exits and is reaped by its watched
// parent hands its whole lifetime's time to the parent's cutime: only the
// part after the start counts. One reaped by something outside the tree
// hands nothing over, so nothing is taken off; a PID reused by a new
// process counts the new process whole.
func TestUsedExitedWorkerCountsOnlyItsInterval(t *testing.T) {
	sec := func(n int) Times { return Times{User: time.Duration(n) * time.Second} }
	start := map[int]stat{
		1: {name: "postgres", ppid: 0, times: sec(5), started: 1},
		2: {name: "postgres", ppid: 1, times: sec(100), started: 2}, // exits
		3: {name: "postgres", ppid: 1, times: sec(7), started: 3},   // stays
		4: {name: "postgres", ppid: 1, times: sec(9), started: 4},   // PID reused
	}
	end := map[int]stat{
		// The parent's own 1 s, plus 100 + 2 s of the reaped worker 2
		// and 9 + 1 s of the first process 4.
		1: {name: "postgres", ppid: 0, times: sec(5 + 1 + 102 + 10), started: 1},
		3: {name: "postgres", ppid: 1, times: sec(10), started: 3},
		4: {name: "postgres", ppid: 1, times: sec(4), started: 40},
	}
	got := used(start, end, []int{1, 2, 3, 4})
	// 1 (parent) + 2 (worker 2) + 3 (worker 3) + 1 (old 4) + 4 (new 4)
	if want := sec(11); got != want {
		t.Errorf("used %v, want %v", got.Total(), want.Total())
	}
	// A worker whose parent exited too: whoever reaped it is outside,
	// nothing of its time came in, and nothing is taken off.
	start = map[int]stat{
		1: {name: "serve", ppid: 0, times: sec(1), started: 1},
		5: {name: "cgi", ppid: 6, times: sec(50), started: 5},
		6: {name: "sh", ppid: 1, times: sec(1), started: 6},
	}
	end = map[int]stat{1: {name: "serve", ppid: 0, times: sec(3), started: 1}}
	if got, want := used(start, end, []int{1, 5, 6}), sec(2+0-1); got != want {
		t.Errorf("worker reaped outside: used %v, want %v", got.Total(), want.Total())
	}
}

// TestMachineIntervalHoldsTheProcesses checks the order of a Watcher's
// reads: the machine is read before the processes at Watch and after them
// at Stop, so on a machine busy enough that reading /proc takes a while the
// processes' interval still lies inside the machine's, and the components
// plus idle never add up to more than the machine had.
func TestMachineIntervalHoldsTheProcesses(t *testing.T) {
	var order []string
	procs, machine := readProcs, readMachine
	t.Cleanup(func() { readProcs, readMachine = procs, machine })
	readProcs = func() (map[int]stat, error) {
		order = append(order, "procs")
		return map[int]stat{1: {name: "init"}}, nil
	}
	readMachine = func() (CPUStat, error) {
		order = append(order, "machine")
		return CPUStat{}, nil
	}
	w, err := Watch([]int{1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Stop(); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(order, " "), "machine procs procs machine"; got != want {
		t.Errorf("reads in the order %q, want %q", got, want)
	}
}

// The machine's time is its cores × the wall time between its two reads:
// however little the busy fields caught, the processes and idle time can
// add up to no more than that.
func TestMachineTimeIsCoresTimesWall(t *testing.T) {
	procs, machine := readProcs, readMachine
	t.Cleanup(func() { readProcs, readMachine = procs, machine })
	readProcs = func() (map[int]stat, error) { return map[int]stat{1: {name: "init"}}, nil }
	readMachine = func() (CPUStat, error) { return CPUStat{Cores: 3}, nil }
	before := time.Now()
	w, err := Watch([]int{1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Stop(); err != nil {
		t.Fatal(err)
	}
	wall := time.Since(before)
	if got := w.MachineTime(); got <= 0 || got > 3*wall || got%3 != 0 {
		t.Errorf("machine time %v for 3 cores over at most %v of wall", got, wall)
	}
}
