package infra

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The lab's servers belong to the user who started the lab: no other user
// of the machine may read its database, its cache or its state folder.
//
// A user other than root runs every server as themselves, and the state
// folder is theirs alone (0700). Root cannot run PostgreSQL, and should not
// run memcached or nginx's workers, as root; they run as ServiceUser, a
// system user with no login and no home that the lab creates when it is
// missing. The state folder is then root's, with group ServiceUser and
// mode 0710: root and the servers enter it, nobody else does (not even to
// list it). The folders the servers write to (the cluster, memcached's
// socket) belong to ServiceUser, mode 0700.

// ServiceUser is the system user the lab's servers (PostgreSQL, memcached,
// nginx's workers) run as when the lab runs as root. It is the lab's own,
// so that no other program's user (nobody, postgres, www-data) can reach
// the lab's data through it.
const ServiceUser = "scalelab"

// account is the user and group a server runs as.
type account struct {
	Name     string
	Group    string
	UID, GID int
}

func (a *account) credential() *syscall.Credential {
	if a == nil {
		return nil
	}
	return &syscall.Credential{Uid: uint32(a.UID), Gid: uint32(a.GID)}
}

var (
	serviceMu   sync.Mutex
	serviceAcct *account
)

// serviceAccount returns the account the lab's servers run as: nil (this
// process's own user) unless this process is root, ServiceUser when it is,
// created on first use.
func serviceAccount() (*account, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	serviceMu.Lock()
	defer serviceMu.Unlock()
	if serviceAcct != nil {
		return serviceAcct, nil
	}
	u, err := user.Lookup(ServiceUser)
	if err != nil {
		if u, err = createServiceUser(); err != nil {
			return nil, err
		}
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	a := &account{Name: u.Username, Group: u.Gid, UID: uid, GID: gid}
	if g, err := user.LookupGroupId(u.Gid); err == nil {
		a.Group = g.Name
	}
	if uid == 0 || gid == 0 {
		return nil, fmt.Errorf("the lab's servers run as the user %q, which is root or in group root here: give it an unprivileged uid and gid (or userdel %s, and the lab recreates it)", ServiceUser, ServiceUser)
	}
	serviceAcct = a
	return a, nil
}

// createServiceUser adds ServiceUser as a system user without a login or
// a home. Another lab may create it at the same moment: a failure is
// checked by looking the user up again.
func createServiceUser() (*user.User, error) {
	bin, err := exec.LookPath("useradd")
	if err != nil {
		return nil, fmt.Errorf("the lab's servers run as the user %q, which is missing, and there is no useradd to create it: create it (a system user without login), or run the lab as a user other than root", ServiceUser)
	}
	var last error
	for i := 0; i < 20; i++ {
		out, err := exec.Command(bin, "--system", "--user-group", "--no-create-home",
			"--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
			"--comment", "scalelab lab servers", ServiceUser).CombinedOutput()
		if u, lerr := user.Lookup(ServiceUser); lerr == nil {
			return u, nil
		}
		if err == nil {
			return nil, fmt.Errorf("useradd %s succeeded, but the user cannot be found", ServiceUser)
		}
		last = fmt.Errorf("%w: %s", err, strings.TrimSpace(string(out)))
		time.Sleep(100 * time.Millisecond) // the password file may be locked by another useradd
	}
	return nil, fmt.Errorf("create the user %q the lab's servers run as: useradd: %v: create it yourself (useradd --system --user-group --no-create-home --shell /usr/sbin/nologin %s)", ServiceUser, last, ServiceUser)
}

// PrepareState creates the state folder dir, or tightens an existing one
// (earlier versions left it readable by everyone), so that only the lab's
// user and its servers can enter it: 0700, or as root 0710 with group
// ServiceUser. It also checks that the servers can reach it through its
// parent folders.
func PrepareState(dir string) error {
	acct, err := serviceAccount()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("state folder %s: %w", dir, err)
	}
	if acct == nil {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("state folder %s: %w", dir, err)
		}
		return nil
	}
	if err := os.Chown(dir, -1, acct.GID); err != nil {
		return fmt.Errorf("state folder %s: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o710); err != nil {
		return fmt.Errorf("state folder %s: %w", dir, err)
	}
	return checkReachable(acct, dir)
}

// checkReachable makes sure acct can enter every parent folder of dir:
// the servers cannot work in a folder they cannot reach.
func checkReachable(acct *account, dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	for d := filepath.Dir(abs); ; d = filepath.Dir(d) {
		if st, err := os.Stat(d); err == nil && !canEnter(acct, st) {
			return fmt.Errorf("the lab's servers run as the user %s, which cannot enter %s: use a --state folder it can reach (for example under /tmp) or run chmod o+x %s", acct.Name, d, d)
		}
		if d == "/" || d == "." {
			return nil
		}
	}
}

// canEnter reports whether acct may search the folder st describes (by
// its owner, group and mode; supplementary groups and ACLs aside).
func canEnter(acct *account, st os.FileInfo) bool {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return true
	}
	perm := st.Mode().Perm()
	switch {
	case int(sys.Uid) == acct.UID:
		return perm&0o100 != 0
	case int(sys.Gid) == acct.GID:
		return perm&0o010 != 0
	}
	return perm&0o001 != 0
}

// serverDir creates (or takes over) a folder a server writes to: mode
// 0700, owned by the server's account, which must reach it.
func serverDir(acct *account, dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if acct != nil {
		if err := checkReachable(acct, dir); err != nil {
			return err
		}
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return err
	}
	if acct != nil {
		return os.Lchown(dir, acct.UID, acct.GID)
	}
	return nil
}

// newSecret returns a random password of 32 hex digits: no character that
// a URL, a pass file or SQL would need to quote.
func newSecret() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate a password: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// IsSocket reports whether a memcached address is a Unix socket's path
// rather than a host:port. It is the rule of the memcached client the app
// servers use: an address with a "/" is a path.
func IsSocket(addr string) bool { return strings.Contains(addr, "/") }

// DialMemcached connects to a memcached address: a Unix socket's path (the
// lab's own) or a host:port (an external server).
func DialMemcached(addr string, timeout time.Duration) (net.Conn, error) {
	return dialAddr(addr, timeout)
}

// dialAddr connects to a service's recorded address, a socket's path or a
// host:port.
func dialAddr(addr string, timeout time.Duration) (net.Conn, error) {
	if IsSocket(addr) {
		return net.DialTimeout("unix", addr, timeout)
	}
	return net.DialTimeout("tcp", addr, timeout)
}

// waitRefused waits until nothing answers on addr any more: a stopped
// service is only gone for its clients when its address refuses them.
func waitRefused(name, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := dialAddr(addr, time.Second)
		if err != nil {
			return nil
		}
		c.Close()
		if time.Now().After(deadline) {
			return fmt.Errorf("%s still answers on %s %s after it was stopped: find what listens there (ss -xlp / ss -tlp) and stop it", name, addr, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// errNoSocketRoom is returned when a socket's path does not fit in a
// sockaddr_un.
var errNoSocketRoom = errors.New("path too long for a Unix socket")

// checkSocketPath refuses a socket path longer than the kernel takes (107
// bytes and the terminating zero).
func checkSocketPath(path string) error {
	if len(path) > 107 {
		return fmt.Errorf("%w: %s is %d bytes, at most 107: use a --state folder with a shorter path", errNoSocketRoom, path, len(path))
	}
	return nil
}
