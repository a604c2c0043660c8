package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is the release of this build, set with
// go build -ldflags "-X main.version=v1.2.3"; a build from a checkout says
// "devel" and names its commit instead.
var version = "devel"

// commit is the commit this build was made from; make build sets it with
// -ldflags "-X main.commit=...", since go build embeds it only when
// GOFLAGS does not say -buildvcs=false.
var commit string

// versionLine says which scalelab this is: the version, the commit it was
// built from (with "-dirty" when the checkout had uncommitted changes) and
// the Go that built it. go build embeds the commit when it builds in a git
// checkout; a binary built otherwise (go test, or -buildvcs=false) has none.
func versionLine() string {
	made := "unknown commit"
	if commit != "" {
		made = "commit " + commit
	} else if bi, ok := debug.ReadBuildInfo(); ok {
		var rev, dirty string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "-dirty"
				}
			}
		}
		if rev != "" {
			made = "commit " + rev + dirty
		}
	}
	return fmt.Sprintf("scalelab %s (%s, %s, %s/%s)", version, made, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// newHelpCmd replaces cobra's help command, which prints "Unknown help
// topic" and exits 0: here an unknown topic is bad usage (exit code 2).
func newHelpCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		Long:  "Help shows the help of any command: scalelab help serve.",
		RunE: func(c *cobra.Command, args []string) error {
			root := c.Root()
			cmd, rest, err := root.Find(args)
			if err != nil || cmd == nil || len(rest) > 0 || (len(args) > 0 && cmd == root) {
				return usagef("unknown help topic %q: run scalelab help for the list of commands", args)
			}
			cmd.InitDefaultHelpFlag()
			return cmd.Help()
		},
	}
}
