package procstat_test

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scalelab/scalelab/bench/procstat"
	"github.com/scalelab/scalelab/internal/wait"
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
	// The parent outlives any wait below; the group is killed at the end.
	cmd := exec.Command("sh", "-c", "sh -c 'while :; do :; done' & sleep 600")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // to stop both at once
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the group: shell and child
		cmd.Wait()
	}()
	// A child started after Watch counts too (it is in the tree at Stop).
	w, err := procstat.Watch([]int{cmd.Process.Pid})
	if err != nil {
		t.Fatal(err)
	}
	// Stop only reads: it can be asked again until the spinning child's
	// 100 ms of CPU show, however long a busy machine takes to give them.
	var u []procstat.Usage
	counted := wait.Until(func() bool {
		u, err = w.Stop()
		return err == nil && len(u) == 1 && u[0].Times.Total() >= 100*time.Millisecond
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(u) != 1 || u[0].PID != cmd.Process.Pid || u[0].Name != "sh" {
		t.Fatalf("usage %+v", u)
	}
	if !counted {
		t.Errorf("a spinning child counted %v under its parent after %s, want 100 ms", u[0].Times.Total(), wait.Hang)
	}
	if _, err := procstat.Watch([]int{1 << 30}); err == nil {
		t.Error("watching a process that does not exist: no error")
	}
}

// TestExitedChildCountsOnlyItsWindow: a child that had used CPU before
// the watch, and is killed and reaped by its watched parent during it,
// hands its whole lifetime's time to the parent's cutime; only what it
// used during the watch (nothing: it was stopped) may count.
func TestExitedChildCountsOnlyItsWindow(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs /proc")
	}
	cmd := exec.Command("sh", "-c", "sh -c 'while :; do :; done'; sleep 600")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	}()
	child := 0
	var before procstat.Times
	spun := wait.Until(func() bool {
		if child == 0 {
			child = childOf(cmd.Process.Pid)
			return false
		}
		before, _ = procstat.Of(child)
		return before.Total() >= 300*time.Millisecond
	})
	if !spun {
		t.Fatalf("the child %d spun only %v in %s", child, before.Total(), wait.Hang)
	}
	if err := syscall.Kill(child, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	w, err := procstat.Watch([]int{cmd.Process.Pid})
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(child, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	reaped := wait.Until(func() bool { _, err := procstat.Of(child); return err != nil })
	if !reaped {
		t.Fatalf("the killed child %d was not reaped in %s", child, wait.Hang)
	}
	u, err := w.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if got := u[0].Times.Total(); got >= before.Total()/2 {
		t.Errorf("a child stopped during the whole watch counted %v: its %v from before the watch came in through the parent's cutime", got, before.Total())
	}
}

// childOf is the PID of a child of pid, or 0.
func childOf(pid int) int {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			n, _ := strconv.Atoi(e.Name())
			return n
		}
	}
	return 0
}
