package infra

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// pgHBA is the lab's pg_hba.conf: the superuser's password for every
// connection, over the socket and over loopback TCP.
const pgHBA = `# Written by scalelab: every connection needs a password (scram-sha-256).
# TYPE  DATABASE     USER  ADDRESS       METHOD
local   all          all                 scram-sha-256
host    all          all   127.0.0.1/32  scram-sha-256
host    all          all   ::1/128       scram-sha-256
local   replication  all                 scram-sha-256
host    replication  all   127.0.0.1/32  scram-sha-256
host    replication  all   ::1/128       scram-sha-256
`

// ReadPassword reads the superuser's password from a pass file the lab
// wrote. It is what "scalelab env --show-password" prints.
func ReadPassword(passfile string) (string, error) {
	f, err := os.Open(passfile)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if f := strings.Split(line, ":"); len(f) == 5 && f[3] == "postgres" && f[4] != "" {
			return f[4], nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("%s holds no password for the user postgres", passfile)
}

// passwordFile returns the password kept in pg.PassFile, writing a new
// one (mode 0600) when there is none; created reports which.
func (pg *Postgres) passwordFile() (pw string, created bool, err error) {
	pw, err = ReadPassword(pg.PassFile)
	if err == nil {
		// An earlier version, or a hand, may have widened it.
		if err := os.Chmod(pg.PassFile, 0o600); err != nil {
			return "", false, fmt.Errorf("postgres: %w", err)
		}
		return pw, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", false, fmt.Errorf("postgres: read the password: %w (remove %s: the lab makes a new one)", err, pg.PassFile)
	}
	if pw, err = newSecret(); err != nil {
		return "", false, err
	}
	// One line for every host, port and database: the file is only ever
	// named by the lab's own URLs.
	if err := writeFileAtomic(pg.PassFile, []byte("*:*:*:postgres:"+pw+"\n"), 0o600); err != nil {
		return "", false, fmt.Errorf("postgres: write the password file: %w", err)
	}
	return pw, true, nil
}

// initdb creates the cluster with the superuser's password from the pass
// file (made now) and password authentication everywhere.
func (pg *Postgres) initdb(ctx context.Context, acct *account, bin, data string) error {
	pw, _, err := pg.passwordFile()
	if err != nil {
		return err
	}
	// initdb reads the password from a file of its user, removed after.
	pwfile := filepath.Join(pg.Dir, ".initdb-password")
	if err := os.WriteFile(pwfile, []byte(pw+"\n"), 0o600); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	defer os.Remove(pwfile)
	if acct != nil {
		if err := os.Chown(pwfile, acct.UID, acct.GID); err != nil {
			return fmt.Errorf("postgres: %w", err)
		}
	}
	initdb := command(ctx, acct.credential(), filepath.Join(bin, "initdb"),
		"-D", data, "-U", "postgres", "--auth=scram-sha-256", "--pwfile="+pwfile,
		"-E", "UTF8", "--no-locale", "--no-sync")
	// initdb runs postgres children: on Ctrl-C the whole group goes.
	initdb.SysProcAttr.Setpgid = true
	initdb.Cancel = func() error { return syscall.Kill(-initdb.Process.Pid, syscall.SIGKILL) }
	out, err := initdb.CombinedOutput()
	if err != nil {
		os.RemoveAll(data)
		if ctx.Err() != nil {
			return fmt.Errorf("postgres: initdb interrupted: %w", ctx.Err())
		}
		return fmt.Errorf("postgres: initdb: %w: %s", err, lastLinesOf(hide(string(out), pw), 3))
	}
	return nil
}

// secure makes an existing cluster ask for the password: a cluster made
// by an earlier version trusted every local connection, and a pass file
// may have been removed. It sets the superuser's password in single-user
// mode (the server is not running, nothing listens) and writes the lab's
// pg_hba.conf. A cluster that cannot be moved is refused with the way to
// recreate it.
func (pg *Postgres) secure(ctx context.Context, acct *account, bin, data string) error {
	hbaPath := filepath.Join(data, "pg_hba.conf")
	hba, err := os.ReadFile(hbaPath)
	if err != nil {
		return pg.refuse(data, err)
	}
	pw, created, err := pg.passwordFile()
	if err != nil {
		return err
	}
	if !created && !trusts(string(hba)) {
		return nil
	}
	single := command(ctx, acct.credential(), filepath.Join(bin, "postgres"),
		"--single", "-D", data, "-c", "password_encryption=scram-sha-256", "postgres")
	single.SysProcAttr.Setpgid = true
	single.Cancel = func() error { return syscall.Kill(-single.Process.Pid, syscall.SIGKILL) }
	// The statement goes in on stdin: never on a command line.
	single.Stdin = strings.NewReader("ALTER ROLE postgres PASSWORD '" + pw + "'\n")
	out, err := single.CombinedOutput()
	if err == nil && strings.Contains(string(out), "ERROR") {
		err = errors.New(lastLinesOf(hide(string(out), pw), 2))
	}
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("postgres: setting the password interrupted: %w", ctx.Err())
		}
		return pg.refuse(data, fmt.Errorf("set the password in single-user mode: %w: %s", err, lastLinesOf(hide(string(out), pw), 2)))
	}
	if err := writeFileAtomic(hbaPath, []byte(pgHBA), 0o600); err != nil {
		return pg.refuse(data, err)
	}
	if acct != nil {
		if err := os.Chown(hbaPath, acct.UID, acct.GID); err != nil {
			return pg.refuse(data, err)
		}
	}
	return nil
}

// refuse is the error for a cluster the lab cannot secure.
func (pg *Postgres) refuse(data string, err error) error {
	return fmt.Errorf("postgres: the cluster in %s cannot be given a password (%v): recreate it with: scalelab down && rm -rf %s (the next up makes a new one; seed it again)", data, err, pg.Dir)
}

// trusts reports whether a pg_hba.conf lets any connection in without a
// password (the "trust" method).
func trusts(hba string) bool {
	for _, line := range strings.Split(hba, "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		for _, f := range strings.Fields(line) {
			if f == "trust" {
				return true
			}
		}
	}
	return false
}

// hide replaces a secret in text (a server's output) before it is shown.
func hide(text, secret string) string {
	if secret == "" {
		return text
	}
	return strings.ReplaceAll(text, secret, "***")
}

// WithPassword returns the lab's URL with the password from its passfile
// parameter written into it (and the parameter dropped): what a tool that
// reads no pass file needs. A URL without passfile is returned as it is.
func WithPassword(dbURL string) (string, error) {
	u, err := url.Parse(dbURL)
	if err != nil {
		return "", fmt.Errorf("database URL: %w", err)
	}
	q := u.Query()
	passfile := q.Get("passfile")
	if passfile == "" {
		return dbURL, nil
	}
	pw, err := ReadPassword(passfile)
	if err != nil {
		return "", fmt.Errorf("read the database password: %w", err)
	}
	q.Del("passfile")
	u.RawQuery = q.Encode()
	u.User = url.UserPassword(u.User.Username(), pw)
	return u.String(), nil
}
