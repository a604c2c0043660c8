package infra

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Lab is the set of private services under one state folder.
type Lab struct {
	// State is the state folder (default ".lab").
	State string
	// DatabaseURL, when set, is an external PostgreSQL: the lab starts none.
	DatabaseURL string
	// MemcachedServers, when set, is an external memcached (comma-separated
	// host:port list): the lab starts none.
	MemcachedServers string
	// MemcachedBinary overrides where memcached is found.
	MemcachedBinary string
	// PostgresBinDir overrides where initdb and postgres are found.
	PostgresBinDir string
}

// Services tells a stage where the lab's services are.
type Services struct {
	DatabaseURL      string
	MemcachedServers string
}

// Status is one service as "scalelab status" shows it.
type Status struct {
	Name    string
	State   string // "running", "stopped" or "external"
	Addr    string // host:port, or the external URL
	Dir     string
	PID     int
	Log     string
	Problem string // why a recorded process is no longer running
	// Access says who can connect: the lab's services are private, an
	// external memcached on TCP is not.
	Access string
}

func (l *Lab) runDir() string { return filepath.Join(l.State, "run") }

// PassFile is where the lab keeps its PostgreSQL superuser's password
// (mode 0600), in the format of a libpq password file; the lab's
// DATABASE_URL names it (passfile=...).
func (l *Lab) PassFile() string {
	abs, err := filepath.Abs(filepath.Join(l.State, "pgpass"))
	if err != nil {
		return filepath.Join(l.State, "pgpass")
	}
	return abs
}

func (l *Lab) procFile(name string) string { return filepath.Join(l.runDir(), name+".json") }

// lock takes the state folder's lock for the duration of a change to the
// set of running services, so that two commands never start two servers
// on one data folder. It waits for the other command to finish.
func (l *Lab) lock(ctx context.Context) (unlock func(), err error) {
	if err := PrepareState(l.State); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(l.runDir(), 0o700); err != nil {
		return nil, fmt.Errorf("state folder %s: %w", l.State, err)
	}
	f, err := os.OpenFile(filepath.Join(l.State, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("state folder %s: %w", l.State, err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", l.State, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("another scalelab command is using %s: %w", l.State, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Up starts the private PostgreSQL and memcached unless they already run
// (or are external) and returns where they are, with the processes this
// call started. If it fails or ctx ends halfway, it stops what it started.
func (l *Lab) Up(ctx context.Context) (Services, []*Process, error) {
	unlock, err := l.lock(ctx)
	if err != nil {
		return Services{}, nil, err
	}
	defer unlock()

	var started []*Process
	fail := func(err error) (Services, []*Process, error) {
		for _, p := range started {
			stopProcess(p)
			os.Remove(l.procFile(p.Name))
		}
		return Services{}, nil, err
	}
	var s Services
	if l.DatabaseURL != "" {
		s.DatabaseURL = l.DatabaseURL
	} else {
		p, fresh, err := l.ensure(ctx, "postgres", func() (*Process, error) { return l.start(ctx, "postgres", "") })
		if err != nil {
			return fail(err)
		}
		if fresh {
			started = append(started, p)
		}
		s.DatabaseURL = PostgresURL(p.Addr, Database, l.PassFile())
	}
	if l.MemcachedServers != "" {
		s.MemcachedServers = l.MemcachedServers
	} else {
		p, fresh, err := l.ensure(ctx, "memcached", func() (*Process, error) { return l.start(ctx, "memcached", "") })
		if err != nil {
			return fail(err)
		}
		if fresh {
			started = append(started, p)
		}
		s.MemcachedServers = p.Addr
	}
	if err := ctx.Err(); err != nil {
		return fail(fmt.Errorf("up: %w", err))
	}
	return s, started, nil
}

// start starts the service name ("postgres" or "memcached"), on addr if
// it is set (where StopService found it), else where a fresh one goes: a
// free port for PostgreSQL; memcached's socket has one path.
func (l *Lab) start(ctx context.Context, name, addr string) (*Process, error) {
	switch name {
	case "postgres":
		port := 0
		if addr != "" {
			_, ps, err := net.SplitHostPort(addr)
			if err == nil {
				port, err = strconv.Atoi(ps)
			}
			if err != nil {
				return nil, fmt.Errorf("postgres's address %q: %w", addr, err)
			}
		}
		pg := &Postgres{Dir: filepath.Join(l.State, "postgres"), BinDir: l.PostgresBinDir, Port: port, PassFile: l.PassFile()}
		return pg.Start(ctx)
	case "memcached":
		m := &Memcached{Dir: filepath.Join(l.State, "memcached"), Binary: l.MemcachedBinary}
		if addr != "" && addr != m.SocketPath() {
			if abs, _ := filepath.Abs(m.SocketPath()); abs != addr {
				return nil, fmt.Errorf("memcached listens on %s, not on %s", abs, addr)
			}
		}
		return m.Start(ctx)
	}
	return nil, fmt.Errorf("no service %q (postgres or memcached)", name)
}

// StopService stops one of the lab's running services ("postgres" or
// "memcached") and returns the address it listened on (a host:port, or
// memcached's socket), for StartService. It returns once the address
// refuses connections: for its clients the service is then gone. It is
// how scalelab bench --fault takes a service away under load.
func (l *Lab) StopService(ctx context.Context, name string) (addr string, err error) {
	unlock, err := l.lock(ctx)
	if err != nil {
		return "", err
	}
	defer unlock()
	p, err := loadProcess(l.procFile(name))
	if err != nil || !p.Alive() {
		return "", fmt.Errorf("the lab's %s is not running (scalelab up starts it)", name)
	}
	if err := stopProcess(p); err != nil {
		return "", fmt.Errorf("stop %s: %w", name, err)
	}
	l.Forget(p)
	if err := waitRefused(name, p.Addr, 10*time.Second); err != nil {
		return "", err
	}
	return p.Addr, nil
}

// StartService starts a service StopService stopped, on the same address,
// so that everything configured with it finds it again.
func (l *Lab) StartService(ctx context.Context, name, addr string) (*Process, error) {
	unlock, err := l.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	p, _, err := l.ensure(ctx, name, func() (*Process, error) { return l.start(ctx, name, addr) })
	return p, err
}

// ensure returns the running process recorded under name, or starts one
// and records it. fresh reports whether it was started now.
func (l *Lab) ensure(ctx context.Context, name string, start func() (*Process, error)) (p *Process, fresh bool, err error) {
	if old, err := loadProcess(l.procFile(name)); err == nil && old.Alive() {
		return old, false, nil
	}
	// A stale record (the server died, or the machine rebooted) is dropped.
	os.Remove(l.procFile(name))
	if err := ctx.Err(); err != nil {
		return nil, false, fmt.Errorf("start %s: %w", name, err)
	}
	if p, err = start(); err != nil {
		return nil, false, err
	}
	if err := saveProcess(l.procFile(name), p); err != nil {
		stopProcess(p)
		return nil, false, fmt.Errorf("record %s: %w", name, err)
	}
	return p, true, nil
}

// Record saves a process started by a stage (an nginx, an app server) in
// the state folder, so that "scalelab down" can stop it even if the
// command that started it was killed.
func (l *Lab) Record(p *Process) error {
	if err := os.MkdirAll(l.runDir(), 0o700); err != nil {
		return err
	}
	return saveProcess(l.procFile(p.Name), p)
}

// Recorded returns every process recorded in the state folder (services,
// stages' processes), alive or not.
func (l *Lab) Recorded() []*Process {
	files, _ := filepath.Glob(filepath.Join(l.runDir(), "*.json"))
	var out []*Process
	for _, f := range files {
		if p, err := loadProcess(f); err == nil && p != nil {
			out = append(out, p)
		}
	}
	return out
}

// Forget removes a process's record after it was stopped.
func (l *Lab) Forget(p *Process) { os.Remove(l.procFile(p.Name)) }

// Stop stops the given processes (those Up started) and forgets them. A
// service restarted meanwhile under the same name (StartService, during a
// fault) is the one stopped.
func (l *Lab) Stop(ps []*Process) error {
	var errs []error
	for i := len(ps) - 1; i >= 0; i-- {
		p := ps[i]
		if cur, err := loadProcess(l.procFile(p.Name)); err == nil && cur.PID != p.PID && cur.Alive() {
			p = cur
		}
		errs = append(errs, stopProcess(p))
		l.Forget(p)
	}
	return errors.Join(errs...)
}

// stopProcess stops p with the signal its server takes for a quick, clean
// shutdown.
func stopProcess(p *Process) error {
	switch {
	case p.Name == "postgres":
		return p.Stop(syscall.SIGINT, 30*time.Second) // "fast" shutdown
	case strings.HasSuffix(p.Name, "nginx"):
		return p.Stop(syscall.SIGQUIT, 10*time.Second) // graceful
	default:
		return p.Stop(syscall.SIGTERM, 10*time.Second)
	}
}

// Down stops every process recorded in the state folder: the services of
// "up" and anything a stage recorded and left behind.
func (l *Lab) Down(ctx context.Context) ([]string, error) {
	if _, err := os.Stat(l.State); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	unlock, err := l.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	files, _ := filepath.Glob(filepath.Join(l.runDir(), "*.json"))
	// Stop the stages' processes before the services they use.
	sort.Slice(files, func(i, j int) bool { return serviceRank(files[i]) < serviceRank(files[j]) })
	var stopped []string
	var errs []error
	for _, f := range files {
		p, err := loadProcess(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if p.Alive() {
			if err := stopProcess(p); err != nil {
				errs = append(errs, err)
				continue
			}
			stopped = append(stopped, fmt.Sprintf("%s (pid %d)", p.Name, p.PID))
		}
		os.Remove(f)
	}
	return stopped, errors.Join(errs...)
}

func serviceRank(file string) int {
	switch strings.TrimSuffix(filepath.Base(file), ".json") {
	case "postgres", "memcached":
		return 1
	}
	return 0
}

// Status reports each service of the lab and any stage process recorded.
func (l *Lab) Status() []Status {
	var out []Status
	if l.DatabaseURL != "" {
		out = append(out, Status{Name: "postgres", State: "external", Addr: Redact(l.DatabaseURL), Access: "yours: the lab does not change it"})
	} else {
		s := l.status("postgres", filepath.Join(l.State, "postgres", "data"))
		s.Access = "password only (in " + l.PassFile() + ", see scalelab env)"
		out = append(out, s)
	}
	if l.MemcachedServers != "" {
		s := Status{Name: "memcached", State: "external", Addr: l.MemcachedServers, Access: "yours: the lab does not change it"}
		for _, a := range strings.Split(l.MemcachedServers, ",") {
			if !IsSocket(strings.TrimSpace(a)) {
				s.Access = "NOT private: TCP, no authentication; whoever reaches " + strings.TrimSpace(a) + " reads and writes the cache"
				break
			}
		}
		out = append(out, s)
	} else {
		s := l.status("memcached", filepath.Join(l.State, "memcached"))
		s.Access = "Unix socket: only " + l.owner() + " can connect"
		out = append(out, s)
	}
	files, _ := filepath.Glob(filepath.Join(l.runDir(), "*.json"))
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		if name != "postgres" && name != "memcached" {
			out = append(out, l.status(name, ""))
		}
	}
	return out
}

func (l *Lab) status(name, dir string) Status {
	s := Status{Name: name, State: "stopped", Dir: dir}
	p, err := loadProcess(l.procFile(name))
	if err != nil {
		s.Problem = err.Error()
		return s
	}
	if p == nil {
		return s
	}
	s.Addr, s.Log = p.Addr, p.Log
	if p.Dir != "" {
		s.Dir = p.Dir
	}
	if p.Alive() {
		s.State, s.PID = "running", p.PID
	} else {
		s.Problem = fmt.Sprintf("pid %d recorded but not running (a stale record: \"scalelab up\" replaces it)", p.PID)
	}
	return s
}

// owner names who may use the lab's private services.
func (l *Lab) owner() string {
	if acct, err := serviceAccount(); err == nil && acct != nil {
		return "root and " + acct.Name
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "its user"
}

// Services returns where the running services are, without starting any.
func (l *Lab) Services() (Services, error) {
	s := Services{DatabaseURL: l.DatabaseURL, MemcachedServers: l.MemcachedServers}
	if s.DatabaseURL == "" {
		p, _ := loadProcess(l.procFile("postgres"))
		if !p.Alive() {
			return s, fmt.Errorf("the lab's PostgreSQL is not running (state %s): run \"scalelab up\" first", l.State)
		}
		s.DatabaseURL = PostgresURL(p.Addr, Database, l.PassFile())
	}
	if s.MemcachedServers == "" {
		p, _ := loadProcess(l.procFile("memcached"))
		if !p.Alive() {
			return s, fmt.Errorf("the lab's memcached is not running (state %s): run \"scalelab up\" first", l.State)
		}
		s.MemcachedServers = p.Addr
	}
	return s, nil
}

// Redact hides a password in a URL that is shown (status, logs).
func Redact(url string) string {
	at := strings.LastIndexByte(url, '@')
	scheme := strings.Index(url, "://")
	if at < 0 || scheme < 0 {
		return url
	}
	userinfo := url[scheme+3 : at]
	if i := strings.IndexByte(userinfo, ':'); i >= 0 {
		return url[:scheme+3] + userinfo[:i] + ":***" + url[at:]
	}
	return url
}

// ClaimEnv names the environment variable through which a command that
// claimed a state folder lets its own children (the driver's "scalelab
// serve") use it: they run on the claim of their parent.
const ClaimEnv = "SCALELAB_CLAIMED_STATE"

// ErrInUse is returned by Claim when another command holds the lab.
var ErrInUse = errors.New("the lab is in use")

// claims keep the claims' files open (and locked) until the process ends.
var claims []*os.File

// Claim takes the state folder for this process until it exits, so that a
// second command that changes the lab (seed, serve, bench, lab, down) says
// the lab is in use instead of pulling the dataset or the servers out from
// under the first. The kernel releases the lock when the process ends,
// however it ends (even by SIGKILL), so a stale claim never blocks.
// command is shown to whoever finds the lab in use.
func (l *Lab) Claim(command string) error {
	if os.Getenv(ClaimEnv) == l.State {
		return nil
	}
	if err := PrepareState(l.State); err != nil {
		return err
	}
	path := filepath.Join(l.State, "claim")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("state folder %s: %w", l.State, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			holder, _ := os.ReadFile(path)
			return fmt.Errorf("%w: %s holds %s; wait for it to finish or stop it (Ctrl-C), or use another --state", ErrInUse, strings.TrimSpace(string(holder)), l.State)
		}
		return fmt.Errorf("claim %s: %w", l.State, err)
	}
	f.Truncate(0)
	fmt.Fprintf(f, "%q (pid %d, since %s)\n", command, os.Getpid(), time.Now().Format("15:04:05"))
	claims = append(claims, f)
	return os.Setenv(ClaimEnv, l.State)
}
