package stack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/docker/go-units"
	ispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"

	"github.com/kiwi-go/kiwi/build"
	"github.com/kiwi-go/kiwi/build/create"
	"github.com/kiwi-go/kiwi/build/description"
	"github.com/kiwi-go/kiwi/build/prepare"
	"github.com/kiwi-go/kiwi/internal/checksum"
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
	Log         *slog.Logger
}

// BuildResult is what a stackbuild made.
type BuildResult struct {
	// Root is the composed (and, with a description, prepared) root; ""
	// when nothing changed since an earlier build and its results were
	// copied (build.CachedResults): no root was written.
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
	co := Options{Stashes: o.Stashes, FromRegistry: o.FromRegistry, Root: root, Copy: o.Copy, Log: log}
	var job *create.Job
	if o.Description != nil {
		var err error
		if job, err = build.Plan(o.Description, log); err != nil {
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
	if o.Description != nil && !o.ComposeOnly {
		ids, ok, err := storedIDs(store, refs)
		if err != nil {
			return nil, err
		}
		if ok {
			rb.composed = true // the root is this run's from here on
			res, err := buildLayered(ctx, store, co, refs, ids, job, o)
			if err != nil {
				return nil, err
			}
			if res.Root == "" && slices.Contains(created, filepath.Dir(root)) {
				_ = os.Remove(filepath.Dir(root)) // the build dir made for the root
			}
			done = true
			return res, nil
		}
		log.Info("the description's phases are not kept as layers: not every image of the stack is in local storage")
	}
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

// storedIDs returns the IDs of the images refs when all of them are in
// local storage.
func storedIDs(store *oci.Store, refs []oci.ImageRef) ([]string, bool, error) {
	ids := make([]string, len(refs))
	for i, ref := range refs {
		if !oci.InStorage(ref) {
			return nil, false, nil
		}
		id, err := store.ImageID(ref)
		if err != nil {
			return nil, false, err
		}
		ids[i] = id
	}
	return ids, true, nil
}

// buildLayered builds o.Description on a stack of images in local storage
// the way system build builds on a base image: the stack is the base of
// prepare's phase layers, keyed by the stack's image IDs and the
// description (prepare's phase keys), so a rerun with the same images and
// description applies the cached phases instead of running the package
// manager and config.sh, and a changed overlay file reruns only the
// configuration phase. The base of one image is that image; a stack of
// several is composed once and committed as one image (stackImage).
func buildLayered(ctx context.Context, store *oci.Store, co Options, refs []oci.ImageRef, ids []string, job *create.Job, o BuildOptions) (*BuildResult, error) {
	res := &BuildResult{Root: co.Root}
	bo := o.Build
	bo.TargetDir = o.TargetDir
	bo.Container = false
	bo.Prepare.Root = co.Root
	bo.Prepare.AllowExistingRoot = false
	bo.Prepare.Store = store
	bo.Prepare.Base = ids[0]
	if len(ids) > 1 {
		base, rep, inRoot, err := stackImage(ctx, store, co, refs, ids, bo.Prepare)
		if err != nil {
			return nil, err
		}
		bo.Prepare.Base, res.Report = base, rep
		if inRoot {
			bo.Prepare.BaseTree = prepare.BaseComposed
		}
	} else {
		// The image is the stack: prepare unpacks it (its "restore").
		res.Report = &Report{Images: co.Stashes}
	}
	if bo.Prepare.BaseTree != prepare.BaseComposed {
		results, ok, err := build.CachedResults(ctx, o.Description, job, &bo)
		if err != nil {
			return nil, err
		}
		if ok {
			res.Root, res.Results = "", results
			return res, nil
		}
	}
	pres, err := build.Prepare(ctx, o.Description, bo)
	if err != nil {
		return nil, err
	}
	if res.Results, err = build.CreatePrepared(ctx, pres, o.TargetDir, bo); err != nil {
		return nil, err
	}
	return res, nil
}

// stackRecipe changes when the way a stack is composed changes, so stack
// images of an older kiwi are not reused.
const stackRecipe = "kiwi-stack-1"

// labelReport holds a committed stack's report (the images, the files a
// later image overwrote), so a run that finds the stack committed says
// what it holds.
const labelReport = "io.kiwi.stack.report"

// stackImage returns the image whose tree is the stack of images ids,
// composed once: localhost/kiwi-stack:<key of the images' IDs>. When it is
// not in storage yet, the stack is composed into co.Root and committed
// from there as one layer (inRoot: co.Root holds its tree now).
func stackImage(ctx context.Context, store *oci.Store, co Options, refs []oci.ImageRef, ids []string, po prepare.Options) (id string, rep *Report, inRoot bool, err error) {
	name := "localhost/kiwi-stack:" + checksum.JSON(stackRecipe, ids)[:16]
	if img, err := store.Image(name); err == nil {
		rep = &Report{Images: co.Stashes}
		if cfg, err := store.ImageConfig(ctx, img.ID); err == nil {
			_ = json.Unmarshal([]byte(cfg.Config.Labels[labelReport]), rep)
		}
		timing.Cached(ctx, "compose")
		co.Log.Info("stack composed before", "image", name)
		logReport(co.Log, co.Root, rep)
		return img.ID, rep, false, nil
	}
	end := timing.Start(ctx, "compose")
	rep, err = composeRefs(ctx, store, co, refs)
	end()
	if err != nil {
		return "", nil, false, err
	}
	logReport(co.Log, co.Root, rep)
	defer timing.Start(ctx, "layers")()
	snap, err := oci.TakeSnapshot(co.Root, oci.HostDirs, nil)
	if err != nil {
		return "", nil, false, err
	}
	changes, err := snap.Changes(nil)
	if err != nil {
		return "", nil, false, err
	}
	cfg, err := store.ImageConfig(ctx, ids[0])
	if err != nil {
		return "", nil, false, err
	}
	report, err := json.Marshal(rep)
	if err != nil {
		return "", nil, false, err
	}
	co.Log.Info("committing the composed stack", "image", name, "changes", len(changes))
	out, err := store.AppendLayer(ctx, oci.Append{
		Name: name, Arch: cfg.Architecture, TempDir: po.TempDir, Created: time.Now(),
		Layer:   func(w io.Writer) error { return oci.WriteLayer(w, co.Root, changes, nil) },
		History: ispec.History{CreatedBy: po.Tool, Comment: "kiwi stackbuild: " + strings.Join(co.Stashes, " ")},
		Configure: func(c *ispec.Image) {
			c.Config = cfg.Config
			if c.Config.Labels == nil {
				c.Config.Labels = map[string]string{}
			}
			c.Config.Labels[labelReport] = string(report)
		},
	})
	if err != nil {
		return "", nil, false, fmt.Errorf("commit the composed stack: %w", err)
	}
	file := prepare.SnapshotFile(po.CacheDir, out.ImageID)
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return "", nil, false, err
	}
	if err := snap.WriteFile(file); err != nil {
		return "", nil, false, fmt.Errorf("keep the composed stack's tree snapshot: %w", err)
	}
	return out.ImageID, rep, true, nil
}
