package infra

import (
	"context"
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// A state folder made by an earlier version (a cluster that trusts every
// local connection, owned as root by the postgres user) is moved to
// passwords on its next start, its data kept; a pass file removed by hand
// gets a new password.
func TestTrustClusterIsMovedToPasswords(t *testing.T) {
	ctx := context.Background()
	state, err := os.MkdirTemp("", "scalelab-upgrade-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(state) })
	if err := PrepareState(state); err != nil {
		t.Fatal(err)
	}
	pg := &Postgres{Dir: filepath.Join(state, "postgres"), PassFile: filepath.Join(state, "pgpass")}
	bin, err := pg.binDir()
	if errors.Is(err, ErrMissingBinary) && os.Getenv("CI") != "true" {
		t.Skip(err)
	} else if err != nil {
		t.Fatal(err)
	}
	acct, err := serviceAccount()
	if err != nil {
		t.Fatal(err)
	}
	// The earlier version's cluster: trust, and as root the postgres user's.
	old := acct
	if u, err := user.Lookup("postgres"); err == nil && acct != nil {
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		old = &account{Name: "postgres", UID: uid, GID: gid}
	}
	os.Chmod(state, 0o755) // as the earlier version left it
	if err := pg.prepareDirs(old); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(pg.Dir, "data")
	out, err := command(ctx, old.credential(), filepath.Join(bin, "initdb"),
		"-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync").CombinedOutput()
	if err != nil {
		t.Fatalf("initdb: %v: %s", err, out)
	}

	start := func() *Process {
		t.Helper()
		pg.Port = 0
		p, err := pg.Start(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Stop(syscall.SIGINT, 10*time.Second) })
		return p
	}
	p := start()
	hba, _ := os.ReadFile(filepath.Join(data, "pg_hba.conf"))
	if trusts(string(hba)) {
		t.Errorf("pg_hba.conf still trusts:\n%s", hba)
	}
	bare := "postgres://postgres@" + p.Addr + "/postgres?sslmode=disable"
	if c, err := pgx.Connect(ctx, bare); err == nil {
		c.Close(ctx)
		t.Fatal("connected without the password after the upgrade")
	} else if !strings.Contains(err.Error(), "password") {
		t.Errorf("refused for another reason than the password: %v", err)
	}
	connect := func() {
		t.Helper()
		c, err := pgx.Connect(ctx, PostgresURL(p.Addr, Database, pg.PassFile))
		if err != nil {
			t.Fatalf("connect with the pass file: %v", err)
		}
		c.Close(ctx)
	}
	connect()
	if st, err := os.Stat(pg.PassFile); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("pass file: %v %v, want mode 0600", st, err)
	}
	first, _ := ReadPassword(pg.PassFile)

	// A removed pass file: a new password on the next start.
	if err := p.Stop(syscall.SIGINT, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	os.Remove(pg.PassFile)
	p = start()
	connect()
	if second, _ := ReadPassword(pg.PassFile); second == first || second == "" {
		t.Errorf("the password was not renewed (%q, then %q)", first, second)
	}
	if log, _ := os.ReadFile(filepath.Join(pg.Dir, "postgres.log")); strings.Contains(string(log), first) {
		t.Error("the server's log holds the password")
	}
}

func TestTrusts(t *testing.T) {
	for hba, want := range map[string]bool{
		"local all all trust\n":                            true,
		"# trust is not used\nlocal all all scram-sha-256": false,
		"host all all 127.0.0.1/32 scram-sha-256 # trust":  false,
		pgHBA: false,
	} {
		if got := trusts(hba); got != want {
			t.Errorf("trusts(%q) = %v, want %v", hba, got, want)
		}
	}
}
