// Package fastcgi is stage 1f, between stages 1 and 2: nginx passes every
// request over FastCGI (fastcgi_pass) to one long-running Go process
// (net/http/fcgi) with the same handlers, the same sessions in the
// database and GOMAXPROCS=1 as stage 2. Its numbers sit next to stage 2's,
// far from stage 1's: the gain comes from the long-running process, not
// from the protocol.
package fastcgi

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"text/template"
	"time"

	"github.com/scalelab/scalelab/infra"
	"github.com/scalelab/scalelab/internal/supervisor"
)

//go:embed nginx.conf.tmpl
var nginxTemplate string

var tmpl = template.Must(template.New("stage1f").Parse(nginxTemplate))

// Stage is stage 1f: one FastCGI app process behind nginx.
type Stage struct {
	// Addr is where nginx listens; Dir holds its prefix and the app's log.
	Addr, Dir string
	// Command, Env, Images and Lab are as for supervisor.Instances.
	Command func(args ...string) *exec.Cmd
	Env     []string
	Images  string
	Lab     *infra.Lab
	// Args add to the FastCGI process's flags (e.g. --query-timeout).
	Args []string
	// ClientTimeout is nginx's client_header_timeout and
	// client_body_timeout; zero means 10s.
	ClientTimeout time.Duration

	app   supervisor.Instances
	nginx *infra.Nginx
}

// Start starts the FastCGI process, then nginx in front of it.
func (s *Stage) Start(ctx context.Context) error {
	s.app = supervisor.Instances{N: 1, Command: s.Command, Args: append([]string{"--fastcgi", "--sessions", "db"}, s.Args...),
		Env: s.Env, Images: s.Images, Dir: filepath.Join(s.Dir, "logs"), Lab: s.Lab, Prefix: "stage1f"}
	// A FastCGI process does not answer HTTP: it is ready when nginx can
	// reach it, which Start checks through nginx below.
	s.app.NoHealthCheck = true
	if err := s.app.Start(ctx); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, map[string]any{"Listen": s.Addr, "App": s.app.Addrs[0], "ClientTimeout": nginxDuration(s.ClientTimeout)}); err != nil {
		s.app.Stop()
		return fmt.Errorf("stage 1f: render nginx config: %w", err)
	}
	s.nginx = &infra.Nginx{Prefix: filepath.Join(s.Dir, "nginx"), HTTP: buf.String(), ReadyAddr: s.Addr, Workers: 1}
	p, err := s.nginx.Start(ctx)
	if err != nil {
		s.app.Stop()
		return err
	}
	p.Name = "stage1f-nginx"
	if s.Lab != nil {
		s.Lab.Record(p)
	}
	if err := supervisor.WaitHealthy(ctx, s.app.Procs[0], "http://"+s.Addr+"/healthz", 30*time.Second); err != nil {
		s.Close(ctx)
		return err
	}
	return nil
}

// nginxDuration writes d in nginx's syntax (milliseconds); zero is "",
// which the template replaces by its default.
func nginxDuration(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return fmt.Sprintf("%dms", d.Milliseconds())
}

// App is the FastCGI process.
func (s *Stage) App() *infra.Process { return s.app.Proc(0) }

// Nginx is the stage's nginx.
func (s *Stage) Nginx() *infra.Nginx { return s.nginx }

// URL is where the stage serves.
func (s *Stage) URL() string { return "http://" + s.Addr }

// Close stops nginx, then the FastCGI process.
func (s *Stage) Close(context.Context) error {
	return errors.Join(infra.StopNginx(s.nginx, s.Lab), s.app.Stop())
}
