package infra

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
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
	c, err := DialMemcached(addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("version\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "VERSION ") {
		return fmt.Errorf("memcached at %s answered %q", addr, line)
	}
	return nil
}
