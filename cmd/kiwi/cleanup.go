package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/kiwi-go/kiwi/box"
	"github.com/kiwi-go/kiwi/internal/journal"
	"github.com/kiwi-go/kiwi/internal/runner"
)

func newCleanupCommand(g *globals) *cobra.Command {
	var dryRun bool
	var connection string
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
the run that started them. Each removed path is printed.

Box containers (system boxbuild --container) of runs that are gone are
stopped and removed through the podman API: the service at --connection
(or $CONTAINER_HOST), else one cleanup starts for the moment, when podman
is installed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Containers first: a killed run's box may still be building
			// into the directories removed next. Without podman's answer
			// the files are still cleaned up.
			stale, err := staleBoxContainers(cmd.Context(), g, connection, dryRun)
			if err != nil {
				g.log.Warn("could not look for box containers of killed runs", "error", err)
			}
			// The system's temp dir too: sockets go there when --temp-dir's
			// paths are too long for them.
			extra := append(cacheDirs(g), g.tempDir, os.TempDir())
			removed, kept, err := journal.Clean(filepath.Join(stateBase(), "runs"), extra, dryRun)
			if err != nil {
				return err
			}
			verb := "removed"
			if dryRun {
				verb = "would remove"
			}
			for _, st := range stale {
				if st.Err != nil {
					kept = append(kept, journal.Removed{Path: "container " + st.Name, Why: st.Err.Error()})
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s container %s (box container of a kiwi run that is gone)\n", verb, st.Name)
			}
			for _, r := range removed {
				fmt.Fprintf(cmd.OutOrStdout(), "%s %s (%s)\n", verb, r.Path, r.Why)
			}
			for _, k := range kept {
				fmt.Fprintf(cmd.OutOrStdout(), "kept %s: %s\n", k.Path, k.Why)
			}
			if len(removed) == 0 && len(kept) == 0 && len(stale) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "nothing left behind by earlier runs")
			}
			if len(kept) > 0 {
				return fmt.Errorf("%d leftover(s) could not be removed (see above)", len(kept))
			}
			return nil
		},
	}
	c.Flags().BoolVar(&dryRun, "dry-run", false, "only print what would be removed")
	c.Flags().StringVar(&connection, "connection", "", "podman service URI to look for box containers (default $CONTAINER_HOST, else a service cleanup starts)")
	return c
}

// staleBoxContainers removes (or with dryRun lists) the box containers of
// kiwi runs that are gone. Without podman, and no service named, there
// are none to look for.
func staleBoxContainers(ctx context.Context, g *globals, connection string, dryRun bool) ([]box.Stale, error) {
	if connection == "" && os.Getenv("CONTAINER_HOST") == "" {
		if _, err := exec.LookPath("podman"); err != nil {
			g.log.Debug("podman is not installed: no box containers to look for")
			return nil, nil
		}
	}
	svc, err := box.Connect(ctx, connection, g.tempDir, runner.Runner{Log: g.log}, g.log)
	if err != nil {
		return nil, fmt.Errorf("look for box containers of killed runs: %w", err)
	}
	defer svc.Close()
	return box.RemoveStale(svc, dryRun)
}
