// Package balanced is stage 3: several app-server processes, each with
// GOMAXPROCS=1 like stage 2, behind a real nginx that balances requests
// over them. The talk ran several CherryPy processes to get past the GIL.
//
// Sessions live in memcached so that any instance can serve any request
// (share nothing). --sessions memory keeps them in each process instead and
// shows why that breaks behind a balancer: a user who logged in on one
// instance looks logged out whenever the next request lands on another.
// Static files are still read from disk by the Go processes on every
// request: the bottleneck the talk found at this stage.
package balanced

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"path/filepath"
	"text/template"

	"github.com/scalelab/scalelab/infra"
	"github.com/scalelab/scalelab/internal/supervisor"
)

//go:embed nginx.conf.tmpl
var nginxTemplate string

var tmpl = template.Must(template.New("stage3").Parse(nginxTemplate))

// Stage is stage 3: Instances behind nginx.
type Stage struct {
	// Addr is where nginx listens.
	Addr string
	// Dir holds nginx's prefix and the instances' logs.
	Dir string
	supervisor.Instances
	// Template renders nginx's http body; nil means stage 3's. Stage 4
	// brings its own.
	Template *template.Template
	// Vars adds to what the template gets (stage 4: memcached, images).
	Vars map[string]any

	nginx *infra.Nginx
}

// Start starts the instances, then nginx in front of them.
func (s *Stage) Start(ctx context.Context) error {
	s.Instances.Dir = filepath.Join(s.Dir, "logs")
	if err := s.Instances.Start(ctx); err != nil {
		return err
	}
	http, err := s.Render()
	if err != nil {
		s.Instances.Stop()
		return err
	}
	s.nginx = &infra.Nginx{Prefix: filepath.Join(s.Dir, "nginx"), HTTP: http, ReadyAddr: s.Addr}
	p, err := s.nginx.Start(ctx)
	if err != nil {
		s.Instances.Stop()
		return err
	}
	p.Name = s.Prefix + "-nginx"
	if s.Lab != nil {
		s.Lab.Record(p)
	}
	return nil
}

// Render returns nginx's http body for this stage.
func (s *Stage) Render() (string, error) {
	t := s.Template
	if t == nil {
		t = tmpl
	}
	vars := map[string]any{"Listen": s.Addr, "Instances": s.Addrs}
	for k, v := range s.Vars {
		vars[k] = v
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, vars); err != nil {
		return "", fmt.Errorf("render nginx config: %w", err)
	}
	return buf.String(), nil
}

// Nginx is the stage's nginx (after Start).
func (s *Stage) Nginx() *infra.Nginx { return s.nginx }

// URL is where the stage serves.
func (s *Stage) URL() string { return "http://" + s.Addr }

// Close stops nginx, then the instances.
func (s *Stage) Close(context.Context) error {
	return errors.Join(infra.StopNginx(s.nginx, s.Lab), s.Instances.Stop())
}
