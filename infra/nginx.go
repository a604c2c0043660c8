package infra

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"text/template"
	"time"
)

// nginxMain is the process-level part of every nginx config the lab
// writes: everything that must live under the private prefix (pid file,
// error log, every *_temp_path) so that nginx never touches /var or /run.
// A stage supplies only the http-level body: its upstreams and servers.
//
//go:embed nginx.conf.tmpl
var nginxMain string

var nginxTmpl = template.Must(template.New("nginx.conf").Parse(nginxMain))

// Nginx is a private nginx: its own prefix folder, config, logs and temp
// folders, running in the foreground (daemon off) as a child of the lab.
type Nginx struct {
	// Prefix is nginx's -p folder: conf/, logs/ and temp/ live under it.
	Prefix string
	// HTTP is the body of the http { } block: upstreams and servers,
	// rendered by the caller from its own template.
	HTTP string
	// Workers is worker_processes; zero means "auto" (one per core).
	Workers int
	// ReadyAddr is a host:port nginx listens on, dialled to know it is up.
	ReadyAddr string
	// Binary is the nginx executable; empty finds it on PATH or in /usr/sbin.
	Binary string

	proc *Process
}

// nginxVars fill nginx.conf.tmpl.
type nginxVars struct {
	Prefix  string
	User    string
	Workers string
	HTTP    string
}

func (n *Nginx) binary() (string, error) {
	if n.Binary != "" {
		if !isExecutable(n.Binary) {
			return "", missing(n.Binary, "nginx")
		}
		return n.Binary, nil
	}
	return lookBinary("nginx", "nginx", "/usr/sbin")
}

// ConfigPath is where the rendered config is written.
func (n *Nginx) ConfigPath() string { return filepath.Join(n.Prefix, "conf", "nginx.conf") }

// Render returns the complete config for the current settings.
func (n *Nginx) Render() ([]byte, error) {
	abs, err := filepath.Abs(n.Prefix)
	if err != nil {
		return nil, err
	}
	v := nginxVars{Prefix: abs, Workers: "auto", HTTP: n.HTTP}
	if n.Workers > 0 {
		v.Workers = itoa(n.Workers)
	}
	// As root the workers run as the lab's service user, as memcached
	// does: they reach the state folder (the image pool, memcached's
	// socket) and no other user does.
	acct, err := serviceAccount()
	if err != nil {
		return nil, fmt.Errorf("nginx: %w", err)
	}
	if acct != nil {
		v.User = acct.Name + " " + acct.Group
	}
	var buf bytes.Buffer
	if err := nginxTmpl.Execute(&buf, v); err != nil {
		return nil, fmt.Errorf("nginx: render config: %w", err)
	}
	return buf.Bytes(), nil
}

// writeConfig renders the config into the prefix and checks it with
// nginx -t, so a bad config is reported with nginx's own message.
func (n *Nginx) writeConfig() (string, error) {
	bin, err := n.binary()
	if err != nil {
		return "", err
	}
	for _, d := range []string{"conf", "logs", "temp"} {
		if err := os.MkdirAll(filepath.Join(n.Prefix, d), 0o755); err != nil {
			return "", fmt.Errorf("nginx: %w", err)
		}
	}
	conf, err := n.Render()
	if err != nil {
		return "", err
	}
	if err := writeFileAtomic(n.ConfigPath(), conf, 0o644); err != nil {
		return "", fmt.Errorf("nginx: write config: %w", err)
	}
	if err := n.Test(); err != nil {
		return "", err
	}
	return bin, nil
}

// Test runs nginx -t on the written config.
func (n *Nginx) Test() error {
	bin, err := n.binary()
	if err != nil {
		return err
	}
	out, err := exec.Command(bin, n.args("-t")...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("nginx: config %s does not pass nginx -t: %s", n.ConfigPath(), lastLinesOf(string(out), 2))
	}
	return nil
}

func (n *Nginx) args(extra ...string) []string {
	abs, _ := filepath.Abs(n.Prefix)
	// -e sets the error log before the config is read, so that even a
	// start-up error never goes to /var/log/nginx.
	return append([]string{"-p", abs + "/", "-c", n.ConfigPath(), "-e", filepath.Join(abs, "logs", "error.log")}, extra...)
}

// Start writes and tests the config, starts nginx and waits until
// ReadyAddr accepts connections.
func (n *Nginx) Start(ctx context.Context) (*Process, error) {
	bin, err := n.writeConfig()
	if err != nil {
		return nil, err
	}
	p, err := StartProcess("nginx", exec.Command(bin, n.args()...), filepath.Join(n.Prefix, "logs", "nginx.out"))
	if err != nil {
		return nil, err
	}
	p.Addr, p.Dir = n.ReadyAddr, n.Prefix
	p.Log = filepath.Join(n.Prefix, "logs", "error.log")
	err = p.waitReady(ctx, 10*time.Second, func() error {
		if n.ReadyAddr == "" {
			return nil
		}
		c, err := net.DialTimeout("tcp", n.ReadyAddr, time.Second)
		if err != nil {
			return err
		}
		return c.Close()
	})
	if err != nil {
		p.Stop(syscall.SIGTERM, 5*time.Second)
		return nil, err
	}
	n.proc = p
	return p, nil
}

// Process is the running nginx master, or nil before Start.
func (n *Nginx) Process() *Process { return n.proc }

// Reload renders the config again (HTTP may have changed), tests it and
// tells the master to load it (SIGHUP): new workers start, old ones finish
// their requests.
func (n *Nginx) Reload() error {
	if !n.proc.Alive() {
		return fmt.Errorf("nginx: reload: not running")
	}
	if _, err := n.writeConfig(); err != nil {
		return err
	}
	if err := syscall.Kill(n.proc.PID, syscall.SIGHUP); err != nil {
		return fmt.Errorf("nginx: reload: %w", err)
	}
	return nil
}

// Stop asks nginx for a graceful shutdown (SIGQUIT: finish requests in
// flight), then kills what remains.
func (n *Nginx) Stop() error {
	if n.proc == nil {
		return nil
	}
	return n.proc.Stop(syscall.SIGQUIT, 10*time.Second)
}

// StopNginx stops a stage's nginx (if it was started) and removes its
// record from lab (if any).
func StopNginx(n *Nginx, lab *Lab) error {
	if n == nil {
		return nil
	}
	err := n.Stop()
	if lab != nil && n.Process() != nil {
		lab.Forget(n.Process())
	}
	return err
}
