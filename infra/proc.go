package infra

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Process is a server process the lab started. It is saved as JSON in the
// state folder so that later commands can find and stop it.
type Process struct {
	// Name is the service: "postgres", "memcached" or "nginx".
	Name string `json:"name"`
	// PID of the server's main process (the postmaster, the nginx master).
	PID int `json:"pid"`
	// StartTime is the process start time in clock ticks since boot, from
	// /proc/PID/stat; together with PID it identifies the process even when
	// the PID is later reused.
	StartTime uint64 `json:"start_time"`
	// Addr is the host:port the server listens on.
	Addr string `json:"addr"`
	// Dir is the server's data or prefix folder.
	Dir string `json:"dir"`
	// Log is the server's log file.
	Log string `json:"log"`

	// exited is closed when this process (started by this program) has been
	// reaped; nil for a process found through its state file.
	exited chan struct{}
}

// Alive reports whether the recorded process still runs: the PID exists, is
// not a zombie, and has the recorded start time.
func (p *Process) Alive() bool {
	if p == nil || p.PID <= 0 {
		return false
	}
	if p.exited != nil {
		select {
		case <-p.exited:
			return false
		default:
		}
	}
	st, state, err := procStat(p.PID)
	if err != nil || state == 'X' {
		return false
	}
	if p.StartTime != 0 && st != p.StartTime {
		return false // the PID was reused
	}
	// A process whose main thread has exited shows as a zombie while its
	// other threads still run, and those may still hold its listening
	// sockets (memcached's worker threads do): it is gone only when its
	// last thread is.
	return state != 'Z' || threads(p.PID) > 1
}

// threads returns the number of threads of a process (its "Threads:" line
// in /proc/PID/status), or 0 when it cannot be read.
func threads(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}

// groupAlive reports whether any process is left in the process group
// pgid (a server started by StartProcess leads its own group, with its
// workers and backends in it).
func groupAlive(pgid int) bool {
	err := syscall.Kill(-pgid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// procStat returns the start time (field 22) and state (field 3) of a
// process from /proc/PID/stat.
func procStat(pid int) (start uint64, state byte, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// the fields after it are split from the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return 0, 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	start, err = strconv.ParseUint(f[19], 10, 64)
	return start, f[0][0], err
}

// StartProcess starts cmd in its own session (so a Ctrl-C typed into the
// terminal later does not reach a server left running by "scalelab up"),
// with stdout and stderr appended to logPath, and reaps it when it exits.
func StartProcess(name string, cmd *exec.Cmd, logPath string) (*Process, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("start %s: open log: %w", name, err)
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setsid = true
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Process{Name: name, PID: cmd.Process.Pid, Log: logPath, exited: make(chan struct{})}
	p.StartTime, _, _ = procStat(p.PID)
	go func() {
		cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// Exited is closed when a process started by StartProcess has exited; it
// is nil (never ready) for an adopted process.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Adopt describes a running process started elsewhere (a child of the
// driver, say) so that the lab can record it and stop it later.
func Adopt(name string, pid int) *Process {
	p := &Process{Name: name, PID: pid}
	p.StartTime, _, _ = procStat(pid)
	return p
}

// Stop asks the process to end with sig, waits up to grace for it to exit,
// then kills its whole process group (it leads its own session, so its
// children are in the group). It returns when the process and, if it led
// its own group, every process of that group are gone, so that the ports
// and sockets they held are closed. It is a no-op for a process no longer
// alive.
func (p *Process) Stop(sig syscall.Signal, grace time.Duration) error {
	if !p.Alive() {
		return nil
	}
	group := 0
	if pgid, err := syscall.Getpgid(p.PID); err == nil && pgid == p.PID {
		group = pgid
	}
	if err := syscall.Kill(p.PID, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stop %s (pid %d): %w", p.Name, p.PID, err)
	}
	if !p.wait(grace) {
		if group != 0 {
			syscall.Kill(-group, syscall.SIGKILL)
		}
		syscall.Kill(p.PID, syscall.SIGKILL)
		if !p.wait(5 * time.Second) {
			return fmt.Errorf("stop %s (pid %d): still running after SIGKILL", p.Name, p.PID)
		}
	}
	if group != 0 && groupAlive(group) {
		// Children that outlive their parent (none should) go too, and
		// are waited for: they may hold the server's sockets.
		syscall.Kill(-group, syscall.SIGKILL)
		if !poll(5*time.Second, func() bool { return !groupAlive(group) }) {
			return fmt.Errorf("stop %s (pid %d): processes of its group still run after SIGKILL", p.Name, p.PID)
		}
	}
	return nil
}

// wait polls until the process is gone or d has passed, and reports
// whether it is gone.
func (p *Process) wait(d time.Duration) bool {
	return poll(d, func() bool {
		if p.exited != nil {
			select {
			case <-p.exited:
				return true
			default:
			}
		}
		return !p.Alive()
	})
}

// poll calls done every 20 ms until it returns true or d has passed, and
// returns its last answer.
func poll(d time.Duration, done func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if done() {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return done()
}

// waitReady calls ready until it succeeds, the process dies, ctx ends or
// timeout passes. The error names the log file to read.
func (p *Process) waitReady(ctx context.Context, timeout time.Duration, ready func() error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		if last = ready(); last == nil {
			return nil
		}
		if !p.Alive() {
			return fmt.Errorf("%s exited during start-up (see %s): %s", p.Name, p.Log, lastLines(p.Log, 3))
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("%s did not become ready in %s (see %s): %v", p.Name, timeout, p.Log, last)
			}
			return fmt.Errorf("start %s: %w", p.Name, ctx.Err())
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// LogTail returns the last n lines of the process's log, for errors.
func (p *Process) LogTail(n int) string { return lastLines(p.Log, n) }

// lastLines returns the last n non-empty lines of a log file, joined, for
// error messages.
func lastLines(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// saveProcess writes p to path atomically.
func saveProcess(path string, p *Process) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(b, '\n'), 0o644)
}

// loadProcess reads a saved process; it returns (nil, nil) when there is none.
func loadProcess(path string) (*Process, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var p Process
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return &p, nil
}

// writeFileAtomic writes data to a temporary file beside path and renames
// it into place, so a reader never sees half a file.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
