package procstat

import "testing"

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
