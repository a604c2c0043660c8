package main

import (
	"github.com/spf13/cobra"

	"github.com/scalelab/scalelab/stages/appserver"
)

// newAppServerCmd is the hidden command stages 3 and 4 start many times:
// one app-server process. Its flags are parsed by appserver.Main.
func newAppServerCmd() *cobra.Command {
	return &cobra.Command{
		Use:                "appserver [--addr A] [--images DIR] [--sessions db|memory|memcached] [--cache] [--query-timeout D]",
		Short:              "Run one app-server process (started by stages 3 and 4)",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return appserver.Main(cmd.Context(), args, cmd.OutOrStdout())
		},
	}
}
