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

// Add returns t + u.
func (t Times) Add(u Times) Times { return Times{t.User + u.User, t.Sys + u.Sys} }

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
	// started is the process's start time in clock ticks after boot: with
	// the PID, it tells one process from a later one that reused its PID.
	started int64
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
	// cutime(16) cstime(17) ... starttime(22), numbered as in proc(5).
	f := strings.Fields(s[end+1:])
	if len(f) < 20 {
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
		started: n(22),
	}, nil
}

// readProcs and readMachine are the two reads a Watcher brackets; tests
// replace them to check the order.
var (
	readProcs   = snapshot
	readMachine = ReadCPUStat
)

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
//
// A descendant that was alive at Watch and exited before Stop is the
// delicate case: when its parent reaps it, the kernel adds its whole
// lifetime's time to the parent's cutime, the part before Watch included.
// That part is subtracted again, or a long-lived worker that exits during
// a measurement (a database backend whose client closed its connection)
// would be credited with everything it ever did.
//
// The Watcher also reads the machine's own account (/proc/stat) around the
// same two instants, so that what the watched processes used can be set
// against what the whole machine did. Reading every process takes time (tens
// of milliseconds on a busy machine), so the machine is read first at Watch
// and last at Stop: its interval holds the processes' and the processes can
// never be credited more time than the machine had.
type Watcher struct {
	pids         []int
	start        map[int]stat
	machineStart CPUStat
	// wall is the time between the two reads of the machine.
	wallStart time.Time
	wall      time.Duration
	machine   CPUStat
	machineOK bool
}

// Watch starts measuring pids. It fails if one of them does not exist.
func Watch(pids []int) (*Watcher, error) {
	w := &Watcher{pids: pids}
	if len(pids) == 0 {
		return w, nil
	}
	var err error
	w.machineStart, err = readMachine()
	w.machineOK, w.wallStart = err == nil, time.Now()
	snap, err := readProcs()
	if err != nil {
		return nil, err
	}
	for _, p := range pids {
		if _, ok := snap[p]; !ok {
			return nil, fmt.Errorf("procstat: no process %d", p)
		}
	}
	w.start = snap
	return w, nil
}

// Machine is what the whole machine did between Watch and the last Stop,
// from /proc/stat; ok is false if it could not be read.
func (w *Watcher) Machine() (m CPUStat, ok bool) {
	return w.machine, w.machineOK && w.machine.Total() > 0
}

// MachineTime is the machine's cores × the wall time between its two reads:
// what the watched processes and the idle time can add up to at most. It
// is exact where CPUStat.Total falls short (a mostly idle machine); 0 when
// the machine could not be read or named no cores.
func (w *Watcher) MachineTime() time.Duration {
	if !w.machineOK {
		return 0
	}
	return w.wall * time.Duration(w.machine.Cores)
}

// sameProcess says whether a and b, read under one PID, are one process.
func sameProcess(a, b stat) bool { return a.started == b.started }

// Stop returns the time used by each watched PID since Watch.
func (w *Watcher) Stop() ([]Usage, error) {
	if len(w.pids) == 0 {
		return nil, nil
	}
	end, err := readProcs()
	if err != nil {
		return nil, err
	}
	if w.machineOK {
		m, err := readMachine()
		w.machineOK = err == nil
		w.machine, w.wall = m.Sub(w.machineStart), time.Since(w.wallStart)
	}
	watched := map[int]bool{}
	for _, pid := range w.pids {
		watched[pid] = true
	}
	var out []Usage
	for _, pid := range w.pids {
		u := Usage{PID: pid, Name: w.start[pid].name}
		u.Times = used(w.start, end, append(tree(w.start, pid, watched), tree(end, pid, watched)...))
		out = append(out, u)
	}
	return out, nil
}

// used is the time the processes pids used between the snapshots start and
// end: each one's own time and that of the children it reaped in between,
// less, for a process that was alive at the start and gone at the end, the
// time it had used before the start (the kernel hands its whole lifetime's
// time to its parent, counted here through the parent's cutime).
func used(start, end map[int]stat, pids []int) Times {
	in := make(map[int]bool, len(pids))
	for _, p := range pids {
		in[p] = true
	}
	// gone is a process of the start that is no longer there: its time
	// before the start went to its parent's cutime if the parent, one of
	// pids, reaped it; if something outside reaped it, nothing came in.
	gone := func(s stat) Times {
		if pe, ok := end[s.ppid]; ok && in[s.ppid] {
			if ps, ok := start[s.ppid]; !ok || sameProcess(ps, pe) {
				return s.times
			}
		}
		return Times{}
	}
	var t Times
	for p := range in {
		s, wasAlive := start[p]
		e, isAlive := end[p]
		switch {
		case isAlive && wasAlive && sameProcess(s, e):
			t = t.Add(e.times.Sub(s.times))
		case isAlive && wasAlive: // the PID was reused within the interval
			t = t.Add(e.times).Sub(gone(s))
		case isAlive:
			t = t.Add(e.times)
		case wasAlive:
			t = t.Sub(gone(s))
		}
	}
	return Times{max(t.User, 0), max(t.Sys, 0)}
}

// Of returns the processor time process pid has used so far (its own
// and that of its reaped children), from /proc.
func Of(pid int) (Times, error) {
	st, err := readStat(pid)
	return st.times, err
}
