package infra_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scalelab/scalelab/infra"
	"github.com/scalelab/scalelab/infra/infratest"
)

// asOtherEnv tells this test binary, run again as another user, to probe
// the lab named in its environment instead of testing (see
// TestProbeAsAnotherUser).
const asOtherEnv = "SCALELAB_PROBE_AS_OTHER_USER"

// Another user of the machine (nobody) gets nothing of a running lab: not
// its database without the password (over TCP, which is open to every
// user, or over the socket), not its memcached, not even the list of its
// state folder. With the password the same TCP connection succeeds: the
// password, not a closed port, keeps the user out.
func TestOtherUsersAreKeptOut(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipped: run as root to act as the user nobody (another user of the machine)")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skipf("skipped: no user nobody to act as: %v", err)
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}

	ctx := context.Background()
	dir := stateDir(t)
	lab := &infra.Lab{State: dir}
	svc, _, err := lab.Up(ctx)
	infratest.NeedBinary(t, err)
	t.Cleanup(func() { lab.Down(ctx) })
	st, _ := os.Stat(dir)
	if st.Mode().Perm()&0o007 != 0 {
		t.Errorf("state folder %s has mode %v: others have access", dir, st.Mode().Perm())
	}
	if st, err := os.Stat(lab.PassFile()); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("pass file %s: %v, %v; want mode 0600", lab.PassFile(), st, err)
	}
	password, err := infra.ReadPassword(lab.PassFile())
	if err != nil {
		t.Fatal(err)
	}

	// This very binary probes as nobody, from a folder nobody can read (go
	// test builds it in a folder only its owner enters).
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bindir, err := os.MkdirTemp("", "scalelab-probe-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(bindir) })
	os.Chmod(bindir, 0o755)
	probe := filepath.Join(bindir, "probe.test")
	if err := copyFile(exe, probe); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(probe, "-test.run=^TestProbeAsAnotherUser$", "-test.count=1")
	cmd.Dir = bindir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=/nonexistent", asOtherEnv + "=1",
		"PROBE_STATE=" + dir, "PROBE_DATABASE_URL=" + svc.DatabaseURL,
		"PROBE_MEMCACHED=" + svc.MemcachedServers, "PROBE_PASSWORD=" + password}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the probe as nobody failed: %v\n%s", err, out)
	}
	results := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "PROBE "), "="); ok && strings.HasPrefix(sc.Text(), "PROBE ") {
			results[k] = v
		}
	}
	t.Logf("as nobody: %v", results)
	for probe, want := range map[string]string{
		"database":          "password",          // the lab's URL: its pass file is out of reach
		"database-bare":     "password",          // the loopback port, no password
		"database-socket":   "permission denied", // the socket folder is closed
		"memcached":         "permission denied",
		"list-state":        "permission denied",
		"read-pass-file":    "permission denied",
		"database-password": "ok",
	} {
		got, ok := results[probe]
		if !ok {
			t.Errorf("probe %s did not run:\n%s", probe, out)
			continue
		}
		if want == "ok" && got != "ok" || want != "ok" && (got == "ok" || !strings.Contains(strings.ToLower(got), want)) {
			t.Errorf("as nobody, %s: %q, want %q", probe, got, want)
		}
	}

	// The issue's own check: psql as nobody, without a password.
	if psql := psqlBinary(); psql != "" {
		u, err := url.Parse(svc.DatabaseURL)
		if err != nil {
			t.Fatal(err)
		}
		port := u.Port()
		c := exec.Command(psql, "-h", "127.0.0.1", "-p", port, "-U", "postgres", "-d", "scalelab", "-w", "-c", "select 1")
		c.Dir, c.Env = bindir, []string{"PATH=/usr/bin:/bin", "HOME=/nonexistent"}
		c.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		out, err := c.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "password") {
			t.Errorf("psql as nobody: %v: %s; want a refusal for want of a password", err, out)
		}
	}
}

// TestProbeAsAnotherUser is the other user's side of
// TestOtherUsersAreKeptOut: it runs only in the copy of this binary that
// test starts as nobody, and prints what each attempt gave.
func TestProbeAsAnotherUser(t *testing.T) {
	if os.Getenv(asOtherEnv) == "" {
		t.Skip("run by TestOtherUsersAreKeptOut as another user")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	report := func(name string, err error) {
		v := "ok"
		if err != nil {
			v = strings.ReplaceAll(err.Error(), "\n", " ")
		}
		fmt.Printf("PROBE %s=%s\n", name, v)
	}
	connect := func(url string) error {
		c, err := pgx.Connect(ctx, url)
		if err == nil {
			c.Close(ctx)
		}
		return err
	}
	dbURL := os.Getenv("PROBE_DATABASE_URL")
	state := os.Getenv("PROBE_STATE")
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	report("database", connect(dbURL))
	u.RawQuery = "sslmode=disable" // the same server, no pass file
	report("database-bare", connect(u.String()))
	report("database-socket", connect(fmt.Sprintf("host=%s port=%s user=postgres dbname=scalelab", filepath.Join(state, "postgres", "sock"), u.Port())))
	u.User = url.UserPassword("postgres", os.Getenv("PROBE_PASSWORD"))
	report("database-password", connect(u.String()))
	c, err := infra.DialMemcached(os.Getenv("PROBE_MEMCACHED"), 2*time.Second)
	if err == nil {
		c.Close()
	}
	report("memcached", err)
	_, err = os.ReadDir(state)
	report("list-state", err)
	_, err = os.ReadFile(filepath.Join(state, "pgpass"))
	report("read-pass-file", err)
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// psqlBinary finds psql: PostgreSQL's bindir first (Debian keeps it there).
func psqlBinary() string {
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/psql")
	if len(found) > 0 {
		return found[len(found)-1]
	}
	if p, err := exec.LookPath("psql"); err == nil {
		return p
	}
	return ""
}
