package driver

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/scalelab/scalelab/infra"
	"github.com/scalelab/scalelab/internal/cpuset"
)

// served is a running "scalelab serve" child.
type served struct {
	cmd  *exec.Cmd
	pid  int
	urls []string
	log  string
	done chan struct{}
	// rec is the child's record in lab, removed when it stops.
	rec *infra.Process
	lab *infra.Lab
	// proxy stands between the stage and PostgreSQL for a slow-db fault.
	proxy *delayProxy
	// timeout is how long the load waits for one answer.
	timeout time.Duration
	// unpinned are the CPUs the lab's own services (PostgreSQL, memcached)
	// ran on before pinServers pinned them, by name: they outlive the
	// stage, and a later run in the same lab must not find them pinned.
	unpinned map[string]cpuset.Set
}

// startServe runs "scalelab serve ARGS" as a child with its output in
// logPath and waits until it has written its ready file.
func startServe(ctx context.Context, o Options, args []string, logPath string, env ...string) (*served, error) {
	port, err := infra.FreePort()
	if err != nil {
		return nil, err
	}
	ready := logPath + ".ready"
	os.Remove(ready)
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	full := append(append([]string{"serve"}, args...), "--addr", fmt.Sprintf("127.0.0.1:%d", port),
		"--state", o.State, "--ready-file", ready, "--seed-users", fmt.Sprint(o.Users))
	cmd := exec.Command(o.Exe, full...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group: a Ctrl-C at the terminal reaches the driver,
	// which stops the child itself, in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start scalelab serve: %w", err)
	}
	s := &served{cmd: cmd, pid: cmd.Process.Pid, log: logPath, done: make(chan struct{})}
	go func() { cmd.Wait(); close(s.done) }()
	// Recorded in the lab, so that "scalelab down" stops it (and it stops
	// what it started) even if the driver itself is killed.
	if o.Lab != nil {
		s.rec, s.lab = infra.Adopt(servePrefix+strings.Join(args, "-"), s.pid), o.Lab
		o.Lab.Record(s.rec)
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		if b, err := os.ReadFile(ready); err == nil {
			var r struct {
				URLs []string `json:"urls"`
			}
			if err := json.Unmarshal(b, &r); err == nil && len(r.URLs) > 0 {
				os.Remove(ready)
				s.urls = r.URLs
				unpinned, err := pinServers(o, s.pid)
				s.unpinned = unpinned
				if err != nil {
					s.stop()
					return nil, err
				}
				return s, nil
			}
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("scalelab serve %s exited before serving (see %s): %s", strings.Join(args, " "), logPath, tail(logPath))
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("scalelab serve %s did not become ready (see %s)", strings.Join(args, " "), logPath)
		}
	}
}

// stop sends the child the Ctrl-C it expects and waits for it to stop
// everything it started (rebuilding dropped indexes can take a while).
func (s *served) stop() {
	syscall.Kill(s.pid, syscall.SIGINT)
	select {
	case <-s.done:
	case <-time.After(5 * time.Minute):
		syscall.Kill(-s.pid, syscall.SIGKILL)
		<-s.done
	}
	if s.lab != nil {
		s.lab.Forget(s.rec)
	}
	s.unpinServices()
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 3 {
		lines = lines[len(lines)-3:]
	}
	return strings.Join(lines, " | ")
}

// pinClient pins this process — the load generator, and the ab and wrk it
// starts — to o.ClientCPUs, and checks that the kernel did.
func pinClient(o Options) error {
	if len(o.ClientCPUs) == 0 {
		return nil
	}
	if err := cpuset.PinSelf(o.ClientCPUs); err != nil {
		return err
	}
	return checkPinned(os.Getpid(), "the load generator", o.ClientCPUs)
}

// pinServers pins every server of a stage — the serve child and all it
// started, nginx, the app servers, PostgreSQL and memcached — to
// o.ServerCPUs, and checks that the kernel did: what they start later (a
// CGI program, a database backend, a restarted app server) inherits it.
// It returns the CPUs the lab's own services had before, for stop to give
// back (see served.unpinned).
func pinServers(o Options, servePID int) (map[string]cpuset.Set, error) {
	if len(o.ServerCPUs) == 0 {
		return nil, nil
	}
	before := map[string]cpuset.Set{}
	_, _, pg, mc := components(o.Lab)
	for name, pid := range map[string]int{"postgres": pg, "memcached": mc} {
		if pid <= 0 {
			continue
		}
		set, err := cpuset.Of(pid)
		if err != nil {
			return before, err
		}
		before[name] = set
	}
	for _, pid := range watchList(o.Lab, servePID) {
		if err := cpuset.PinTree(pid, o.ServerCPUs); err != nil {
			return before, err
		}
		if err := checkPinned(pid, fmt.Sprintf("server process %d", pid), o.ServerCPUs); err != nil {
			return before, err
		}
	}
	return before, nil
}

// unpinServices gives the lab's own services back the CPUs they had before
// pinServers, found by name: a fault may have started one again under
// another PID.
func (s *served) unpinServices() {
	if s.lab == nil || len(s.unpinned) == 0 {
		return
	}
	for _, p := range s.lab.Recorded() {
		if set, ok := s.unpinned[p.Name]; ok && p.PID > 0 {
			// The CPUs were the service's own a moment ago: nothing but
			// the service's exit (then nothing is left to give back) can
			// make this fail.
			_ = cpuset.PinTree(p.PID, set)
		}
	}
}

// checkPinned reads back from /proc the CPUs pid may run on.
func checkPinned(pid int, what string, want cpuset.Set) error {
	got, err := cpuset.Of(pid)
	if err != nil {
		return err
	}
	if got.String() != want.String() {
		return fmt.Errorf("%s runs on CPU %s after pinning it to %s (a cgroup's cpuset may forbid it)", what, got, want)
	}
	return nil
}
