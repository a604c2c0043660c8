package infra

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Memcached is a private memcached server on 127.0.0.1.
type Memcached struct {
	// Dir holds its log.
	Dir string
	// Port to listen on; zero picks a free port.
	Port int
	// MemoryMB is the cache size; zero means 256.
	MemoryMB int
	// Binary is the memcached executable; empty finds it on PATH.
	Binary string
}

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
	if err := os.MkdirAll(m.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("memcached: %w", err)
	}
	port := m.Port
	if port == 0 {
		var err error
		if port, err = FreePort(); err != nil {
			return nil, err
		}
	}
	mem := m.MemoryMB
	if mem == 0 {
		mem = 256
	}
	args := []string{
		"-l", "127.0.0.1", "-p", itoa(port),
		"-U", "0", // no UDP
		"-m", itoa(mem),
		"-c", "4096", // connections: load tests open many
		"-t", "2",
	}
	if os.Geteuid() == 0 {
		args = append(args, "-u", "nobody") // memcached refuses to run as root
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = m.Dir // also lets tests find the lab's processes by their folder
	p, err := StartProcess("memcached", cmd, filepath.Join(m.Dir, "memcached.log"))
	if err != nil {
		return nil, err
	}
	p.Addr = fmt.Sprintf("127.0.0.1:%d", port)
	p.Dir = m.Dir
	if err := p.waitReady(ctx, 10*time.Second, func() error { return memcachedVersion(p.Addr) }); err != nil {
		p.Stop(syscall.SIGTERM, 5*time.Second)
		return nil, err
	}
	return p, nil
}

// memcachedVersion asks the server at addr for its version: the readiness check.
func memcachedVersion(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
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
