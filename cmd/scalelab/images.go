package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/scalelab/scalelab/data"
)

// newImagesCmd is the hidden command a container runs to draw the image
// pool into a folder of its own: on Kubernetes every app and nginx pod gets
// the pool from an init container (deploy/k8s), since a volume that pods on
// several nodes can all read is not something every cluster has. The pool
// is drawn from fixed seeds, so every pod holds the same files as seed
// writes into the state folder.
func newImagesCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "images DIR",
		Short:  "Draw the image pool into DIR (thumb/ and medium/), as seed does",
		Hidden: true,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("images takes one folder, e.g. scalelab images /data/images")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := data.EnsurePool(args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "image pool: %d pictures in %s\n", data.PoolSize, args[0])
			return nil
		},
	}
}
