package infra_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scalelab/scalelab/infra"
	"github.com/scalelab/scalelab/infra/infratest"
	"github.com/scalelab/scalelab/internal/wait"
)

func stateDir(t *testing.T) string {
	t.Helper()
	dir, err := infratest.StateDir("scalelab-infra-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func assertNoProcesses(t *testing.T, dir string) {
	t.Helper()
	// A process that was just killed may take a moment to be reaped: wait
	// for it, with a guard against a hang.
	if !wait.Until(func() bool { return len(infratest.LabProcesses(dir)) == 0 }) {
		t.Fatalf("processes of the lab in %s still run: %v", dir, infratest.LabProcesses(dir))
	}
}

func TestUpIsIdempotentAndDownStopsAll(t *testing.T) {
	ctx := context.Background()
	dir := stateDir(t)
	lab := &infra.Lab{State: dir}
	svc, started, err := lab.Up(ctx)
	infratest.NeedBinary(t, err)
	t.Cleanup(func() { lab.Down(ctx) })
	if len(started) != 2 {
		t.Fatalf("first up started %d processes, want 2", len(started))
	}
	if !strings.HasPrefix(svc.DatabaseURL, "postgres://postgres@127.0.0.1:") || !strings.Contains(svc.DatabaseURL, "passfile=") ||
		svc.MemcachedServers != filepath.Join(dir, "memcached", "memcached.sock") {
		t.Errorf("services = %+v", svc)
	}
	svc2, started2, err := lab.Up(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(started2) != 0 || svc2 != svc {
		t.Errorf("second up started %d and gave %+v, want none and %+v", len(started2), svc2, svc)
	}
	for _, s := range lab.Status() {
		if s.State != "running" || s.PID == 0 {
			t.Errorf("status %+v, want running", s)
		}
	}
	stopped, err := lab.Down(ctx)
	if err != nil || len(stopped) != 2 {
		t.Fatalf("down stopped %v, %v", stopped, err)
	}
	for _, p := range started {
		if p.Alive() {
			t.Errorf("%s (pid %d) still alive after down", p.Name, p.PID)
		}
	}
	assertNoProcesses(t, dir)
	if _, err := lab.Services(); err == nil {
		t.Error("Services after down: no error")
	}
}

// A failure halfway through up (memcached cannot start) stops the
// PostgreSQL it had started.
func TestUpFailingHalfwayLeavesNothing(t *testing.T) {
	dir := stateDir(t)
	lab := &infra.Lab{State: dir, MemcachedBinary: "/bin/false"}
	_, _, err := lab.Up(context.Background())
	if err == nil {
		lab.Down(context.Background())
		t.Fatal("up with a memcached that exits at once succeeded")
	}
	if !strings.Contains(err.Error(), "memcached") {
		t.Errorf("error %q does not name memcached", err)
	}
	assertNoProcesses(t, dir)
	for _, s := range lab.Status() {
		if s.State != "stopped" {
			t.Errorf("after a failed up: %+v", s)
		}
	}
}

func TestUpCancelledLeavesNothing(t *testing.T) {
	dir := stateDir(t)
	lab := &infra.Lab{State: dir}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, _, err := lab.Up(ctx)
	if err == nil {
		lab.Down(context.Background())
		t.Skip("up finished within 300ms: nothing to interrupt on this machine")
	}
	if errors.Is(err, infra.ErrMissingBinary) {
		infratest.NeedBinary(t, err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("up interrupted: %v, want an error wrapping the context's", err)
	}
	assertNoProcesses(t, dir)
}

func TestMissingBinaryNamesPackage(t *testing.T) {
	m := &infra.Memcached{Dir: t.TempDir(), Binary: "/nonexistent/memcached"}
	_, err := m.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), `"memcached"`) || !strings.Contains(err.Error(), "make deps") {
		t.Fatalf("error %v does not name the package and make deps", err)
	}
}

func TestExternalModeStartsNothing(t *testing.T) {
	dir := stateDir(t)
	lab := &infra.Lab{State: dir, DatabaseURL: "postgres://u:secret@127.0.0.1:1/x", MemcachedServers: "127.0.0.1:2"}
	svc, started, err := lab.Up(context.Background())
	if err != nil || len(started) != 0 || svc.DatabaseURL != lab.DatabaseURL {
		t.Fatalf("external up: %+v %v %v", svc, started, err)
	}
	for _, s := range lab.Status() {
		if s.State != "external" || strings.Contains(s.Addr, "secret") {
			t.Errorf("status %+v: want external, password hidden", s)
		}
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestNginxStartReloadStop(t *testing.T) {
	dir := stateDir(t)
	www := filepath.Join(dir, "www")
	os.MkdirAll(www, 0o755)
	os.WriteFile(filepath.Join(www, "hello.txt"), []byte("hello from nginx\n"), 0o644)
	port, err := infra.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	server := func(extra string) string {
		return fmt.Sprintf("server {\n listen %s;\n root %s;\n %s\n}\n", addr, www, extra)
	}
	n := &infra.Nginx{Prefix: filepath.Join(dir, "nginx"), HTTP: server(""), Workers: 1, ReadyAddr: addr}
	p, err := n.Start(context.Background())
	infratest.NeedBinary(t, err)
	t.Cleanup(func() { n.Stop() })

	if code, body := get(t, "http://"+addr+"/hello.txt"); code != 200 || body != "hello from nginx\n" {
		t.Fatalf("GET /hello.txt = %d %q", code, body)
	}
	// Everything nginx writes is under its prefix.
	for _, f := range []string{"logs/nginx.pid", "conf/nginx.conf", "temp/proxy"} {
		if _, err := os.Stat(filepath.Join(dir, "nginx", f)); err != nil {
			t.Errorf("missing %s under the prefix: %v", f, err)
		}
	}

	n.HTTP = server("location = /ping { return 200 'pong'; }")
	if err := n.Reload(); err != nil {
		t.Fatal(err)
	}
	var code int
	var body string
	wait.Until(func() bool { // the new workers take a moment
		code, body = get(t, "http://"+addr+"/ping")
		return code == 200
	})
	if code != 200 || body != "pong" {
		t.Errorf("after reload GET /ping = %d %q", code, body)
	}

	// A config that nginx -t refuses is not loaded, and nginx keeps serving.
	n.HTTP = server("this is not a directive;")
	if err := n.Reload(); err == nil || !strings.Contains(err.Error(), "nginx -t") {
		t.Errorf("reload of a bad config: %v", err)
	}
	if code, _ := get(t, "http://"+addr+"/hello.txt"); code != 200 {
		t.Errorf("after a refused reload GET = %d", code)
	}

	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	if p.Alive() {
		t.Error("nginx alive after Stop")
	}
	assertNoProcesses(t, dir)
}

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1": true, "127.5.6.7": true, "::1": true, "[::1]": true, "localhost": true,
		"10.0.0.1": false, "example.com": false, "0.0.0.0": false, "": false,
	} {
		if got := infra.IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}

// The default state folder is relative (.lab): the servers, which run in
// folders of their own, must still find their data.
func TestUpWithARelativeStateFolder(t *testing.T) {
	parent := stateDir(t)
	wd, _ := os.Getwd()
	if err := os.Chdir(parent); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	lab := &infra.Lab{State: ".lab"}
	_, started, err := lab.Up(context.Background())
	infratest.NeedBinary(t, err)
	defer lab.Down(context.Background())
	if len(started) != 2 {
		t.Fatalf("started %d services, want 2", len(started))
	}
	for _, s := range lab.Status() {
		if s.State != "running" {
			t.Errorf("%+v", s)
		}
	}
}

// A service stopped under a running lab (scalelab bench --fault) comes back
// on the same address, so that everything configured with it finds it.
func TestStopAndStartServiceKeepsTheAddress(t *testing.T) {
	ctx := context.Background()
	dir := stateDir(t)
	lab := &infra.Lab{State: dir}
	svc, started, err := lab.Up(ctx)
	infratest.NeedBinary(t, err)
	t.Cleanup(func() { lab.Down(ctx) })
	for _, name := range []string{"memcached", "postgres"} {
		addr, err := lab.StopService(ctx, name)
		if err != nil {
			t.Fatalf("stop %s: %v", name, err)
		}
		// StopService returns once the address refuses connections.
		if c, err := infra.DialMemcached(addr, time.Second); err == nil {
			c.Close()
			t.Fatalf("%s still answers on %s after StopService", name, addr)
		}
		if _, err := lab.StopService(ctx, name); err == nil {
			t.Errorf("stopping a stopped %s succeeded", name)
		}
		p, err := lab.StartService(ctx, name, addr)
		if err != nil {
			t.Fatalf("start %s again: %v", name, err)
		}
		if p.Addr != addr {
			t.Errorf("%s came back on %s, want %s", name, p.Addr, addr)
		}
	}
	again, err := lab.Services()
	if err != nil || again != svc {
		t.Errorf("services after the restarts: %+v, %v; before: %+v", again, err, svc)
	}
	if _, err := lab.StopService(ctx, "nginx"); err == nil {
		t.Error("StopService of an unknown service succeeded")
	}
	// Stopping what Up started stops the services that replaced them.
	if err := lab.Stop(started); err != nil {
		t.Fatal(err)
	}
	assertNoProcesses(t, dir)
}
