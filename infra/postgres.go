package infra

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
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
//
// Every connection needs the superuser's password (scram-sha-256, over TCP
// and the socket alike): the loopback port is open to every user of the
// machine, and a superuser can run programs as the server's user. The
// password is random, made on first start, and kept in PassFile, which
// the lab's URLs name (passfile=...) so that it never appears in a URL,
// a command line, a log or a record.
type Postgres struct {
	// Dir holds data/ (the cluster), sock/ (the socket folder) and the log.
	Dir string
	// Port to listen on; zero picks a free port.
	Port int
	// PassFile is the superuser's password in the format of a libpq
	// password file (mode 0600); it is created when missing.
	PassFile string
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

// prepareDirs creates the server's folders (0700) and, as root, hands
// them to the service user, the cluster included (an earlier version ran
// it as the postgres user).
func (pg *Postgres) prepareDirs(acct *account) error {
	for _, d := range []string{pg.Dir, filepath.Join(pg.Dir, "sock")} {
		if err := serverDir(acct, d); err != nil {
			return fmt.Errorf("postgres: %w", err)
		}
	}
	if acct == nil {
		return nil
	}
	return filepath.Walk(pg.Dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, acct.UID, acct.GID)
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

// Start initialises the cluster on first use (or moves a cluster made by
// an earlier version to password authentication), starts the server and
// waits until it accepts connections and the lab's database exists.
func (pg *Postgres) Start(ctx context.Context) (*Process, error) {
	// The server runs in its own folder: every path it gets is absolute.
	dir, err := filepath.Abs(pg.Dir)
	if err != nil {
		return nil, err
	}
	pg.Dir = dir
	if pg.PassFile == "" {
		pg.PassFile = filepath.Join(pg.Dir, "pgpass")
	}
	bin, err := pg.binDir()
	if err != nil {
		return nil, err
	}
	acct, err := serviceAccount()
	if err != nil {
		return nil, err
	}
	cred := acct.credential()
	if err := pg.prepareDirs(acct); err != nil {
		return nil, err
	}
	data := filepath.Join(pg.Dir, "data")
	if _, err := os.Stat(filepath.Join(data, "PG_VERSION")); err != nil {
		// A half-made cluster from an interrupted initdb is removed first.
		os.RemoveAll(data)
		if err := pg.initdb(ctx, acct, bin, data); err != nil {
			return nil, err
		}
	} else if err := pg.secure(ctx, acct, bin, data); err != nil {
		return nil, err
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
	if f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY, 0o600); err == nil {
		f.Close()
		if acct != nil {
			os.Chown(logPath, acct.UID, acct.GID)
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
	connURL := PostgresURL(p.Addr, "postgres", pg.PassFile)
	err = p.waitReady(ctx, 60*time.Second, func() error {
		c, err := pgx.Connect(ctx, connURL)
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

// PostgresURL is the connection URL of the lab's server at addr: the
// password is read from passfile (libpq's and pgx's passfile parameter),
// so the URL itself holds no secret.
func PostgresURL(addr, db, passfile string) string {
	q := "sslmode=disable"
	if passfile != "" {
		// A "/" needs no escape in a query: the path stays readable.
		q += "&passfile=" + strings.ReplaceAll(url.QueryEscape(passfile), "%2F", "/")
	}
	return fmt.Sprintf("postgres://postgres@%s/%s?%s", addr, db, q)
}

func lastLinesOf(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
