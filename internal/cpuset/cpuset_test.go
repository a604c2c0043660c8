package cpuset

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/scalelab/scalelab/internal/wait"
)

func TestParseAndString(t *testing.T) {
	for in, want := range map[string]string{"0": "0", "0-1": "0-1", "0,2": "0,2", "3,0-1,2": "0-3", "1, 1": "1", "0-0,5-7": "0,5-7"} {
		s, err := Parse(in)
		if err != nil || s.String() != want {
			t.Errorf("Parse(%q) = %v (%q), %v; want %q", in, s, s.String(), err, want)
		}
	}
	for _, bad := range []string{"", "a", "1-0", "-1", "0,,1", "0-", "5000"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) passed", bad)
		}
	}
}

func TestSplitLeavesTheServersACPU(t *testing.T) {
	all, err := Allowed()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Split(all.String()); err == nil || !strings.Contains(err.Error(), "leave at least one") {
		t.Errorf("every CPU for the client: %v", err)
	}
	if _, _, err := Split("1000"); err == nil {
		t.Error("a CPU the machine lacks passed")
	}
	if len(all) < 2 {
		t.Skip("one CPU available: nothing to split")
	}
	client, servers, err := Split(all[:1].String())
	if err != nil || !slices.Equal(client, all[:1]) || !slices.Equal(servers, all[1:]) {
		t.Errorf("Split(%s) = %v, %v, %v", all[:1], client, servers, err)
	}
}

// PinTree pins a running process, its children, and what they start
// afterwards, as /proc/PID/status reads back.
func TestPinTreeReadsBack(t *testing.T) {
	all, _ := Allowed()
	if len(all) < 2 {
		t.Skip("one CPU available: a pin would change nothing")
	}
	one := all[len(all)-1:]
	// A shell that keeps starting short-lived children: one started after
	// the pin must inherit it.
	cmd := exec.Command("sh", "-c", "sleep 600 & while :; do sleep 0.02; done")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	wait.For(t, "the shell's long child", func() bool { return len(descendants(cmd.Process.Pid)) >= 2 })
	before := descendants(cmd.Process.Pid)
	if err := PinTree(cmd.Process.Pid, one); err != nil {
		t.Fatal(err)
	}
	for _, pid := range before {
		if got, err := Of(pid); err == nil && !slices.Equal(got, one) {
			t.Errorf("process %d runs on CPU %s, want %s", pid, got, one)
		}
	}
	wait.For(t, "a child started after the pin", func() bool {
		for _, pid := range descendants(cmd.Process.Pid) {
			if !slices.Contains(before, pid) {
				got, err := Of(pid)
				if err != nil {
					continue // it has exited already
				}
				if !slices.Equal(got, one) {
					t.Fatalf("process %d, started after the pin, runs on CPU %s, want %s", pid, got, one)
				}
				return true
			}
		}
		return false
	})
}
