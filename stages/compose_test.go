package stages_test

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scalelab/scalelab/internal/supervisor"
	"github.com/scalelab/scalelab/stages/balanced"
	"github.com/scalelab/scalelab/stages/cached"
)

var update = flag.Bool("update", false, "rewrite deploy/ from the templates")

// The nginx configs of docker-compose.yml are the lab's own templates
// rendered for the compose network: they must not drift. Run
// "go test ./stages -run Compose -update" after changing a template.
func TestComposeConfigsMatchTheTemplates(t *testing.T) {
	compose := func(memcachedVars map[string]any) *balanced.Stage {
		st := &balanced.Stage{Addr: "80", Instances: supervisor.Instances{Addrs: []string{"app:8080"}}}
		if memcachedVars != nil {
			st.Template, st.Vars = cached.Template, memcachedVars
		}
		return st
	}
	for file, st := range map[string]*balanced.Stage{
		"nginx-stage3.conf": compose(nil),
		"nginx-stage4.conf": compose(cached.Vars("memcached:11211", "/data/images", "/data/static")),
	} {
		body, err := st.Render()
		if err != nil {
			t.Fatal(err)
		}
		if file == "nginx-stage4.conf" {
			// In compose the caching app servers are their own service.
			st.Addrs = []string{"app-cached:8080"}
			if body, err = st.Render(); err != nil {
				t.Fatal(err)
			}
		}
		want := "# Generated from the lab's templates by go test ./stages -run Compose -update: do not edit.\n" + body
		path := filepath.Join("..", "deploy", file)
		if *update {
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("%s differs from what the templates render: run go test ./stages -run Compose -update", path)
		}
	}
}

// docker-compose.yml is valid for Compose (no engine runs here: the stack
// itself is not started).
func TestComposeFileIsValid(t *testing.T) {
	bin, err := exec.LookPath("docker-compose")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("docker-compose is not installed (.ci/run installs Debian's docker-compose)")
		}
		t.Skip("docker-compose is not installed: apt-get install docker-compose")
	}
	out, err := exec.Command(bin, "-f", filepath.Join("..", "docker-compose.yml"), "config", "-q").CombinedOutput()
	if err != nil {
		t.Fatalf("docker-compose config: %v\n%s", err, out)
	}
}

// The lab's own memcached is a Unix socket: stage 4's nginx reads pages
// from it as unix:PATH; compose's memcached stays a host:port.
func TestStage4TemplateTakesASocketOrAPort(t *testing.T) {
	for addr, want := range map[string]string{
		"/lab/memcached/memcached.sock": "server unix:/lab/memcached/memcached.sock;",
		"memcached:11211":               "server memcached:11211;",
	} {
		st := &balanced.Stage{Addr: "80", Instances: supervisor.Instances{Addrs: []string{"app:8080"}}}
		st.Template, st.Vars = cached.Template, cached.Vars(addr, "/data/images", "/data/static")
		body, err := st.Render()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(body, want) {
			t.Errorf("memcached %s: the config has no %q", addr, want)
		}
	}
}
