// Package infra runs the lab's private servers: PostgreSQL, memcached and
// nginx, started from the binaries installed on the machine, with their
// data, logs and pid files under the lab's state folder.
//
// Private means the user who started the lab's alone (see private.go):
// PostgreSQL on a free loopback port asks for a password kept in the state
// folder, memcached listens only on a Unix socket in it, and the folder is
// closed to every other user. Only the stages' HTTP ports are open to
// anyone on the machine: they are there to be browsed.
//
// Every server is a child process with its own log file. Its PID and start
// time are recorded in a JSON file under <state>/run, so a later command (a
// second "scalelab up", "scalelab status", "scalelab down") finds it, and a
// PID reused by an unrelated process is never mistaken for it.
//
// When DATABASE_URL or MEMCACHED_SERVERS are set the lab uses those servers
// and starts none (external mode): that is how docker-compose and
// multi-machine set-ups plug in.
package infra

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrMissingBinary is returned (wrapped) when a server's binary is not
// installed. The message names the Debian package and "make deps".
var ErrMissingBinary = errors.New("binary not found")

// missing builds the error for a binary that could not be found.
func missing(name, pkg string) error {
	return fmt.Errorf("%w: %s is not installed: install the Debian package %q (run \"make deps\" as root, or apt-get install %s)",
		ErrMissingBinary, name, pkg, pkg)
}

// lookBinary finds name in the given folders first, then on PATH.
func lookBinary(name, pkg string, dirs ...string) (string, error) {
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", missing(name, pkg)
}

// FreePort asks the kernel for a free TCP port on 127.0.0.1. The port is
// released before it is returned, so a server started right after will
// almost always get it; callers retry on a bind error.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// IsLoopback reports whether host (a name or an address, without port) is
// a loopback address: the only targets the lab ever loads or tests.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// itoa is strconv.Itoa, short for building command lines.
func itoa(n int) string { return strconv.Itoa(n) }
