// Package supervisor starts a stage's app-server processes and keeps
// them running, as a process supervisor (systemd, runit) would on a real
// host: each on a free loopback port with GOMAXPROCS=1 (the talk's GIL),
// restarted when it dies, recorded so "scalelab down" finds it. Stages 1f,
// 3 and 4 run their app servers through it; it lives apart from them so
// that no stage borrows another stage's package to start processes.
package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/scalelab/scalelab/infra"
)

// Instances runs N app-server processes, each restarted when it dies:
// stage 3's and stage 4's behind their nginx, stage 1f's one FastCGI process.
type Instances struct {
	// N is the number of processes.
	N int
	// Command returns the command of one app server given its flags (the
	// scalelab binary's hidden "appserver" command; a test binary in tests).
	Command func(args ...string) *exec.Cmd
	// Args are the app servers' flags besides --addr and --images.
	Args []string
	// Env adds to each process's environment (DATABASE_URL, MEMCACHED_SERVERS).
	Env []string
	// Images is the image pool folder.
	Images string
	// Dir holds the processes' logs.
	Dir string
	// Lab, if set, records each process so "scalelab down" finds it.
	Lab *infra.Lab
	// Prefix names the processes ("stage3" gives stage3-app-1, …).
	Prefix string
	// External lists app servers that run elsewhere (other hosts, started
	// with "scalelab serve app"): none is started, these are balanced over.
	External []string
	// NoHealthCheck skips waiting for /healthz (a FastCGI process does not
	// speak HTTP; its stage checks it through nginx).
	NoHealthCheck bool
	// Log gets a line for each instance that dies and is restarted; nil
	// means os.Stderr.
	Log io.Writer

	// Addrs are where the instances listen (after Start).
	Addrs []string
	// Procs are the running processes; an instance restarted replaces its
	// entry (read them with Proc while the stage runs).
	Procs []*infra.Process

	// sup is made by Start (an Instances is copied by value before).
	sup *restarts
}

// restarts is the state of the restarts.
type restarts struct {
	mu       sync.Mutex    // guards Procs once Start has returned
	stopping chan struct{} // closed by Stop: no more restarts
	watchers sync.WaitGroup
}

// Proc returns the i-th instance's current process.
func (in *Instances) Proc(i int) *infra.Process {
	if in.sup == nil {
		return in.Procs[i]
	}
	in.sup.mu.Lock()
	defer in.sup.mu.Unlock()
	return in.Procs[i]
}

// startOne starts instance i (0-based) on addr.
func (in *Instances) startOne(i int, addr string) (*infra.Process, error) {
	cmd := in.Command(append([]string{"--addr", addr, "--images", in.Images}, in.Args...)...)
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(append(cmd.Env, in.Env...), "GOMAXPROCS=1")
	name := fmt.Sprintf("%s-app-%d", in.Prefix, i+1)
	p, err := infra.StartProcess(name, cmd, filepath.Join(in.Dir, name+".log"))
	if err != nil {
		return nil, err
	}
	p.Addr = addr
	if in.Lab != nil {
		in.Lab.Record(p)
	}
	return p, nil
}

// supervise restarts instance i on its address whenever it dies, as a
// process supervisor (systemd, runit) would: nginx stops sending it
// requests while it is down (proxy_next_upstream) and sends them again
// once it listens. A process that keeps dying is restarted less often
// (up to every 5 s).
func (in *Instances) supervise(i int) {
	defer in.sup.watchers.Done()
	log := in.Log
	if log == nil {
		log = os.Stderr
	}
	backoff := 100 * time.Millisecond
	for {
		p := in.Proc(i)
		select {
		case <-in.sup.stopping:
			return
		case <-p.Exited():
		}
		fmt.Fprintf(log, "%s (pid %d) exited; restarting it on %s in %s\n", p.Name, p.PID, p.Addr, backoff)
		select {
		case <-in.sup.stopping:
			return
		case <-time.After(backoff):
		}
		in.sup.mu.Lock()
		select {
		case <-in.sup.stopping:
			in.sup.mu.Unlock()
			return
		default:
		}
		np, err := in.startOne(i, p.Addr)
		if err == nil {
			in.Procs[i] = np
		}
		in.sup.mu.Unlock()
		if err != nil {
			fmt.Fprintf(log, "restart %s: %v\n", p.Name, err)
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		fmt.Fprintf(log, "%s restarted (pid %d)\n", np.Name, np.PID)
		started := time.Now()
		select {
		case <-in.sup.stopping:
			return
		case <-np.Exited():
		}
		if time.Since(started) > 10*time.Second {
			backoff = 100 * time.Millisecond
		} else {
			backoff = min(2*backoff, 5*time.Second)
		}
	}
}

// Start starts the processes, each on a free loopback port with
// GOMAXPROCS=1, and waits until every one answers /healthz.
func (in *Instances) Start(ctx context.Context) error {
	if len(in.External) > 0 {
		in.Addrs = in.External
		for _, a := range in.External {
			if err := WaitHealthy(ctx, nil, "http://"+a+"/healthz", 10*time.Second); err != nil {
				return fmt.Errorf("upstream %s: %w", a, err)
			}
		}
		return nil
	}
	if err := os.MkdirAll(in.Dir, 0o755); err != nil {
		return err
	}
	in.sup = &restarts{stopping: make(chan struct{})}
	for i := 0; i < in.N; i++ {
		port, err := infra.FreePort()
		if err != nil {
			return err
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		p, err := in.startOne(i, addr)
		if err != nil {
			in.Stop()
			return err
		}
		in.Procs = append(in.Procs, p)
		in.Addrs = append(in.Addrs, addr)
	}
	for _, p := range in.Procs {
		if in.NoHealthCheck {
			break
		}
		if err := WaitHealthy(ctx, p, "http://"+p.Addr+"/healthz", 30*time.Second); err != nil {
			in.Stop()
			return err
		}
	}
	for i := range in.Procs {
		in.sup.watchers.Add(1)
		go in.supervise(i)
	}
	return nil
}

// WaitHealthy waits until url answers 200, p dies, or timeout passes.
func WaitHealthy(ctx context.Context, p *infra.Process, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		if p != nil && !p.Alive() {
			return fmt.Errorf("%s exited during start-up (see %s): %s", p.Name, p.Log, p.LogTail(3))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no healthy answer from %s: %w", url, ctx.Err())
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// Stop stops every process (SIGTERM: requests in flight finish).
func (in *Instances) Stop() error {
	procs := in.Procs
	if sup := in.sup; sup != nil {
		sup.mu.Lock()
		select {
		case <-sup.stopping:
		default:
			close(sup.stopping)
		}
		procs = append([]*infra.Process(nil), in.Procs...)
		sup.mu.Unlock()
		sup.watchers.Wait()
	}
	var errs []error
	for _, p := range procs {
		errs = append(errs, p.Stop(syscall.SIGTERM, 15*time.Second))
		if in.Lab != nil {
			in.Lab.Forget(p)
		}
	}
	return errors.Join(errs...)
}
