package driver

import (
	"slices"
	"testing"

	"github.com/scalelab/scalelab/infra"
)

// The serve child is recorded under a name made of its arguments, which
// may hold "-app-" (--app-cpu): it must count once, as serve, never also
// as an app server. The talk-regime run of 2026-12-01 counted stages 1
// and 2's serve twice this way (twice the CPU the machine had).
func TestWatchListCountsEachProcessOnce(t *testing.T) {
	lab := &infra.Lab{State: t.TempDir()}
	for _, p := range []*infra.Process{
		{Name: servePrefix + "2---app-cpu-7ms---app-start-cpu-36ms", PID: 100},
		{Name: "stage3-app-1", PID: 200},
		{Name: "stage3-app-12", PID: 201},
		{Name: "stage3-nginx", PID: 300},
		{Name: "postgres", PID: 400},
		{Name: "memcached", PID: 500},
		{Name: "stage3-app-x", PID: 600}, // not an app server's name
	} {
		if err := lab.Record(p); err != nil {
			t.Fatal(err)
		}
	}
	nginx, apps, pg, mc := components(lab)
	if !slices.Equal(apps, []int{200, 201}) || !slices.Equal(nginx, []int{300}) || pg != 400 || mc != 500 {
		t.Errorf("components: nginx %v, apps %v, postgres %d, memcached %d", nginx, apps, pg, mc)
	}
	if got := watchList(lab, 100); !slices.Equal(got, []int{100, 200, 201, 300, 400, 500}) {
		t.Errorf("watchList = %v: each process once", got)
	}
}
