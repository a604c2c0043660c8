package main

import (
	"os"
	"strings"

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
		Version:       version,
	}
	root.SetVersionTemplate(versionLine() + "\n")
	root.SetHelpCommand(newHelpCmd())
	root.PersistentFlags().StringVar(&g.State, "state", ".lab", "the lab's state `folder` (data, logs, pid files)")
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
		return claimLab(g, cmd, args)
	}
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
		newAppServerCmd(g),
		newImagesCmd(),
		newBenchCmd(g),
		newLabCmd(g),
		newLoadCmd(g),
		newPlotCmd(),
		newModelCmd(),
		newCompareCmd(),
		newMergeCmd(),
	)
	return root
}

// claiming are the commands that change the lab (its dataset, its
// servers): one at a time per state folder. The others (up, status, env,
// load, plot) only read it or change nothing another command relies on.
var claiming = map[string]bool{"seed": true, "index": true, "serve": true, "bench": true, "lab": true, "down": true}

// claimLab claims the state folder for a command that changes the lab
// (see infra.Lab.Claim); "down --force" goes ahead regardless, to clean up
// after a command that cannot be stopped otherwise.
func claimLab(g *globalOptions, cmd *cobra.Command, args []string) error {
	top := cmd
	for top.HasParent() && top.Parent().HasParent() {
		top = top.Parent()
	}
	if !claiming[top.Name()] {
		return nil
	}
	if top.Name() == "serve" && len(args) > 0 && args[0] == appServerOnly {
		// One app server of a stage spread over hosts: it reads the lab
		// that another "serve" holds.
		return nil
	}
	if f := cmd.Flags().Lookup("force"); f != nil && f.Value.String() == "true" {
		return nil
	}
	return newLab(g).Claim("scalelab " + strings.Join(os.Args[1:], " "))
}
