package prepare

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	ispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiwi-go/kiwi/build/description"
	"github.com/kiwi-go/kiwi/build/pkgmanager"
	"github.com/kiwi-go/kiwi/internal/checksum"
	"github.com/kiwi-go/kiwi/internal/chroot"
	"github.com/kiwi-go/kiwi/internal/journal"
	"github.com/kiwi-go/kiwi/internal/runner"
	"github.com/kiwi-go/kiwi/oci"
)

// A prepared root is a stack of three layers, one per phase, each an
// image in local storage tagged with the key of everything that went into
// it (and into the phases below it). A later prepare whose inputs give the
// same key applies that image instead of running the phase again.
const (
	phaseBootstrap = "bootstrap"
	phasePackages  = "packages"
	phaseConfig    = "config"
)

var phases = []string{phaseBootstrap, phasePackages, phaseConfig}

// phaseRecipe changes when what a phase does changes, so layers made by
// an older kiwi are not reused for a newer recipe.
const phaseRecipe = "kiwi-prepare-3"

// Label names on prepared images.
const (
	labelPhase = "io.kiwi.prepare.phase"
	labelKey   = "io.kiwi.prepare.key"
)

// phaseKeys derives each phase's cache key from its inputs: the key of
// the phase below, and what the phase reads of the description and of
// the repositories (repoState, pkgmanager.RepositoryState: packages are
// installed in the bootstrap phase already).
func phaseKeys(d *description.Description, tool string, signingKeys []string, base string, repoState []string) ([]string, error) {
	var repos []string
	for _, r := range d.Repositories {
		b, _ := json.Marshal(r.Attr)
		repos = append(repos, r.Source+" "+string(b)+" "+strings.Join(r.SigningKeys, ";"))
	}
	var bootstrapPackage string
	if b := d.Packages["bootstrap"]; b != nil {
		bootstrapPackage = b.BootstrapPackage
	}
	var keys []string
	for _, k := range signingKeys {
		b, err := os.ReadFile(k)
		if err != nil {
			return nil, fmt.Errorf("signing key %s: %w", k, err)
		}
		keys = append(keys, string(b))
	}
	// What the package manager is told besides the package names: the
	// rpm settings, recommends and the <ignore> lists.
	var patternTypes, ignores []string
	for _, sec := range []string{"bootstrap", "image"} {
		if p := d.Packages[sec]; p != nil {
			patternTypes = append(patternTypes, p.PatternType)
			ignores = append(ignores, p.Ignore...)
		}
	}
	pm := []any{d.Preferences.PackageManager, d.Preferences.RPMCheckSignatures, d.Preferences.RPMExcludeDocs,
		d.Preferences.RPMLocaleFiltering, d.Preferences.Locale, d.Preferences.ReleaseVersion, patternTypes, ignores, keys}
	// post_bootstrap.sh runs in the bootstrap phase.
	postBootstrap, err := os.ReadFile(filepath.Join(d.Dir, "post_bootstrap.sh"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("post_bootstrap.sh: %w", err)
	}
	// The scripts' function library (/.kconfig) is part of what they do.
	library := ""
	if postBootstrap != nil {
		library = string(chroot.Functions)
	}
	k1 := checksum.JSON(phaseRecipe, phaseBootstrap, pm, d.TargetArch, repos,
		pkgmanager.Wanted(d, "bootstrap"), bootstrapPackage, base, string(postBootstrap), library, repoState)
	k2 := checksum.JSON(k1, phasePackages, pkgmanager.Wanted(d, "image", d.Type.Image), keys)
	desc, err := checksum.Tree(d.Dir)
	if err != nil {
		return nil, fmt.Errorf("read description directory %s: %w", d.Dir, err)
	}
	k3 := checksum.JSON(k2, phaseConfig, string(d.XML()), desc, d.Profiles, d.Type.Image, tool, string(chroot.Functions))
	return []string{k1, k2, k3}, nil
}

// phaseCache keeps the phase layers of one description in local storage.
type phaseCache struct {
	store   *oci.Store
	name    string // lower-case image name (references must be)
	author  string
	tool    string
	tempDir string
	arch    string // OCI architecture of the images ("": the host's)
	// state keeps the tree snapshot of every phase image, so the next
	// phase's layer is a diff without reading the whole tree again.
	state string
	log   *slog.Logger
}

func (c *phaseCache) ref(phase, key string) string {
	return fmt.Sprintf("localhost/kiwi-prepare/%s:%s-%s", c.name, phase, key[:16])
}

// deepest returns how many phases (from the bottom) have a cached image
// for keys, and the image ID of the highest of them.
func (c *phaseCache) deepest(keys []string) (int, string) {
	n, id := 0, ""
	for i, ph := range phases {
		img, err := c.store.Image(c.ref(ph, keys[i]))
		if err != nil {
			break
		}
		n, id = i+1, img.ID
	}
	return n, id
}

// restore fills the empty root with the cached image id and returns its
// tree snapshot (kept from when it was made, else taken now). A fully
// prepared image also has an unpacked copy of its tree in the cache:
// copying that (cp -a, about 1 s for 800 MB here) is the fastest way.
// Without the copy, the image is unpacked from storage's layer
// directories (Store.Unpack; from its blobs where storage keeps none).
func (c *phaseCache) restore(ctx context.Context, run runner.Runner, id, root string) (*oci.Snapshot, error) {
	if tree := c.treeDir(id); isDir(tree) {
		c.log.Info("copying the cached tree", "image", id[:12])
		if _, err := run.Run(ctx, runner.Cmd{Name: "cp", Args: []string{"-a", "--no-target-directory", tree, root}}); err != nil {
			return nil, fmt.Errorf("copy cached tree %s: %w", tree, err)
		}
		return c.snapshot(id, root)
	}
	c.log.Info("unpacking the image", "image", id[:12])
	if err := c.store.Unpack(ctx, id, root); err != nil {
		return nil, fmt.Errorf("unpack cached phases: %w", err)
	}
	kept, err := oci.ReadSnapshot(c.snapshotFile(id))
	if errors.Is(err, fs.ErrNotExist) {
		return oci.TakeSnapshot(root, oci.HostDirs, nil)
	}
	if err != nil {
		return nil, err
	}
	// Storage does not check its unpacked layers: what was written is
	// compared with the snapshot taken when the image was committed
	// (every file hashed anew), so a damaged layer, a file truncated or
	// changed in storage, is never built on.
	got, err := oci.TakeSnapshot(root, oci.HostDirs, nil)
	if err != nil {
		return nil, err
	}
	changes, err := got.Changes(kept)
	if err != nil {
		return nil, err
	}
	// The root directory itself is the caller's (made new, its time now).
	changes = slices.DeleteFunc(changes, func(c oci.Change) bool { return c.Path() == "." })
	if len(changes) > 0 {
		return nil, fmt.Errorf("image %s: %w: %d paths differ, first /%s", id[:12], errDamaged, len(changes), changes[0].Path())
	}
	return got, nil
}

// errDamaged: an image in storage does not hold the tree it was committed
// from.
var errDamaged = errors.New("its tree in storage is not the one it was committed from")

// forget drops the phase images of keys (bottom first) from the cache:
// their names, and the images left without one.
func (c *phaseCache) forget(keys []string) {
	for i, k := range keys {
		ref := c.ref(phases[i], k)
		img, err := c.store.Image(ref)
		if err != nil {
			continue
		}
		if err := c.store.RemoveNames(img.ID, []string{ref}); err != nil {
			c.log.Warn("could not drop a cached phase", "image", ref, "error", err)
			continue
		}
		if img, err := c.store.Image(img.ID); err == nil && len(img.Names) == 0 {
			if _, err := c.store.DeleteImage(img.ID, true); err != nil {
				c.log.Debug("the dropped phase image stays in storage", "image", img.ID[:12], "error", err)
			}
		}
	}
}

// snapshot is the kept tree snapshot of image id, or one taken of root.
func (c *phaseCache) snapshot(id, root string) (*oci.Snapshot, error) {
	snap, err := oci.ReadSnapshot(c.snapshotFile(id))
	if err == nil {
		return snap, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return oci.TakeSnapshot(root, oci.HostDirs, nil)
}

func (c *phaseCache) snapshotFile(id string) string {
	return SnapshotFile(filepath.Dir(c.state), id)
}

// SnapshotFile is where prepare keeps (and looks for) the tree snapshot of
// image id, under the shared cache dir: a caller that made an image and
// its snapshot (a composed stack) leaves it there, so the phases built on
// that image need not read the tree again.
func SnapshotFile(cacheDir, id string) string {
	return filepath.Join(cacheDir, "prepare", id+".snapshot")
}

func (c *phaseCache) treeDir(id string) string {
	return filepath.Join(c.state, "trees", id)
}

// keepTree stores an unpacked copy of the prepared root for image id, as
// the layers hold it (/dev, /proc and /sys empty). It is copied next to
// its place and renamed, so a cached tree is always complete.
func (c *phaseCache) keepTree(ctx context.Context, run runner.Runner, id, root string) error {
	dest := c.treeDir(id)
	if isDir(dest) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dest), journal.TempPattern(".kiwi-tree-"))
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	copyDir := filepath.Join(tmp, "root")
	if _, err := run.Run(ctx, runner.Cmd{Name: "cp", Args: []string{"-a", "--no-target-directory", root, copyDir}}); err != nil {
		return fmt.Errorf("keep a copy of the prepared tree: %w", err)
	}
	for _, d := range oci.HostDirs {
		entries, _ := os.ReadDir(filepath.Join(copyDir, d))
		for _, e := range entries {
			if err := os.RemoveAll(filepath.Join(copyDir, d, e.Name())); err != nil {
				return err
			}
		}
	}
	return os.Rename(copyDir, dest)
}

// prune removes kept trees and snapshots of images that are no longer
// in storage, and trees of images that lost their final name.
func (c *phaseCache) prune() {
	entries, _ := os.ReadDir(filepath.Join(c.state, "trees"))
	for _, e := range entries {
		img, err := c.store.Image(e.Name())
		if err == nil && hasFinalName(img.Names) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(c.state, "trees", e.Name())); err != nil {
			c.log.Warn("could not remove a stale cached tree", "dir", e.Name(), "error", err)
		}
	}
	files, _ := os.ReadDir(c.state)
	for _, f := range files {
		id, ok := strings.CutSuffix(f.Name(), ".snapshot")
		if !ok {
			continue
		}
		if _, err := c.store.Image(id); err != nil {
			_ = os.Remove(filepath.Join(c.state, f.Name()))
		}
	}
}

// hasFinalName tells whether names hold a prepared image's own name
// (not only a phase cache tag).
func hasFinalName(names []string) bool {
	for _, n := range names {
		if !strings.HasPrefix(n, "localhost/kiwi-prepare/") {
			return true
		}
	}
	return false
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// commit writes what phase changed in root since prev (nil: the whole
// tree) as one layer on parentID and tags it with the phase's key.
func (c *phaseCache) commit(ctx context.Context, root, parentID, phase, key string, prev *oci.Snapshot) (string, *oci.Snapshot, error) {
	snap, err := oci.TakeSnapshot(root, oci.HostDirs, prev)
	if err != nil {
		return "", nil, err
	}
	changes, err := snap.Changes(prev)
	if err != nil {
		return "", nil, err
	}
	if len(changes) == 0 && parentID != "" {
		// A phase that changed nothing (a bootstrap on a base image,
		// packages all there) adds no empty layer: the image below is
		// that phase's image too.
		c.log.Info("no changes: no layer", "phase", phase)
		if err := c.store.AddNames(parentID, []string{c.ref(phase, key)}); err != nil {
			return "", nil, fmt.Errorf("name the %s phase: %w", phase, err)
		}
		return parentID, snap, nil
	}
	c.log.Info("writing layer", "phase", phase, "changes", len(changes))
	out, err := c.store.AppendLayer(ctx, oci.Append{
		ParentID: parentID,
		Name:     c.ref(phase, key),
		Arch:     c.arch,
		Layer: func(w io.Writer) error {
			return oci.WriteLayer(w, root, changes, nil)
		},
		History: ispec.History{CreatedBy: c.tool, Comment: "kiwi prepare: " + phase, Author: c.author},
		Created: time.Now(),
		Configure: func(cfg *ispec.Image) {
			cfg.Author = c.author
			cfg.Config.Entrypoint = nil
			cfg.Config.Cmd = []string{"/bin/sh"}
			if cfg.Config.Labels == nil {
				cfg.Config.Labels = map[string]string{}
			}
			cfg.Config.Labels[labelPhase] = phase
			cfg.Config.Labels[labelKey] = key
		},
		TempDir: c.tempDir,
	})
	if err != nil {
		return "", nil, fmt.Errorf("commit the %s phase: %w", phase, err)
	}
	if err := os.MkdirAll(c.state, 0o755); err != nil {
		return "", nil, err
	}
	if err := snap.WriteFile(c.snapshotFile(out.ImageID)); err != nil {
		return "", nil, fmt.Errorf("keep tree snapshot: %w", err)
	}
	return out.ImageID, snap, nil
}

// tag names the final image localhost/<name>:<version>; the name moves
// from any older image that had it.
func (c *phaseCache) tag(id, version string) (string, error) {
	name := fmt.Sprintf("localhost/%s:%s", c.name, version)
	if err := c.store.AddNames(id, []string{name}); err != nil {
		return "", fmt.Errorf("name the prepared image %s: %w", name, err)
	}
	return name, nil
}
