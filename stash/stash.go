// Package stash keeps root trees as OCI images in podman's local storage:
// the first stash of a name holds the whole tree, every later one adds one
// layer with only what changed since the newest stash of that name.
package stash

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	ispec "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/storage"
	"golang.org/x/sys/unix"

	"github.com/kiwi-go/kiwi/build/description"
	"github.com/kiwi-go/kiwi/internal/journal"
	"github.com/kiwi-go/kiwi/oci"
)

// Labels set on every stash; the maintainer and meta names are KIWI's, so
// tools that read KIWI stashes read ours.
const (
	LabelMaintainer = "io.osinside.kiwi.maintainer"
	LabelMeta       = "io.osinside.kiwi.meta"
	historyComment  = "KIWI Root Tree Stash"
)

// snapshotSuffix names the kept tree snapshot of a stash image:
// <state>/<name>/<image id>.snapshot.
const snapshotSuffix = ".snapshot"

// Errors about one input of Stash, for callers to name the input their
// way (a command-line flag).
var (
	// ErrInvalidName: the stash name (Options.Name, or the image name of
	// the root's description when it has none) breaks the name rule.
	ErrInvalidName = errors.New("invalid stash name")
	// ErrInvalidTag: Options.Tag breaks the tag rule.
	ErrInvalidTag = errors.New("invalid tag")
	// ErrNotRoot: Options.Root is no directory.
	ErrNotRoot = errors.New("is not a directory")
	// ErrNoDescription: the root has no image/config.xml and the stash
	// has no name.
	ErrNoDescription = errors.New("no image description")
	// ErrPushReference: Options.Push is no image reference.
	ErrPushReference = errors.New("push reference")
)

var (
	nameRule = regexp.MustCompile(`^[0-9a-zA-Z][0-9a-zA-Z-]*[0-9a-zA-Z]$`)
	tagRule  = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
)

// Options describe one stash.
type Options struct {
	Root string
	// Name of the stash; empty takes the image name of Root/image/config.xml.
	Name string
	// Tag defaults to "latest".
	Tag string
	// StateDir keeps tree snapshots and locks (one folder per name).
	StateDir string
	// TempDir holds staging data for the duration of the call.
	TempDir string
	// SourceDateEpoch, when set, fixes every timestamp of the new layer,
	// config and history (reproducible stashes).
	SourceDateEpoch *time.Time
	// Push, when set, copies the stash to this reference afterwards.
	Push string
	// Tool is written into the meta label and history (name and version).
	Tool string
	Copy oci.CopyOptions
	Log  *slog.Logger
}

// Result tells what a stash made.
type Result struct {
	Name, Tag string
	ImageID   string
	Layers    int
	// LayerSize is the uncompressed size of the new layer in bytes.
	LayerSize int64
	// Changed counts the paths added, changed or deleted.
	Changed int
	// Base is the image the new layer went on ("" for a first stash).
	Base string
}

// ValidateName checks a stash name against KIWI's container name rule.
func ValidateName(name string) error {
	if !nameRule.MatchString(name) {
		return fmt.Errorf("%w %q: use letters, digits and '-', starting and ending with a letter or digit", ErrInvalidName, name)
	}
	return nil
}

// Stash adds the tree at o.Root to local storage as described above. It
// changes nothing when it fails: the image is tagged only after its
// layer is complete, and the snapshot is written after that.
func Stash(ctx context.Context, store *oci.Store, o Options) (*Result, error) {
	log := o.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	fi, err := os.Stat(o.Root)
	if err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("root tree %q %w: give the root tree of a kiwi system prepare or build", o.Root, ErrNotRoot)
	}
	descPath := filepath.Join(o.Root, "image", "config.xml")
	head, err := description.ReadHead(descPath)
	switch {
	case errors.Is(err, fs.ErrNotExist) && o.Name != "":
		log.Warn("no image description in the root; stash carries no description", "path", descPath)
		head = &description.Head{}
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%w at %s: stash a root made by kiwi system prepare/build, or give the stash a name", ErrNoDescription, descPath)
	case err != nil:
		return nil, fmt.Errorf("read image description: %w", err)
	}
	name := o.Name
	if name == "" {
		name = head.Name
	}
	if err := ValidateName(name); err != nil {
		if o.Name == "" {
			return nil, fmt.Errorf("%w (the image name of %s)", err, descPath)
		}
		return nil, err
	}
	tag := o.Tag
	if tag == "" {
		tag = "latest"
	}
	if !tagRule.MatchString(tag) {
		return nil, fmt.Errorf("%w %q: use up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'", ErrInvalidTag, tag)
	}
	var push = o.Push
	if push != "" {
		if _, err := store.ParseReference(push); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrPushReference, err)
		}
	}

	stateDir := filepath.Join(o.StateDir, name)
	unlock, err := lock(stateDir)
	if err != nil {
		return nil, err
	}
	defer unlock()

	base, err := newest(store, name)
	if err != nil {
		return nil, err
	}
	var parent *oci.Snapshot
	var parentRef oci.ImageRef
	if base != nil {
		log.Info("adding a layer to the newest stash", "name", name, "base", base.Names, "id", base.ID[:12])
		parentRef, err = store.ImageReference(base.ID)
		if err != nil {
			return nil, err
		}
		parent, err = baseSnapshot(ctx, stateDir, base.ID, parentRef, o)
		if err != nil {
			return nil, err
		}
	} else {
		log.Info("creating the first stash", "name", name)
	}
	log.Info("reading root tree", "root", o.Root)
	snap, err := oci.TakeSnapshot(o.Root, oci.HostDirs, parent)
	if err != nil {
		return nil, err
	}
	changes, err := snap.Changes(parent)
	if err != nil {
		return nil, err
	}
	created := time.Now()
	if o.SourceDateEpoch != nil {
		created = *o.SourceDateEpoch
	}
	tool := o.Tool
	if tool == "" {
		tool = "kiwi"
	}
	log.Info("writing layer", "changes", len(changes))
	var parentID string
	if base != nil {
		parentID = base.ID
	}
	out, err := store.AppendLayer(ctx, oci.Append{
		ParentID: parentID,
		Name:     "localhost/" + name + ":" + tag,
		Layer: func(w io.Writer) error {
			return oci.WriteLayer(w, o.Root, changes, o.SourceDateEpoch)
		},
		History: ispec.History{CreatedBy: tool, Comment: historyComment, Author: head.Author},
		Created: created,
		Configure: func(c *ispec.Image) {
			c.Author = head.Author
			// KIWI sets /bin/sh as the entrypoint, which turns
			// `podman run IMAGE /bin/sh -c CMD` into `sh /bin/sh -c CMD`.
			// As the default command, /bin/sh still starts when no command
			// is given, and a given command runs as written.
			c.Config.Entrypoint = nil
			c.Config.Cmd = []string{"/bin/sh"}
			if c.Config.Labels == nil {
				c.Config.Labels = map[string]string{}
			}
			c.Config.Labels[LabelMaintainer] = head.Author
			c.Config.Labels[LabelMeta] = tool
		},
		TempDir:  o.TempDir,
		Progress: o.Copy.Progress,
	})
	if err != nil {
		return nil, err
	}
	if err := snap.WriteFile(filepath.Join(stateDir, out.ImageID+snapshotSuffix)); err != nil {
		return nil, fmt.Errorf("keep tree snapshot: %w", err)
	}
	// Which directory the image was taken of: a build on that root,
	// unchanged, builds on the image (Find).
	if abs, err := filepath.Abs(o.Root); err == nil {
		if err := os.WriteFile(filepath.Join(stateDir, out.ImageID+rootSuffix), []byte(abs), 0o644); err != nil {
			log.Warn("could not record the stashed root's path", "error", err)
		}
	}
	res := &Result{Name: name, Tag: tag, ImageID: out.ImageID, Layers: out.LayerCount, LayerSize: out.Layer.Size, Changed: len(changes)}
	if base != nil {
		res.Base = base.ID
		dropUntagged(store, base.ID, log)
	}
	pruneSnapshots(store, stateDir, log)
	if push != "" {
		dst, err := store.ParseReference(push)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrPushReference, err)
		}
		log.Info("pushing stash", "to", push)
		src, err := store.LocalReference(name, tag)
		if err != nil {
			return nil, err
		}
		if _, err := oci.Copy(ctx, src, dst, o.Copy); err != nil {
			return res, fmt.Errorf("stash localhost/%s:%s was made, but the push failed: %w", name, tag, err)
		}
	}
	return res, nil
}

// baseSnapshot returns the tree snapshot of the base image: the one kept by
// the stash that made it, or, when there is none (the image came from
// elsewhere or the state was cleared), one taken from the image unpacked.
func baseSnapshot(ctx context.Context, stateDir, id string, ref oci.ImageRef, o Options) (*oci.Snapshot, error) {
	s, err := oci.ReadSnapshot(filepath.Join(stateDir, id+snapshotSuffix))
	if err == nil {
		return s, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if o.Log != nil {
		o.Log.Info("no snapshot of the base stash; unpacking it to compare", "id", id[:12])
	}
	tmp, err := os.MkdirTemp(o.TempDir, journal.TempPattern("kiwi-stash-base-"))
	if err != nil {
		return nil, fmt.Errorf("create temporary directory in %s: %w", o.TempDir, err)
	}
	defer os.RemoveAll(tmp)
	if err := oci.ApplyImage(ctx, ref, tmp, o.Copy); err != nil {
		return nil, err
	}
	return oci.TakeSnapshot(tmp, oci.HostDirs, nil)
}

// lock serialises stashes of one name across processes: two stashes at
// the same time both land, one on top of the other.
func lock(dir string) (func(), error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create stash state directory: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open stash lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", f.Name(), err)
	}
	return func() { f.Close() }, nil
}

// dropUntagged removes the previous stash image when the new one took its
// tag: all its layers live on in the new image, so only the record goes
// and `podman images` shows no dangling <none> entry.
func dropUntagged(store *oci.Store, id string, log *slog.Logger) {
	img, err := store.Image(id)
	if err != nil || len(img.Names) > 0 {
		return
	}
	if _, err := store.DeleteImage(id, true); err != nil {
		log.Warn("could not remove untagged previous stash", "id", id[:12], "error", err)
	}
}

// pruneSnapshots removes snapshots (and root records) of images that are
// gone from storage.
func pruneSnapshots(store *oci.Store, dir string, log *slog.Logger) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), snapshotSuffix)
		if !ok {
			id, ok = strings.CutSuffix(e.Name(), rootSuffix)
		}
		if !ok {
			continue
		}
		if _, err := store.Image(id); err != nil {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				log.Warn("could not remove stale snapshot", "file", e.Name(), "error", err)
			}
		}
	}
}

// rootSuffix names the record of the root tree a stash image was taken
// of: <state>/<name>/<image id>.root holds its absolute path.
const rootSuffix = ".root"

// StateDir is where stashes keep their state under the shared cache dir.
func StateDir(cacheDir string) string { return filepath.Join(cacheDir, "stash") }

// Find tells whether root is a root tree that was stashed and has not
// changed since: the ID of the newest stash taken of that directory
// (under any name) and the tree snapshot that proves the match, or ""
// when there is none. Its cost is a walk of the tree: files whose inode,
// size and times match the kept snapshot are not read. A root restored
// or copied from a stash is another directory and is not found.
func Find(store *oci.Store, stateDir, root string) (string, *oci.Snapshot, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return "", nil, err
	}
	records, err := filepath.Glob(filepath.Join(stateDir, "*", "*"+rootSuffix))
	if err != nil {
		return "", nil, err
	}
	var best *storage.Image
	var bestRecord string
	for _, rec := range records {
		b, err := os.ReadFile(rec)
		if err != nil || string(b) != abs {
			continue
		}
		img, err := store.Image(strings.TrimSuffix(filepath.Base(rec), rootSuffix))
		if err != nil {
			continue // gone from storage; pruned by the next stash
		}
		if best == nil || img.Created.After(best.Created) {
			best, bestRecord = img, rec
		}
	}
	if best == nil {
		return "", nil, nil
	}
	kept, err := oci.ReadSnapshot(strings.TrimSuffix(bestRecord, rootSuffix) + snapshotSuffix)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil, nil
	}
	if err != nil {
		return "", nil, err
	}
	snap, err := oci.TakeSnapshot(abs, oci.HostDirs, kept)
	if err != nil {
		return "", nil, err
	}
	changes, err := snap.Changes(kept)
	if err != nil || len(changes) > 0 {
		return "", nil, err
	}
	return best.ID, snap, nil
}
