package stages_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scalelab/scalelab/infra"
	"github.com/scalelab/scalelab/infra/infratest"
	"github.com/scalelab/scalelab/internal/appserver"
	"github.com/scalelab/scalelab/internal/hostile"
	"github.com/scalelab/scalelab/internal/httpserver"
	"github.com/scalelab/scalelab/stages/baseline"
	"github.com/scalelab/scalelab/stages/cached"
	"github.com/scalelab/scalelab/stages/cgi"
	"github.com/scalelab/scalelab/stages/fastcgi"
)

// clientTimeout is the servers' header and body timeout in this test:
// short, so that the slow-client check can see them cut off in seconds.
const clientTimeout = 2 * time.Second

var shortTimeouts = httpserver.Timeouts{ReadHeader: clientTimeout, Read: clientTimeout}

func hostAddr(url string) string { return strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/") }

// expiredSession stores a session that expired yesterday and returns its id.
func expiredSession(t *testing.T) string {
	t.Helper()
	id := hostile.ForgedID()
	_, err := lab.Pool.Exec(context.Background(), `INSERT INTO sessions (id, user_id, created_at, expires_at)
		VALUES ($1, 9, now() - interval '8 days', now() - interval '1 day')`, id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// Every stage answers the hostile corpus with 4xx, harmless 2xx/3xx or a
// closed connection, never a 5xx or a file outside the image pool, and
// keeps serving others while slow clients hold connections.
func TestHostileInput(t *testing.T) {
	expired := expiredSession(t)
	t.Run("stage 0", func(t *testing.T) {
		port, _ := infra.FreePort()
		dir, err := infratest.StateDir("scalelab-stage0-")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		st := &baseline.Stage{Addr: fmt.Sprintf("127.0.0.1:%d", port), GoAddr: "127.0.0.1:0", Dir: dir,
			DatabaseURL: lab.Services.DatabaseURL, Users: 300, Timeouts: shortTimeouts, ClientTimeout: clientTimeout}
		if err := st.Start(context.Background()); err != nil {
			infratest.NeedBinary(t, err)
		}
		defer st.Close(context.Background())
		u := st.URLs()
		t.Run("nginx", func(t *testing.T) {
			hostile.Run(t, hostile.Target{Addr: hostAddr(u[0]), Probe: "/", ClientTimeout: clientTimeout, Expired: expired})
		})
		t.Run("go", func(t *testing.T) {
			hostile.Run(t, hostile.Target{Addr: hostAddr(strings.TrimSuffix(u[1], "/dynamic")), Probe: "/query", ClientTimeout: clientTimeout, Expired: expired})
		})
	})
	t.Run("stage 1", func(t *testing.T) {
		prog, err := cgi.Build(context.Background(), filepath.Join(t.TempDir(), "bin"))
		if err != nil {
			t.Fatal(err)
		}
		h := &cgi.Host{Addr: "127.0.0.1:0", Program: prog, DatabaseURL: lab.Services.DatabaseURL, Images: lab.Images, Timeouts: shortTimeouts}
		if err := h.Open(); err != nil {
			t.Fatal(err)
		}
		c := start(t, h)
		hostile.Run(t, hostile.Target{Addr: hostAddr(c.Base), ClientTimeout: clientTimeout, Expired: expired})
	})
	t.Run("stage 1f", func(t *testing.T) {
		port, _ := infra.FreePort()
		dir, err := infratest.StateDir("scalelab-stage1f-")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		st := &fastcgi.Stage{Addr: fmt.Sprintf("127.0.0.1:%d", port), Dir: dir, Images: lab.Images, Command: appServerCommand,
			Env: []string{"DATABASE_URL=" + lab.Services.DatabaseURL}, ClientTimeout: clientTimeout}
		if err := st.Start(context.Background()); err != nil {
			infratest.NeedBinary(t, err)
		}
		defer st.Close(context.Background())
		hostile.Run(t, hostile.Target{Addr: st.Addr, ClientTimeout: clientTimeout, Expired: expired})
	})
	t.Run("stage 2", func(t *testing.T) {
		s := &appserver.Server{Addr: "127.0.0.1:0", DatabaseURL: lab.Services.DatabaseURL, Images: lab.Images, Timeouts: shortTimeouts}
		if err := s.Open(context.Background()); err != nil {
			t.Fatal(err)
		}
		c := start(t, s)
		hostile.Run(t, hostile.Target{Addr: hostAddr(c.Base), ClientTimeout: clientTimeout, Expired: expired})
	})
	t.Run("stage 3", func(t *testing.T) {
		st := newStage3(t, "memcached", lab.Services.MemcachedServers)
		st.Vars = map[string]any{"ClientTimeout": fmt.Sprintf("%dms", clientTimeout.Milliseconds())}
		c := startStage(t, st)
		hostile.Run(t, hostile.Target{Addr: hostAddr(c.Base), ClientTimeout: clientTimeout, Expired: expired})
	})
	t.Run("stage 4", func(t *testing.T) {
		st, err := cached.New(*newStage3(t, "memcached", lab.Services.MemcachedServers), lab.Services.MemcachedServers)
		if err != nil {
			t.Fatal(err)
		}
		st.Vars["ClientTimeout"] = fmt.Sprintf("%dms", clientTimeout.Milliseconds())
		c := startStage(t, st)
		hostile.Run(t, hostile.Target{Addr: hostAddr(c.Base), ClientTimeout: clientTimeout, Expired: expired})
	})
}
