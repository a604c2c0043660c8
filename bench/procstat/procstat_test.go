package procstat_test

import (
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/scalelab/scalelab/bench/procstat"
)

// TestSelf spins until the kernel's other account of this process's time
// (/proc/self/stat) has grown by 100 ms, however long that takes on a busy
// machine: getrusage must have seen about as much.
func TestSelf(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs /proc")
	}
	a, err := procstat.Self()
	if err != nil {
		t.Fatal(err)
	}
	p0, err := procstat.Of(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		p, _ := procstat.Of(os.Getpid())
		if p.Sub(p0).Total() >= 100*time.Millisecond {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("/proc/self/stat showed no CPU time in 30 s of spinning")
		}
	}
	b, _ := procstat.Self()
	// /proc counts in 10 ms ticks; allow for them.
	if d := b.Sub(a).Total(); d < 80*time.Millisecond {
		t.Errorf("getrusage saw %v of CPU while /proc saw 100 ms", d)
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
