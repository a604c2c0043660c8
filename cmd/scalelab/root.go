package main

import (
	"github.com/spf13/cobra"
)

// globalOptions are the flags every command takes.
type globalOptions struct {
	// State is the lab's state folder: data, logs and pid files of the
	// private servers, the image pool and built binaries.
	State string
}

func newRootCmd() *cobra.Command {
	g := &globalOptions{}
	root := &cobra.Command{
		Use:   "scalelab",
		Short: "A staged benchmark laboratory: how a web application scales",
		Long: `scalelab re-runs, in Go, the demo of the talk "Scaling Python on the Web"
(PyCon 2007): a photo site with 100,000 users served in four iterations
(CGI, one app server, several app servers behind nginx, memcached caching),
each measured on this machine.`,
		Example: `  scalelab up               # start the private PostgreSQL and memcached
  scalelab seed --users 2000
  eval "$(scalelab env)" && psql "$DATABASE_URL" -c 'select count(*) from photos'
  scalelab down`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&g.State, "state", ".lab", "the lab's state `folder` (data, logs, pid files)")
	// Flag parse errors are the user's: exit code 2 with a one-line message.
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &usageError{err}
	})
	root.AddCommand(
		// Each command lives in its own file of this package.
		newUpCmd(g),
		newDownCmd(g),
		newStatusCmd(g),
		newEnvCmd(g),
		newSeedCmd(g),
		newIndexCmd(g),
		newServeCmd(g),
		newAppServerCmd(),
		newBenchCmd(g),
		newLabCmd(g),
		newLoadCmd(g),
		newPlotCmd(),
		newCompareCmd(),
		newMergeCmd(),
	)
	return root
}
