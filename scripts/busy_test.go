package scripts

import (
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// busyPIDs returns the hogs' PIDs that busy.sh announced.
func busyPIDs(t *testing.T, out string) []int {
	t.Helper()
	m := regexp.MustCompile(`CPU hogs running \(pids ([0-9 ]+)\)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("busy.sh did not name its hogs: %q", out)
	}
	var pids []int
	for _, f := range strings.Fields(m[1]) {
		n, _ := strconv.Atoi(f)
		pids = append(pids, n)
	}
	return pids
}

// hogAlive reports whether pid is still one of busy.sh's busy loops (a
// PID reused by another process does not count).
func hogAlive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return err == nil && bytes.Contains(b, []byte("while :; do :; done"))
}

// busy.sh runs the command the rounds asked for while the hogs run, stops
// at the first failure, and leaves no hog behind, also when interrupted.
func TestBusyRunsRoundsAndStopsItsHogs(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		rounds   int
		signaled bool
	}{
		{"passes", []string{"-n", "3", "bash", "-c", "echo round"}, 0, 3, false},
		{"fails", []string{"-n", "3", "bash", "-c", "echo round; exit 1"}, 1, 1, false},
		// Ctrl-C: the terminal signals the whole process group.
		{"interrupted", []string{"bash", "-c", "echo round; kill -INT 0; sleep 60"}, 130, 1, true},
	} {
		cmd := exec.Command("./busy.sh", tc.args...)
		cmd.Env = append(os.Environ(), "BUSY_HOGS=2")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		err := cmd.Run()
		code := cmd.ProcessState.ExitCode()
		if err != nil && code < 0 {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if code != tc.code {
			t.Errorf("%s: exit code %d, want %d\n%s", tc.name, code, tc.code, out.String())
		}
		if n := strings.Count("\n"+out.String(), "\nround\n"); n != tc.rounds {
			t.Errorf("%s: the command ran %d times, want %d", tc.name, n, tc.rounds)
		}
		pids := busyPIDs(t, out.String())
		if len(pids) != 2 {
			t.Errorf("%s: %d hogs, want 2 (BUSY_HOGS)", tc.name, len(pids))
		}
		for _, p := range pids {
			if hogAlive(p) {
				t.Errorf("%s: hog %d still runs after busy.sh ended", tc.name, p)
				syscall.Kill(p, syscall.SIGKILL)
			}
		}
		if tc.signaled {
			// The command's own sleep is busy.sh's child, not a hog.
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	}
}
