// Package cached is stage 4: stage 3's app servers with a caching layer
// (query results and rendered pages in memcached, invalidated on writes),
// and nginx serving the image pool from disk and anonymous pages straight
// from memcached, so most requests never reach Go. The talk measured 616
// requests/s here (1750 with ab), and 28 without an index.
package cached

import (
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"text/template"

	"github.com/scalelab/scalelab/app"
	"github.com/scalelab/scalelab/infra"
	"github.com/scalelab/scalelab/stages/balanced"
)

//go:embed nginx.conf.tmpl
var nginxTemplate string

// Template is stage 4's nginx config (the http body): the lab renders it
// for its private nginx, and for docker-compose's nginx (deploy/).
var Template = template.Must(template.New("stage4").Parse(nginxTemplate))

// Vars are what Template needs besides Listen and Instances: memcached's
// address, and the folders of the image pool and of style.css. The
// address is a host:port (docker-compose's memcached, an external one) or
// a Unix socket's path (the lab's own, which only the lab's user reaches),
// written for nginx as unix:PATH.
func Vars(memcached, images, static string) map[string]any {
	if infra.IsSocket(memcached) {
		memcached = "unix:" + memcached
	}
	return map[string]any{"Memcached": memcached, "Images": images, "Static": static}
}

// New returns stage 4 built on stage 3's topology: the app servers cache
// (--cache) and keep sessions in memcached; nginx gets stage 4's config.
// memcached is the address nginx reads pages from (see Vars).
func New(st balanced.Stage, memcached string) (*balanced.Stage, error) {
	static := filepath.Join(st.Dir, "static")
	if err := os.MkdirAll(static, 0o755); err != nil {
		return nil, fmt.Errorf("stage 4: %w", err)
	}
	if err := os.WriteFile(filepath.Join(static, "style.css"), app.StyleSheet(), 0o644); err != nil {
		return nil, fmt.Errorf("stage 4: %w", err)
	}
	images, err := filepath.Abs(st.Images)
	if err != nil {
		return nil, fmt.Errorf("stage 4: image pool: %w", err)
	}
	staticAbs, err := filepath.Abs(static)
	if err != nil {
		return nil, fmt.Errorf("stage 4: %w", err)
	}
	// The app servers are reached only through this nginx, which marks a
	// request it already looked up in memcached: they trust the mark.
	st.Args = append(st.Args, "--cache", "--sessions", "memcached", "--trust-page-miss")
	st.Template = Template
	st.Vars = Vars(memcached, images, staticAbs)
	return &st, nil
}
