package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/docker/go-units"
	"golang.org/x/sys/unix"

	"github.com/kiwi-go/kiwi/build"
	"github.com/kiwi-go/kiwi/build/create"
	"github.com/kiwi-go/kiwi/build/description"
	"github.com/kiwi-go/kiwi/internal/timing"
	"github.com/kiwi-go/kiwi/oci"
)

// BuildOptions describe one stackbuild.
type BuildOptions struct {
	// Stashes are the images to stack, bottom first (see Options).
	Stashes []string
	// FromRegistry is a registry location the stashes are pulled from.
	FromRegistry string
	// TargetDir receives the composed root, build.Root(TargetDir), which
	// must not exist, and the results.
	TargetDir string
	// Description, when set, is built on top of the stack (as an existing
	// root: only what the stack lacks is installed); else the description
	// the stack carries in /image/config.xml is created.
	Description *description.Description
	// Build are the options of prepare (with a Description) and create.
	// Build sets the root, TargetDir, AllowExistingRoot and no container
	// (the stack is in storage already).
	Build build.Options
	// ComposeOnly stops after composing: nothing is applied or created.
	ComposeOnly bool
	Copy        oci.CopyOptions
	// CacheDir keeps composed stacks of images that are not composed
	// from storage's layer directories (see Options.CacheDir).
	CacheDir string
	Log      *slog.Logger
}

// BuildResult is what a stackbuild made.
type BuildResult struct {
	// Root is the composed (and, with a description, prepared) root.
	Root   string
	Report *Report
	// Results are the files create made (none with ComposeOnly).
	Results []create.Result
}

// Build composes the stack into a new root in o.TargetDir and builds an
// image from it: o.Description on top of it, or the description the
// stack carries. Everything that can be refused is refused before
// composing: the plan of o.Description, an existing root, images that
// cannot be resolved, and a stack that carries no description when o has
// none (or carries one kiwi cannot build, where that can be read before
// composing). When anything fails or ctx is cancelled, the composed root
// and the directories made for it are removed again: the target dir is
// left as it was found.
func Build(ctx context.Context, store *oci.Store, o BuildOptions) (*BuildResult, error) {
	log := o.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if len(o.Stashes) == 0 {
		return nil, errors.New("no images to stack")
	}
	if o.TargetDir == "" {
		return nil, errors.New("no target dir given")
	}
	root := build.Root(o.TargetDir)
	co := Options{Stashes: o.Stashes, FromRegistry: o.FromRegistry, Root: root, Copy: o.Copy, Log: log, CacheDir: o.CacheDir}
	if o.Description != nil {
		if _, err := build.Plan(o.Description, log); err != nil {
			return nil, err
		}
		if err := build.CheckHost(o.Description); err != nil {
			return nil, err
		}
	}
	if err := CheckNewRoot(root); err != nil {
		return nil, err
	}
	refs, err := resolveAll(ctx, store, co)
	if err != nil {
		return nil, err
	}
	// Without a description of its own the stack must carry one: looked
	// for (and, from storage's layer directories, planned) before a byte
	// is composed.
	carries := o.Description == nil && !o.ComposeOnly
	if carries {
		c, err := findDescription(ctx, store, refs, co)
		if err != nil {
			return nil, err
		}
		if c != nil {
			log.Debug("the stack carries its description", "stash", c.Image, "read_before_composing", c.Dir != "")
		}
		if err := planCarried(c, o.Build.Load, log); err != nil {
			return nil, err
		}
	}
	created, err := build.MkdirNew(filepath.Dir(root))
	if err != nil {
		return nil, fmt.Errorf("target dir %s: %w", o.TargetDir, err)
	}
	rb := &rollback{root: root, created: created}
	done := false
	defer func() {
		if !done {
			rb.undo(log)
		}
	}()
	endCompose := timing.Start(ctx, "compose")
	rep, err := composeRefs(ctx, store, co, refs)
	endCompose()
	if err != nil {
		return nil, err
	}
	rb.composed = true
	logReport(log, root, rep)
	res := &BuildResult{Root: root, Report: rep}
	if o.ComposeOnly {
		done = true
		return res, nil
	}
	if carries {
		// A docker:// image without kiwi's label could not be looked into
		// before composing.
		if ok, err := hasDescription(root); err != nil {
			return nil, err
		} else if !ok {
			return nil, noDescription(o.Stashes)
		}
	}
	bo := o.Build
	bo.TargetDir = o.TargetDir
	if o.Description != nil {
		bo.Prepare.Root = root
		bo.Prepare.AllowExistingRoot = true
		bo.Container = false
		if _, err := build.Prepare(ctx, o.Description, bo); err != nil {
			return nil, err
		}
	}
	// Create plans the root's description first (build.PlanRoot), before
	// any work: the check of the stack's description that could not be
	// made before composing, and of what the image needs in the root.
	if res.Results, err = build.Create(ctx, root, o.TargetDir, bo); err != nil {
		return nil, err
	}
	done = true
	return res, nil
}

// rollback undoes what a failed stackbuild made in its target dir.
type rollback struct {
	root string
	// created are the directories made for the root, outermost first
	// (build.MkdirNew).
	created []string
	// composed: the root is this run's. Composing removes a partly
	// composed root itself.
	composed bool
}

// undo removes the composed root and, where they are empty, the
// directories made for it: whatever else is in the target dir stays.
func (r *rollback) undo(log *slog.Logger) {
	if r.composed {
		if err := os.RemoveAll(r.root); err != nil {
			log.Warn("could not remove the composed root", "root", r.root, "error", err)
		}
	}
	build.RemoveEmpty(r.created)
}

// logReport logs what composing did: images, overwritten files (each at
// debug level), how the data got there and, for a big stack whose data
// was copied, what would have shared it instead.
func logReport(log *slog.Logger, root string, rep *Report) {
	log.Info("stack composed", "root", root, "images", len(rep.Images), "overwritten_files", len(rep.Overwritten),
		"data_shared", units.HumanSize(float64(rep.Data.Shared)), "data_copied", units.HumanSize(float64(rep.Data.Copied)))
	if hint := reflinkHint(rep.Data.Copied, rep.Data.NoReflink); hint != "" {
		log.Info(hint)
	}
	for _, p := range rep.Overwritten {
		log.Debug("overwritten by a later image", "path", p)
	}
}

// reflinkHint says why a big stack's data was copied rather than shared
// by reflinks, the one thing that makes composing a big stack cheap.
func reflinkHint(copied int64, noReflink error) string {
	if copied <= 256<<20 {
		return ""
	}
	switch {
	case errors.Is(noReflink, unix.EOPNOTSUPP):
		return "file data was copied: the target dir's filesystem has no reflinks; with local storage and the target dir on one xfs or btrfs filesystem it is shared instead"
	case errors.Is(noReflink, unix.EXDEV):
		return "file data was copied: local storage and the target dir are on different filesystems (or mounts); on one xfs or btrfs filesystem it is shared instead"
	}
	return ""
}
