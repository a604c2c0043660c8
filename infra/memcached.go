package infra

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Memcached is a private memcached server on a Unix socket in its own
// folder. memcached has no authentication of its own: whoever can connect
// can read every session and write pages that nginx serves to every
// visitor. A socket (mode 0700, in a folder of mode 0700) lets only the
// lab's user, and root, connect; a loopback TCP port would let every user
// of the machine in.
type Memcached struct {
	// Dir holds its socket (memcached.sock) and its log.
	Dir string
	// MemoryMB is the cache size; zero means 256.
	MemoryMB int
	// Binary is the memcached executable; empty finds it on PATH.
	Binary string
}

// SocketPath is where memcached listens: the same path on every start, so
// that a server restarted under a running stage (the memcached-down fault)
// is found again by everything configured with it.
func (m *Memcached) SocketPath() string { return filepath.Join(m.Dir, "memcached.sock") }

// Start starts memcached and waits until it answers "version". Its PID is
// the process started here: memcached's own -P pid file is not written
// when it drops root privileges in a folder owned by root.
func (m *Memcached) Start(ctx context.Context) (*Process, error) {
	bin := m.Binary
	if bin == "" {
		var err error
		if bin, err = lookBinary("memcached", "memcached", "/usr/bin"); err != nil {
			return nil, err
		}
	} else if !isExecutable(bin) {
		return nil, missing(bin, "memcached")
	}
	dir, err := filepath.Abs(m.Dir)
	if err != nil {
		return nil, err
	}
	m.Dir = dir
	acct, err := serviceAccount()
	if err != nil {
		return nil, err
	}
	// memcached (as the service user, when run by root) creates its socket
	// in this folder: it is the server's own, closed to everyone else.
	if err := serverDir(acct, m.Dir); err != nil {
		return nil, fmt.Errorf("memcached: %w", err)
	}
	sock := m.SocketPath()
	if err := checkSocketPath(sock); err != nil {
		return nil, fmt.Errorf("memcached: %w", err)
	}
	mem := m.MemoryMB
	if mem == 0 {
		mem = 256
	}
	args := []string{
		"-s", sock, "-a", "0700", // a Unix socket only: no TCP port at all
		"-U", "0", // no UDP
		"-m", itoa(mem),
		"-c", "4096", // connections: load tests open many
		"-t", "2",
	}
	if acct != nil {
		// memcached refuses to run as root; it raises its file limit, then
		// drops to the service user before it creates the socket.
		args = append(args, "-u", acct.Name)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = m.Dir // also lets tests find the lab's processes by their folder
	p, err := StartProcess("memcached", cmd, filepath.Join(m.Dir, "memcached.log"))
	if err != nil {
		return nil, err
	}
	p.Addr = sock
	p.Dir = m.Dir
	if err := p.waitReady(ctx, 10*time.Second, func() error { return memcachedVersion(p.Addr) }); err != nil {
		p.Stop(syscall.SIGTERM, 5*time.Second)
		return nil, err
	}
	return p, nil
}

// memcachedVersion asks the server at addr for its version: the readiness check.
func memcachedVersion(addr string) error {
	line, err := memcachedLine(addr, "version")
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "VERSION ") {
		return fmt.Errorf("memcached at %s answered %q to version", addr, line)
	}
	return nil
}

// MemcachedStats reads the general counters of the memcached server at
// addr (a socket's path or a host:port): "cmd_get", "get_hits",
// "cmd_set", … Counters that are not numbers (the version, say) are left
// out.
func MemcachedStats(addr string) (map[string]float64, error) {
	lines, err := memcachedCommand(addr, "stats")
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) != 3 || f[0] != "STAT" {
			return nil, fmt.Errorf("memcached at %s answered %q to stats", addr, l)
		}
		if v, err := strconv.ParseFloat(f[2], 64); err == nil {
			out[f[1]] = v
		}
	}
	return out, nil
}

// FlushMemcached empties the memcached server at addr. A server started
// with flush_all disabled (-F) refuses, and so does this.
func FlushMemcached(addr string) error {
	line, err := memcachedLine(addr, "flush_all")
	if err != nil {
		return err
	}
	if line != "OK" {
		return fmt.Errorf("memcached at %s answered %q to flush_all (a server started with -F refuses it)", addr, line)
	}
	return nil
}

// memcachedLine sends a command whose answer is one line and returns it.
func memcachedLine(addr, command string) (string, error) {
	lines, err := memcachedCommand(addr, command)
	if err != nil {
		return "", err
	}
	if len(lines) != 1 {
		return "", fmt.Errorf("memcached at %s answered %d lines to %s, want one", addr, len(lines), command)
	}
	return lines[0], nil
}

// memcachedTimeout bounds one command to memcached, connection included:
// the lab's memcached answers in microseconds, and a check or a counter
// must not hang on one that does not.
const memcachedTimeout = 2 * time.Second

// memcachedCommand sends one command of memcached's text protocol to addr
// and returns its answer: the lines before END of a listing ("stats"), or
// the one line of any other answer. Every use of the protocol in the lab
// outside the app servers' client goes through it.
func memcachedCommand(addr, command string) ([]string, error) {
	c, err := DialMemcached(addr, memcachedTimeout)
	if err != nil {
		return nil, fmt.Errorf("memcached at %s: %w", addr, err)
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(memcachedTimeout)); err != nil {
		return nil, fmt.Errorf("memcached at %s: %w", addr, err)
	}
	if _, err := c.Write([]byte(command + "\r\n")); err != nil {
		return nil, fmt.Errorf("memcached at %s: %s: %w", addr, command, err)
	}
	r := bufio.NewReader(c)
	var lines []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("memcached at %s: %s: %w", addr, command, err)
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case line == "END":
			return lines, nil
		case strings.HasPrefix(line, "STAT "):
			lines = append(lines, line)
		default:
			// One line answers every command but a listing; an error
			// (ERROR, CLIENT_ERROR …) ends a listing too.
			return append(lines, line), nil
		}
	}
}
