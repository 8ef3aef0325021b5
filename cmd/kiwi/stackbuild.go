package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kiwi-go/kiwi/build"
	"github.com/kiwi-go/kiwi/build/description"
	"github.com/kiwi-go/kiwi/oci"
	"github.com/kiwi-go/kiwi/stack"
)

func newStackbuildCommand(g *globals) *cobra.Command {
	var o struct {
		stashes          []string
		registry, target string
		description      string
		insecure         bool
		composeOnly      bool
	}
	c := &cobra.Command{
		Use:   "stackbuild --stash NAME[:TAG]... [--from-registry URI] --target-dir DIR [--description D] [-- build args]",
		Short: "Stack images into a root tree and build an image from it",
		Long: `stackbuild applies the layers of the given images, bottom first, into
DIR/build/image-root: later images overwrite files of earlier ones and delete
nothing of theirs (whiteouts work within one image). Each --stash is a stash
in local storage (NAME[:TAG]), the image NAME[:TAG] below --from-registry
(pulled first), or a full transport reference (docker://, oci:, oci-archive:,
containers-storage:). Files a later image overwrote are counted (listed with
--debug).

Without --description the image is created from the description the (last)
stash carries in /image/config.xml; a stack none of whose images carries one
is refused before anything is composed. With --description D, D is built on top
of the stack as system build --allow-existing-root does: packages the stack
lacks are installed with its own package manager (none missing: no repository
is needed), then overlay files, users and config.sh, and D's type is created.
Arguments after -- are system build options (--add-package, --set-repo, ...).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.target == "" {
				return fmt.Errorf("stackbuild needs --target-dir DIR")
			}
			if len(o.stashes) == 0 {
				return fmt.Errorf("stackbuild needs at least one --stash NAME[:TAG]")
			}
			root := build.Root(o.target)
			// The root is locked too: prepare --root locks that path, not
			// the target dir around it.
			release, err := claim(g, commandLine(), map[string]string{o.target: "--target-dir", root: "--root"}, []string{root})
			if err != nil {
				return err
			}
			defer release()
			// Arguments after -- go to build (with --description) or
			// create (without, which takes none stackbuild does not
			// set): check them before any work.
			var pf prepareFlags
			var cf containerFlags
			if len(args) > 0 {
				if o.description == "" {
					return fmt.Errorf("unknown create argument(s) after --: %s (create takes only --root and --target-dir, which stackbuild sets; build options need --description)", strings.Join(args, " "))
				}
				if _, err := parseBuildArgs(args, &pf, cf.register); err != nil {
					return fmt.Errorf("%w (they are system build options; --description and --target-dir are stackbuild's own)", err)
				}
			}
			// The stack is the existing root the description builds on,
			// and it is in storage already: the root built on it is not
			// committed again.
			pf.allowExistingRoot, pf.noContainer = true, true
			var desc *description.Description
			if o.description != "" {
				if desc, err = loadForBuild(g, o.description, &pf); err != nil {
					return err
				}
			}
			bo, err := prepareOptions(g, root, &pf)
			if err != nil {
				return err
			}
			cf.apply(&bo)
			store, err := oci.OpenStore(oci.StoreOptions{})
			if err != nil {
				return err
			}
			defer store.Close()
			res, err := stack.Build(cmd.Context(), store, stack.BuildOptions{
				Stashes: o.stashes, FromRegistry: o.registry, TargetDir: o.target,
				Description: desc, Build: bo, ComposeOnly: o.composeOnly,
				Copy: oci.CopyOptions{Progress: progress(), Insecure: o.insecure},
				Log:  g.log,
			})
			if err != nil {
				return stackbuildFlagHint(err, o.registry)
			}
			logResults(g, res.Results)
			return nil
		},
	}
	f := c.Flags()
	f.StringArrayVar(&o.stashes, "stash", nil, "image to stack, bottom first (repeatable)")
	f.StringVar(&o.registry, "from-registry", "", "registry location to pull the stashes from (host[:port][/path])")
	f.StringVar(&o.target, "target-dir", "", "directory for the root (build/image-root) and the results")
	f.StringVar(&o.description, "description", "", "description to apply on top of the stack and build")
	f.BoolVar(&o.composeOnly, "compose-only", false, "stop after composing the root (no description applied, nothing created)")
	f.BoolVar(&o.insecure, "tls-verify-off", false, "allow plain HTTP and unverified TLS for the registry (loopback registries always are)")
	return c
}

// stackbuildFlagHint names the flag behind a library error of stackbuild,
// and the flags that fix it.
func stackbuildFlagHint(err error, registry string) error {
	var se *stack.StashError
	switch {
	case errors.As(err, &se) && se.NotStored && registry == "":
		return fmt.Errorf("--stash: %w; --from-registry URI stacks the images of a registry", err)
	case errors.As(err, &se):
		return fmt.Errorf("--stash: %w", err)
	case errors.Is(err, stack.ErrRootExists):
		return fmt.Errorf("--target-dir: %w", err)
	case errors.Is(err, stack.ErrNoDescription):
		return fmt.Errorf("%w: give --description D, or stash a root made by kiwi system prepare/build", err)
	}
	return err
}
