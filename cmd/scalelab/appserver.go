package main

import (
	"github.com/spf13/cobra"

	"github.com/scalelab/scalelab/internal/appserver"
)

// newAppServerCmd is the hidden command stages 1f, 3 and 4 start many
// times: one app-server process. Its choices are serve's own flags
// (appserver.Choices), passed on by serve; the database and memcached come
// from the environment, read where every command reads it (newLab).
func newAppServerCmd(g *globalOptions) *cobra.Command {
	var p appserver.ProcessFlags
	cmd := &cobra.Command{
		Use:    "appserver",
		Short:  "Run one app-server process (started by stages 1f, 3 and 4)",
		Hidden: true,
		Args: func(cmd *cobra.Command, args []string) error {
			if err := noArgs(cmd, args); err != nil {
				return err
			}
			if err := p.Check(); err != nil {
				return &usageError{err}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			lab := newLab(g)
			s, err := p.Server(lab.DatabaseURL, lab.MemcachedServers)
			if err != nil {
				return &usageError{err}
			}
			return appserver.Run(cmd.Context(), s, cmd.OutOrStdout())
		},
	}
	p.AddFlags(cmd.Flags())
	return cmd
}
