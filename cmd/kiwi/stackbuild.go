package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

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
stash carries in /image/config.xml. With --description D, D is built on top
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
			// The root is locked too: prepare --root locks that path, not
			// the target dir around it.
			release, err := claim(g, commandLine(), map[string]string{o.target: "--target-dir", filepath.Join(o.target, "build", "image-root"): "--root"},
				[]string{filepath.Join(o.target, "build", "image-root")})
			if err != nil {
				return err
			}
			defer release()
			// Arguments after -- go to build (with --description) or
			// create (without, which takes none stackbuild does not
			// set): check them before any work.
			var pf prepareFlags
			if len(args) > 0 {
				if o.description == "" {
					return fmt.Errorf("unknown create argument(s) after --: %s (create takes only --root and --target-dir, which stackbuild sets; build options need --description)", strings.Join(args, " "))
				}
				if _, err := parseBuildArgs(args, &pf, nil); err != nil {
					return fmt.Errorf("%w (they are system build options; --description and --target-dir are stackbuild's own)", err)
				}
			}
			// The stack is the existing root the description builds on.
			pf.allowExistingRoot = true
			var desc *description.Description
			if o.description != "" {
				d, err := loadForBuild(g, o.description, &pf)
				if err != nil {
					return err
				}
				if _, err := build.Plan(d, g.log); err != nil {
					return err
				}
				desc = d
			}
			store, err := oci.OpenStore(oci.StoreOptions{})
			if err != nil {
				return err
			}
			defer store.Close()
			root := filepath.Join(o.target, "build", "image-root")
			// A failed or interrupted stackbuild leaves the target dir as
			// it found it: the composed root (cheap to get again from the
			// stack cache) and the directories made for it go.
			if err := stack.CheckNewRoot(root); err != nil {
				return err
			}
			created, err := build.MkdirNew(filepath.Dir(root))
			if err != nil {
				return fmt.Errorf("--target-dir %s: %w", o.target, err)
			}
			// composed: the root is this run's (Compose removes a partly
			// composed one itself); done: the run succeeded.
			composed, done := false, false
			defer func() {
				if done {
					return
				}
				if composed {
					if err := os.RemoveAll(root); err != nil {
						g.log.Warn("could not remove the composed root", "root", root, "error", err)
					}
				}
				build.RemoveEmpty(created)
			}()
			rep, err := stack.Compose(cmd.Context(), store, stack.Options{
				Stashes: o.stashes, FromRegistry: o.registry, Root: root,
				Copy: oci.CopyOptions{Progress: progress(), Insecure: o.insecure}, Log: g.log,
				CacheDir: filepath.Join(g.sharedCacheDir, "stack"),
			})
			if err != nil {
				return err
			}
			composed = true
			g.log.Info("stack composed", "root", root, "images", len(rep.Images), "overwritten_files", len(rep.Overwritten),
				"data_shared", units.HumanSize(float64(rep.Data.Shared)), "data_copied", units.HumanSize(float64(rep.Data.Copied)))
			if rep.Data.Copied > 256<<20 {
				// The one thing that makes composing a big stack cheap.
				switch {
				case errors.Is(rep.Data.NoReflink, unix.EOPNOTSUPP):
					g.log.Info("file data was copied: the target dir's filesystem has no reflinks; with local storage and the target dir on one xfs or btrfs filesystem it is shared instead")
				case errors.Is(rep.Data.NoReflink, unix.EXDEV):
					g.log.Info("file data was copied: local storage and the target dir are on different filesystems (or mounts); on one xfs or btrfs filesystem it is shared instead")
				}
			}
			for _, p := range rep.Overwritten {
				g.log.Debug("overwritten by a later image", "path", p)
			}
			if o.composeOnly {
				done = true
				return nil
			}
			if desc != nil {
				// The stack is already in storage: the root built on it
				// is not committed again.
				pf.noContainer = true
				if _, err := build.Prepare(cmd.Context(), desc, prepareOptions(g, root, &pf)); err != nil {
					return err
				}
			}
			results, err := build.Create(cmd.Context(), root, o.target, buildOptions(g))
			if err != nil {
				return err
			}
			done = true
			logResults(g, results)
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
