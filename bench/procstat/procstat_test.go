package procstat_test

import (
	"os/exec"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/scalelab/scalelab/bench/procstat"
)

func TestSelf(t *testing.T) {
	a, err := procstat.Self()
	if err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(50 * time.Millisecond); time.Now().Before(end); {
	}
	b, _ := procstat.Self()
	if d := b.Sub(a).Total(); d < 20*time.Millisecond {
		t.Errorf("50 ms of spinning used %v of CPU", d)
	}
}

// TestWatchCountsDescendants watches a shell whose child spins: the time
// is the child's, counted under the watched parent.
func TestWatchCountsDescendants(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs /proc")
	}
	cmd := exec.Command("sh", "-c", "sh -c 'while :; do :; done' & sleep 5")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // to stop both at once
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the group: shell and child
		cmd.Wait()
	}()
	time.Sleep(50 * time.Millisecond) // let the child start
	w, err := procstat.Watch([]int{cmd.Process.Pid})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond)
	u, err := w.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if len(u) != 1 || u[0].PID != cmd.Process.Pid || u[0].Name != "sh" {
		t.Fatalf("usage %+v", u)
	}
	if got := u[0].Times.Total(); got < 100*time.Millisecond {
		t.Errorf("a spinning child counted %v in 400 ms, want most of it", got)
	}
	if _, err := procstat.Watch([]int{1 << 30}); err == nil {
		t.Error("watching a process that does not exist: no error")
	}
}
