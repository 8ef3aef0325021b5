package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/kiwi-go/kiwi/internal/journal"
)

func newCleanupCommand(g *globals) *cobra.Command {
	var dryRun bool
	c := &cobra.Command{
		Use:   "cleanup [--dry-run]",
		Short: "Remove what kiwi runs that were killed left behind",
		Long: `cleanup finds the records of kiwi runs that are gone (killed with -9, or
the machine lost power) and removes what they left: the roots they were
making, their work directories in target dirs, hardlink copies next to roots,
half-written cache entries and temporary directories in --temp-dir. Runs that
are still alive are never touched, and nothing below a mount point is removed
(kiwi's own mounts live in private namespaces and end with the run; a mount
found there is reported, to be unmounted by hand). Child processes end with
the run that started them. Each removed path is printed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			extra := append(cacheDirs(g), g.tempDir)
			removed, kept, err := journal.Clean(filepath.Join(stateBase(), "runs"), extra, dryRun)
			if err != nil {
				return err
			}
			verb := "removed"
			if dryRun {
				verb = "would remove"
			}
			for _, r := range removed {
				fmt.Fprintf(cmd.OutOrStdout(), "%s %s (%s)\n", verb, r.Path, r.Why)
			}
			for _, k := range kept {
				fmt.Fprintf(cmd.OutOrStdout(), "kept %s: %s\n", k.Path, k.Why)
			}
			if len(removed) == 0 && len(kept) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "nothing left behind by earlier runs")
			}
			if len(kept) > 0 {
				return fmt.Errorf("%d leftover(s) could not be removed (see above)", len(kept))
			}
			return nil
		},
	}
	c.Flags().BoolVar(&dryRun, "dry-run", false, "only print what would be removed")
	return c
}
