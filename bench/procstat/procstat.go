// Package procstat measures processor time: the load generator's own, from
// getrusage, and that of watched processes, from /proc (Linux), so that a run
// can say whether the client or the server ran out of CPU.
package procstat

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Times is processor time split into user and kernel (system) time.
type Times struct {
	User, Sys time.Duration
}

// Total is user plus system time.
func (t Times) Total() time.Duration { return t.User + t.Sys }

// Sub returns t - u.
func (t Times) Sub(u Times) Times { return Times{t.User - u.User, t.Sys - u.Sys} }

// Self returns the processor time used so far by this process, all threads.
func Self() (Times, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return Times{}, fmt.Errorf("procstat: getrusage: %w", err)
	}
	return Times{
		User: time.Duration(ru.Utime.Nano()),
		Sys:  time.Duration(ru.Stime.Nano()),
	}, nil
}

// clockTick is USER_HZ, the unit of /proc/PID/stat times: 100 on every
// Linux architecture Go supports (sysconf is out of reach without cgo).
const clockTick = 10 * time.Millisecond

// ErrNoProc is returned where /proc is not available.
var ErrNoProc = errors.New("procstat: /proc is not available on this system")

// stat is the part of /proc/PID/stat a Watcher needs.
type stat struct {
	name  string
	ppid  int
	times Times // the process's own time plus that of its reaped children
}

// readStat parses /proc/PID/stat. The command name is in parentheses and may
// itself contain spaces and parentheses, so fields are counted from the last
// closing parenthesis.
func readStat(pid int) (stat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return stat{}, err
	}
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return stat{}, fmt.Errorf("procstat: malformed /proc/%d/stat", pid)
	}
	// Fields after the name: state(3) ppid(4) ... utime(14) stime(15)
	// cutime(16) cstime(17), numbered as in proc(5).
	f := strings.Fields(s[end+1:])
	if len(f) < 15 {
		return stat{}, fmt.Errorf("procstat: short /proc/%d/stat", pid)
	}
	n := func(field int) int64 { v, _ := strconv.ParseInt(f[field-3], 10, 64); return v }
	return stat{
		name: s[open+1 : end],
		ppid: int(n(4)),
		times: Times{
			User: time.Duration(n(14)+n(16)) * clockTick,
			Sys:  time.Duration(n(15)+n(17)) * clockTick,
		},
	}, nil
}

// snapshot reads every process on the machine (pid -> stat).
func snapshot() (map[int]stat, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, ErrNoProc
	}
	m := make(map[int]stat, len(ents))
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := readStat(pid); err == nil {
			m[pid] = st
		}
	}
	return m, nil
}

// tree returns pid and all its descendants in snap, except the subtrees
// of the PIDs in skip: a watched process inside another's tree (an nginx
// started by a stage's serve process) is counted once, as itself.
func tree(snap map[int]stat, pid int, skip map[int]bool) []int {
	children := map[int][]int{}
	for p, st := range snap {
		children[st.ppid] = append(children[st.ppid], p)
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		for _, c := range children[out[i]] {
			if !skip[c] {
				out = append(out, c)
			}
		}
	}
	return out
}

// Usage is the processor time a watched process (with its descendants) used
// between Watch and Stop.
type Usage struct {
	PID   int
	Name  string
	Times Times
}

// Watcher measures the CPU time of some processes over an interval. Each
// watched PID counts with its descendants (an nginx master with its workers,
// a CGI host with the programs it runs): those alive at the start or the end,
// plus, through the kernel's cutime, children that exited and were reaped.
// A watched process that is also a descendant of another watched one counts
// only for itself, so the usages add up to the time really used.
type Watcher struct {
	pids  []int
	start map[int]stat
}

// Watch starts measuring pids. It fails if one of them does not exist.
func Watch(pids []int) (*Watcher, error) {
	if len(pids) == 0 {
		return &Watcher{}, nil
	}
	snap, err := snapshot()
	if err != nil {
		return nil, err
	}
	for _, p := range pids {
		if _, ok := snap[p]; !ok {
			return nil, fmt.Errorf("procstat: no process %d", p)
		}
	}
	return &Watcher{pids: pids, start: snap}, nil
}

// Stop returns the time used by each watched PID since Watch.
func (w *Watcher) Stop() ([]Usage, error) {
	if len(w.pids) == 0 {
		return nil, nil
	}
	end, err := snapshot()
	if err != nil {
		return nil, err
	}
	watched := map[int]bool{}
	for _, pid := range w.pids {
		watched[pid] = true
	}
	var out []Usage
	for _, pid := range w.pids {
		u := Usage{PID: pid, Name: w.start[pid].name}
		seen := map[int]bool{}
		for _, p := range append(tree(w.start, pid, watched), tree(end, pid, watched)...) {
			if seen[p] {
				continue
			}
			seen[p] = true
			e, ok := end[p]
			if !ok {
				continue // exited: its time went to its parent's cutime
			}
			d := e.times
			if s, ok := w.start[p]; ok && s.name == e.name {
				d = d.Sub(s.times)
			}
			u.Times.User += d.User
			u.Times.Sys += d.Sys
		}
		out = append(out, u)
	}
	return out, nil
}

// Of returns the processor time process pid has used so far (its own
// and that of its reaped children), from /proc.
func Of(pid int) (Times, error) {
	st, err := readStat(pid)
	return st.times, err
}
