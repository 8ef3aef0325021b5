package main

import "github.com/spf13/cobra"

func newSystemCommand(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "system",
		Short: "Build, stash and stack root trees and images",
	}
	c.AddCommand(newPrepareCommand(g))
	c.AddCommand(newBuildCommand(g))
	c.AddCommand(newStashCommand(g))
	c.AddCommand(newCreateCommand(g))
	c.AddCommand(newUpdateCommand(g))
	c.AddCommand(newStackbuildCommand(g))
	c.AddCommand(newBoxbuildCommand(g))
	c.AddCommand(newCleanupCommand(g))
	return c
}
