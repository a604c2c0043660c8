// Package cpuset pins processes to CPUs (sched_setaffinity), so that the
// load generator and the servers it measures do not take each other's
// cores: on a small machine a load generator that shares the servers'
// cores measures its own cost as much as theirs. scalelab's --client-cpus
// is built on it; a list of CPUs is spelt as the kernel spells it in
// /proc/PID/status (Cpus_allowed_list): "0", "0-1", "0,2-3".
//
// Affinity belongs to a thread, not a process, and a new thread or child
// inherits its creator's. So pinning a running server means every thread
// of it and of each of its descendants (PinTree); what they start later
// inherits the pin.
package cpuset

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Set is a set of CPU numbers, sorted, without repeats.
type Set []int

// Parse reads a list of CPUs as the kernel writes it: numbers and ranges
// separated by commas ("0", "0-1", "0,2-3").
func Parse(s string) (Set, error) {
	var set Set
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("an empty list of CPUs (write it as 0, 0-1 or 0,2)")
	}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		b := a
		if err == nil && isRange {
			b, err = strconv.Atoi(hi)
		}
		if err != nil || a < 0 || b < a || b >= 1024 {
			return nil, fmt.Errorf("bad CPU list %q at %q (write it as 0, 0-1 or 0,2)", s, part)
		}
		for c := a; c <= b; c++ {
			set = append(set, c)
		}
	}
	slices.Sort(set)
	return slices.Compact(set), nil
}

// String writes the set as the kernel does: "0-1,3".
func (s Set) String() string {
	var parts []string
	for i := 0; i < len(s); {
		j := i
		for j+1 < len(s) && s[j+1] == s[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, strconv.Itoa(s[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", s[i], s[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

// Without is s less the CPUs of o.
func (s Set) Without(o Set) Set {
	var out Set
	for _, c := range s {
		if !slices.Contains(o, c) {
			out = append(out, c)
		}
	}
	return out
}

// Allowed is the set of CPUs this process may run on: what scalelab can
// share out between its load generator and its servers.
func Allowed() (Set, error) {
	var cs unix.CPUSet
	if err := unix.SchedGetaffinity(0, &cs); err != nil {
		return nil, fmt.Errorf("cpuset: read this process's CPUs: %w", err)
	}
	return fromUnix(&cs), nil
}

// Split checks a client list against the CPUs this process may use, and
// returns the client's and the servers' (the rest). It refuses a list
// that names a CPU not available, or leaves the servers none.
func Split(clientList string) (client, servers Set, err error) {
	client, err = Parse(clientList)
	if err != nil {
		return nil, nil, err
	}
	all, err := Allowed()
	if err != nil {
		return nil, nil, err
	}
	if extra := client.Without(all); len(extra) > 0 {
		return nil, nil, fmt.Errorf("CPU %s is not among this machine's available CPUs (%s)", extra, all)
	}
	servers = all.Without(client)
	if len(servers) == 0 {
		return nil, nil, fmt.Errorf("CPUs %s are all the CPUs there are (%s): leave at least one to the servers", client, all)
	}
	return client, servers, nil
}

func fromUnix(cs *unix.CPUSet) Set {
	var s Set
	for c := range 1024 {
		if cs.IsSet(c) {
			s = append(s, c)
		}
	}
	return s
}

func (s Set) unix() *unix.CPUSet {
	var cs unix.CPUSet
	for _, c := range s {
		cs.Set(c)
	}
	return &cs
}

// PinSelf pins every thread of this process to s; the threads and
// children it makes later inherit it.
func PinSelf(s Set) error { return pinThreads(os.Getpid(), s) }

// PinTree pins every thread of process pid and of all its descendants to
// s. A process that exits meanwhile is skipped: it needs no CPU.
//
// A process the tree starts after its parent is pinned inherits the pin;
// one it starts between the scan of the tree and its parent's pin does
// not (a shell starting a child every 20 ms did, in one test run under
// make test-busy). So the tree is scanned again until a scan finds every
// process on s: by then each parent was pinned before it started what it
// has.
func PinTree(pid int, s Set) error {
	for range pinScans {
		wrong := 0
		for _, p := range descendants(pid) {
			if got, err := Of(p); err == nil && slices.Equal(got, s) {
				continue
			}
			wrong++
			if err := pinThreads(p, s); err != nil {
				return err
			}
		}
		if wrong == 0 {
			return nil
		}
	}
	return nil
}

// pinScans bounds PinTree's scans: a tree that starts processes faster
// than they can be pinned is pinned as far as it got.
const pinScans = 10

// pinThreads pins each thread of pid (its tasks in /proc).
func pinThreads(pid int, s Set) error {
	tasks, err := os.ReadDir(filepath.Join("/proc", strconv.Itoa(pid), "task"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cpuset: threads of %d: %w", pid, err)
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetaffinity(tid, s.unix()); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("cpuset: pin thread %d of process %d to CPU %s: %w", tid, pid, s, err)
		}
	}
	return nil
}

// descendants are pid and every process below it, from the parents in
// /proc/*/stat.
func descendants(pid int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// The command name is in parentheses and may hold anything: the
		// parent is the second field after its closing one.
		rest := string(b)
		if i := strings.LastIndexByte(rest, ')'); i >= 0 {
			rest = rest[i+1:]
		}
		f := strings.Fields(rest)
		if len(f) < 2 {
			continue
		}
		if pp, err := strconv.Atoi(f[1]); err == nil {
			children[pp] = append(children[pp], p)
		}
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

// Of reads the CPUs process pid may run on, from /proc/PID/status
// (Cpus_allowed_list): what the kernel says, not what was asked.
func Of(pid int) (Set, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return nil, fmt.Errorf("cpuset: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok {
			return Parse(strings.TrimSpace(v))
		}
	}
	return nil, fmt.Errorf("cpuset: no Cpus_allowed_list in /proc/%d/status", pid)
}
