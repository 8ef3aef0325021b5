package main

import "github.com/spf13/cobra"

func newSystemCommand(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "system",
		Short: "Build, stash and stack root trees and images",
	}
	c.AddCommand(asUser(newPrepareCommand(g)))
	c.AddCommand(asUser(newBuildCommand(g)))
	c.AddCommand(asUser(newStashCommand(g)))
	c.AddCommand(asUser(newCreateCommand(g)))
	c.AddCommand(asUser(newUpdateCommand(g)))
	c.AddCommand(asUser(newStackbuildCommand(g)))
	c.AddCommand(asUser(newBoxbuildCommand(g)))
	c.AddCommand(asUser(newCleanupCommand(g)))
	return c
}
