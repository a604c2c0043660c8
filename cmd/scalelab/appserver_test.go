package main

import (
	"bufio"
	"io"
	"net/http"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// The hidden appserver command takes serve's app-server flags: the same
// names, defaults and help, from one definition.
func TestAppServerTakesServesFlags(t *testing.T) {
	root := newRootCmd()
	serve, _, err := root.Find([]string{"serve"})
	if err != nil {
		t.Fatal(err)
	}
	app, _, err := root.Find([]string{"appserver"})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"sessions", "cache", "query-timeout", "app-cpu", "app-start-cpu"} {
		s, a := serve.Flags().Lookup(name), app.Flags().Lookup(name)
		if s == nil || a == nil || s.DefValue != a.DefValue || s.Usage != a.Usage {
			t.Errorf("--%s: serve %+v, appserver %+v", name, s, a)
		}
	}
	for _, args := range [][]string{
		{"appserver", "--sessions", "cookies"},
		{"appserver", "--query-timeout", "0s"},
		{"appserver", "--nosuch"},
		{"appserver", "--app-cpu", "-1ms"},
		{"appserver", "--app-start-cpu", "1h"},
		{"appserver", "extra"},
	} {
		if r := run(t, nil, args...); r.code != 2 || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q; want 2 and one line", args, r.code, r.stderr)
		}
	}
}

// An app server started as the stages start it: serve's flags, the
// database from the environment; it serves, and stops on SIGTERM.
func TestAppServerServes(t *testing.T) {
	svc := seeded(t, stateDir(t), 200)
	cmd, _, stderr := scalelab([]string{"DATABASE_URL=" + svc.DatabaseURL, "MEMCACHED_SERVERS=" + svc.MemcachedServers},
		"appserver", "--addr", "127.0.0.1:0", "--sessions", "memory", "--query-timeout", "5s")
	cmd.Stdout = nil
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The first line says where it serves; it ends when the process does.
	line, err := bufio.NewReader(out).ReadString('\n')
	m := regexp.MustCompile(`^appserver: serving (http://\S+)`).FindStringSubmatch(line)
	if m == nil {
		cmd.Wait()
		t.Fatalf("appserver did not serve: %q %v; %s", line, err, stderr)
	}
	url := m[1]
	resp, err := http.Get(url + "/u/user000001")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("a user's page: %d", resp.StatusCode)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	io.Copy(io.Discard, out)
	if err := cmd.Wait(); err != nil {
		t.Errorf("appserver on SIGTERM: %v; %s", err, stderr)
	}
}
