// Package infratest starts the lab's real services for tests: a private
// PostgreSQL and memcached in a fresh state folder, stopped at the end.
//
// A missing binary skips the tests with a message saying how to install
// it, except under CI (CI=true), where it is a failure.
package infratest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/scalelab/scalelab/infra"
)

// StateDir makes a fresh state folder as the lab makes its own (see
// infra.PrepareState): private to this user, and, as root, enterable by
// the lab's service user that runs the servers.
func StateDir(prefix string) (string, error) {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", err
	}
	if err := infra.PrepareState(dir); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// Main runs a test package's tests with a private lab: it starts the lab's
// PostgreSQL and memcached, calls run with their addresses, and stops them
// and removes the folder afterwards. Use it from TestMain:
//
//	func TestMain(m *testing.M) { infratest.Main(m, func(s infra.Services) { svc = s }) }
func Main(m *testing.M, ready func(dir string, s infra.Services)) {
	os.Exit(run(m, ready))
}

// inheritedLab names the environment variable through which a test
// binary's child processes (the workers of go test -fuzz) reuse the lab of
// the process that started them instead of starting their own.
const inheritedLab = "SCALELAB_TEST_LAB"

// Inherited reports whether this process uses a lab started by its parent
// test process; such a process must not load data or stop the lab.
func Inherited() bool { return os.Getenv(inheritedLab) != "" }

func run(m *testing.M, ready func(string, infra.Services)) int {
	if v := os.Getenv(inheritedLab); v != "" {
		var l struct {
			Dir string
			infra.Services
		}
		if err := json.Unmarshal([]byte(v), &l); err != nil {
			fmt.Fprintln(os.Stderr, "infratest:", inheritedLab, err)
			return 1
		}
		ready(l.Dir, l.Services)
		return m.Run()
	}
	dir, err := StateDir("scalelab-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "infratest:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	lab := &infra.Lab{State: dir}
	svc, started, err := lab.Up(context.Background())
	if err != nil {
		if errors.Is(err, infra.ErrMissingBinary) && os.Getenv("CI") != "true" {
			fmt.Fprintln(os.Stderr, "SKIP: these tests need the lab's real services:", err)
			return 0
		}
		fmt.Fprintln(os.Stderr, "infratest: start the lab:", err)
		return 1
	}
	defer lab.Stop(started)
	// A test run stopped by a signal (Ctrl-C, a timeout's SIGTERM, a
	// closed output pipe) still stops its servers.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE)
	go func() {
		sig := <-sigs
		// SIGPIPE also comes when a test writes to a socket a server
		// closed (a hostile-input test does): only a broken stdout or
		// stderr ends the run.
		for sig == syscall.SIGPIPE && !outputBroken() {
			sig = <-sigs
		}
		lab.Stop(started)
		os.RemoveAll(dir)
		fmt.Fprintln(os.Stderr, "infratest: stopped the lab on", sig)
		os.Exit(2)
	}()
	b, _ := json.Marshal(struct {
		Dir string
		infra.Services
	}{dir, svc})
	ready(dir, svc)
	os.Setenv(inheritedLab, string(b))
	return m.Run()
}

// NeedBinary skips (or, under CI, fails) t when err says a binary is missing.
func NeedBinary(t testing.TB, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if errors.Is(err, infra.ErrMissingBinary) && os.Getenv("CI") != "true" {
		t.Skip(err)
	}
	t.Fatal(err)
}

// LabProcesses lists the PIDs of processes working in dir: those whose
// working folder or command line is inside it. Every process the lab
// starts works in its state folder, so none must be left after "down".
func LabProcesses(dir string) []int {
	abs, _ := filepath.Abs(dir)
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid := 0
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil || pid == os.Getpid() {
			continue
		}
		stat, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if i := strings.LastIndexByte(string(stat), ')'); i > 0 && len(stat) > i+2 && stat[i+2] == 'Z' {
			continue // a zombie has ended; only its exit status is left
		}
		cwd, _ := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if strings.HasPrefix(cwd, abs) || strings.Contains(string(cmdline), abs) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// outputBroken reports whether stdout or stderr is a pipe or socket whose
// reader has gone: poll reports POLLERR (or POLLHUP) on its write end.
func outputBroken() bool {
	fds := []unix.PollFd{{Fd: 1}, {Fd: 2}}
	if _, err := unix.Poll(fds, 0); err != nil {
		return false
	}
	for _, f := range fds {
		if f.Revents&(unix.POLLERR|unix.POLLHUP) != 0 {
			return true
		}
	}
	return false
}
