package infra

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Database is the name of the lab's database inside its private server.
const Database = "scalelab"

// Postgres is a private PostgreSQL server: one data folder, initialised once
// with initdb, a server listening on 127.0.0.1 and on a socket folder of its
// own.
type Postgres struct {
	// Dir holds data/ (the cluster), sock/ (the socket folder) and the log.
	Dir string
	// Port to listen on; zero picks a free port.
	Port int
	// BinDir is the folder of initdb and postgres; empty finds it with
	// pg_config --bindir, then /usr/lib/postgresql/*/bin, then PATH.
	BinDir string
}

// settings tune the server for a benchmark lab on one machine. Durability
// is off (fsync, full_page_writes): the dataset is regenerated from its seed
// in seconds, and a lab measures request handling, not disk flushes. WAL is
// minimal so that COPY into a table truncated in the same transaction
// writes no WAL at all.
var pgSettings = []string{
	"listen_addresses=127.0.0.1",
	"fsync=off",
	"synchronous_commit=off",
	"full_page_writes=off",
	"wal_level=minimal",
	"max_wal_senders=0",
	"max_wal_size=8GB",
	"checkpoint_timeout=30min",
	"shared_buffers=512MB",
	"maintenance_work_mem=512MB",
	"max_connections=300",
	"jit=off",
	"log_min_messages=warning",
	"log_connections=off",
	// Counts the statements each page view runs (scalelab bench records
	// SQL statements per page view).
	"shared_preload_libraries=pg_stat_statements",
	"pg_stat_statements.track=all",
}

// binDir finds the folder holding initdb and postgres.
func (pg *Postgres) binDir() (string, error) {
	var dirs []string
	if pg.BinDir != "" {
		dirs = append(dirs, pg.BinDir)
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dirs = append(dirs, strings.TrimSpace(string(out)))
	}
	// Debian keeps the server binaries off PATH; prefer the newest version.
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(found, func(i, j int) bool { return pgVersion(found[i]) > pgVersion(found[j]) })
	dirs = append(dirs, found...)
	for _, d := range dirs {
		if isExecutable(filepath.Join(d, "postgres")) && isExecutable(filepath.Join(d, "initdb")) {
			return d, nil
		}
	}
	p, err := lookBinary("postgres", "postgresql")
	if err != nil {
		return "", err
	}
	return filepath.Dir(p), nil
}

// pgVersion extracts the major version from /usr/lib/postgresql/NN/bin.
func pgVersion(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// runAs returns the credential to run PostgreSQL with. PostgreSQL refuses
// to run as root, so as root it runs as the "postgres" system user, which
// the Debian package creates.
func runAs() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL cannot run as root and there is no \"postgres\" user: install the Debian package \"postgresql\" (make deps): %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// prepareDirs creates the folders and, as root, hands them to the postgres
// user. It also checks that the user can reach them: every parent folder
// must be searchable by others.
func (pg *Postgres) prepareDirs(cred *syscall.Credential) error {
	for _, d := range []string{pg.Dir, filepath.Join(pg.Dir, "sock")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("postgres: %w", err)
		}
	}
	if cred == nil {
		return nil
	}
	abs, err := filepath.Abs(pg.Dir)
	if err != nil {
		return err
	}
	for d := filepath.Dir(abs); ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err == nil && st.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("postgres runs as the postgres user, which cannot enter %s: use a --state folder it can reach (for example under /tmp) or run chmod o+x %s", d, d)
		}
		if d == "/" || d == "." {
			break
		}
	}
	return filepath.Walk(pg.Dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(cred.Uid), int(cred.Gid))
	})
}

// command builds an exec.Cmd for one of the server's binaries, run as the
// postgres user when the lab runs as root.
func command(ctx context.Context, cred *syscall.Credential, bin string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	// A minimal environment: no PG* variables of the caller leak in.
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LANG=C", "LC_ALL=C"}
	return cmd
}

// Start initialises the cluster on first use, starts the server and waits
// until it accepts connections and the lab's database exists.
func (pg *Postgres) Start(ctx context.Context) (*Process, error) {
	// The server runs in its own folder: every path it gets is absolute.
	dir, err := filepath.Abs(pg.Dir)
	if err != nil {
		return nil, err
	}
	pg.Dir = dir
	bin, err := pg.binDir()
	if err != nil {
		return nil, err
	}
	cred, err := runAs()
	if err != nil {
		return nil, err
	}
	if err := pg.prepareDirs(cred); err != nil {
		return nil, err
	}
	data := filepath.Join(pg.Dir, "data")
	if _, err := os.Stat(filepath.Join(data, "PG_VERSION")); err != nil {
		// A half-made cluster from an interrupted initdb is removed first.
		os.RemoveAll(data)
		initdb := command(ctx, cred, filepath.Join(bin, "initdb"),
			"-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync")
		// initdb runs postgres children: on Ctrl-C the whole group goes.
		initdb.SysProcAttr.Setpgid = true
		initdb.Cancel = func() error { return syscall.Kill(-initdb.Process.Pid, syscall.SIGKILL) }
		out, err := initdb.CombinedOutput()
		if err != nil {
			os.RemoveAll(data)
			if ctx.Err() != nil {
				return nil, fmt.Errorf("postgres: initdb interrupted: %w", ctx.Err())
			}
			return nil, fmt.Errorf("postgres: initdb: %w: %s", err, lastLinesOf(string(out), 3))
		}
	}
	port := pg.Port
	if port == 0 {
		if port, err = FreePort(); err != nil {
			return nil, err
		}
	}
	args := []string{"-D", data, "-p", itoa(port), "-k", filepath.Join(pg.Dir, "sock")}
	for _, s := range pgSettings {
		args = append(args, "-c", s)
	}
	logPath := filepath.Join(pg.Dir, "postgres.log")
	// The log is created by us and handed to the server's user.
	if f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
		f.Close()
		if cred != nil {
			os.Chown(logPath, int(cred.Uid), int(cred.Gid))
		}
	}
	// The server is not tied to ctx: "scalelab up" leaves it running.
	cmd := command(context.Background(), cred, filepath.Join(bin, "postgres"), args...)
	cmd.Dir = pg.Dir
	p, err := StartProcess("postgres", cmd, logPath)
	if err != nil {
		return nil, err
	}
	p.Addr = fmt.Sprintf("127.0.0.1:%d", port)
	p.Dir = data
	url := PostgresURL(p.Addr, "postgres")
	err = p.waitReady(ctx, 60*time.Second, func() error {
		c, err := pgx.Connect(ctx, url)
		if err != nil {
			return err
		}
		defer c.Close(context.Background())
		return createDatabase(ctx, c)
	})
	if err != nil {
		p.Stop(syscall.SIGINT, 10*time.Second)
		return nil, err
	}
	return p, nil
}

// createDatabase creates the lab's database unless it exists.
func createDatabase(ctx context.Context, c *pgx.Conn) error {
	var exists bool
	if err := c.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", Database).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	_, err := c.Exec(ctx, "CREATE DATABASE "+Database)
	var pgErr interface{ SQLState() string }
	if errors.As(err, &pgErr) && pgErr.SQLState() == "42P04" { // created meanwhile
		return nil
	}
	return err
}

// PostgresURL is the connection URL of the lab's server at addr.
func PostgresURL(addr, db string) string {
	return fmt.Sprintf("postgres://postgres@%s/%s?sslmode=disable", addr, db)
}

func lastLinesOf(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
