package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/scalelab/scalelab/infra"
)

// newLab builds the lab for a command. Configuration from the environment
// is read here and nowhere else: DATABASE_URL and MEMCACHED_SERVERS switch
// the lab to external servers; SCALELAB_MEMCACHED and SCALELAB_PG_BINDIR
// point at binaries installed outside the usual places.
func newLab(g *globalOptions) *infra.Lab {
	// Servers run in folders of their own: the state folder's path must not
	// depend on the working folder.
	if abs, err := filepath.Abs(g.State); err == nil {
		g.State = abs
	}
	return &infra.Lab{
		State:            g.State,
		DatabaseURL:      os.Getenv("DATABASE_URL"),
		MemcachedServers: os.Getenv("MEMCACHED_SERVERS"),
		MemcachedBinary:  os.Getenv("SCALELAB_MEMCACHED"),
		PostgresBinDir:   os.Getenv("SCALELAB_PG_BINDIR"),
	}
}

func newUpCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "up",
		Short: "Start the lab's private PostgreSQL and memcached",
		Long: `Start the lab's private PostgreSQL and memcached on free loopback ports,
with their data and logs under the state folder. Servers already running are
left as they are, so a second "up" does nothing. With DATABASE_URL or
MEMCACHED_SERVERS set, those servers are used and none is started.`,
		Example: `  scalelab up
  scalelab up --state /tmp/lab`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lab := newLab(g)
			_, started, err := lab.Up(cmd.Context())
			if err != nil {
				return err
			}
			for _, p := range started {
				fmt.Fprintf(cmd.OutOrStdout(), "started %s on %s (pid %d)\n", p.Name, p.Addr, p.PID)
			}
			if len(started) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "the lab's services are already running")
			}
			return nil
		},
	}
}

func newDownCmd(g *globalOptions) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Stop every process the lab started",
		Long: `Stop every process recorded in the state folder: the services of "up" and
whatever a stage left behind (after a command killed with SIGKILL, say).
While another command (serve, bench, lab, seed) holds the lab, down says so
and stops nothing; --force stops everything anyway.`,
		Example: `  scalelab down
  scalelab down --force`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			stopped, err := newLab(g).Down(cmd.Context())
			for _, s := range stopped {
				fmt.Fprintf(cmd.OutOrStdout(), "stopped %s\n", s)
			}
			if err == nil && len(stopped) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "nothing was running")
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "stop everything even while another command holds the lab")
	return cmd
}

func newStatusCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "status",
		Short:   "Show what the lab runs, on which address, with which data folder",
		Example: `  scalelab status`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SERVICE\tSTATE\tPID\tADDRESS\tDATA\tACCESS\tNOTE")
			for _, s := range newLab(g).Status() {
				pid := "-"
				if s.PID > 0 {
					pid = fmt.Sprint(s.PID)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, s.State, pid, dash(s.Addr), dash(s.Dir), dash(s.Access), s.Problem)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			// How to connect, without the password itself.
			if s, err := newLab(g).Services(); err == nil {
				fmt.Fprintf(cmd.OutOrStdout(), "\nconnect: eval \"$(scalelab env)\"; psql \"$DATABASE_URL\" (the password is read from the pass file the URL names; scalelab env --show-password prints it)\n")
				fmt.Fprintf(cmd.OutOrStdout(), "DATABASE_URL=%s\nMEMCACHED_SERVERS=%s\n", shellQuote(infra.Redact(s.DatabaseURL)), shellQuote(s.MemcachedServers))
			}
			return nil
		},
	}
}

func newEnvCmd(g *globalOptions) *cobra.Command {
	var showPassword bool
	cmd := &cobra.Command{
		Use:   "env",
		Short: "Print DATABASE_URL and MEMCACHED_SERVERS for a shell to eval",
		Long: `Print DATABASE_URL and MEMCACHED_SERVERS for a shell to eval. The lab's
PostgreSQL asks for a password: its DATABASE_URL names the pass file that
holds it (passfile=..., read by psql and every libpq or pgx program), so the
password itself is not printed. --show-password writes it into the URL
instead, for tools that read no pass file. MEMCACHED_SERVERS is the lab's
memcached socket, which only the lab's user can open.`,
		Example: `  eval "$(scalelab env)"
  psql "$DATABASE_URL"
  scalelab env --show-password`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lab := newLab(g)
			s, err := lab.Services()
			if err != nil {
				return err
			}
			dbURL := s.DatabaseURL
			if showPassword && lab.DatabaseURL == "" {
				if dbURL, err = infra.WithPassword(dbURL); err != nil {
					return err
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "DATABASE_URL=%s\nMEMCACHED_SERVERS=%s\n", shellQuote(dbURL), shellQuote(s.MemcachedServers))
			return nil
		},
	}
	cmd.Flags().BoolVar(&showPassword, "show-password", false, "write the lab's database password into DATABASE_URL")
	return cmd
}

// noArgs refuses positional arguments with a usage error (exit code 2).
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("%s takes no arguments, got %q (see scalelab %s --help)", cmd.Name(), strings.Join(args, " "), cmd.Name())
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// splitHostPort is net.SplitHostPort that also insists on a port.
func splitHostPort(addr string) (string, string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err == nil && port == "" {
		err = fmt.Errorf("missing port")
	}
	return host, port, err
}
