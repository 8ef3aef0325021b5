package create

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/kiwi-go/kiwi/build/description"
	"github.com/kiwi-go/kiwi/build/pkgmanager"
	"github.com/kiwi-go/kiwi/disk"
	"github.com/kiwi-go/kiwi/internal/checksum"
	"github.com/kiwi-go/kiwi/internal/chroot"
	"github.com/kiwi-go/kiwi/internal/journal"
	"github.com/kiwi-go/kiwi/internal/runner"
	"github.com/kiwi-go/kiwi/oci"
	"github.com/kiwi-go/kiwi/result"
)

// Options are the inputs of create.
type Options struct {
	Root      string
	TargetDir string
	// desc is the planned description (set by Job.Run): its package
	// manager lists and verifies the root's packages.
	desc *description.Description
	Run  runner.Runner
	Log  *slog.Logger

	// For container images (docker, oci):
	// Store is local storage (opened when nil).
	Store *oci.Store
	// CacheDir keeps snapshots of base images and archives of images.
	CacheDir string
	TempDir  string
	// Layers, set by build after prepare, put the image's own layer on
	// prepare's phase layers; Squash puts it on the base (or nothing)
	// instead, as KIWI does.
	Layers *ContainerLayers
	Squash bool
	// Push are references the image is copied to afterwards.
	Push []string
	Copy oci.CopyOptions
	// ContainerCompress is the runtime config's container compression:
	// "xz" (default) or "none".
	ContainerCompress string
	// Epoch (SOURCE_DATE_EPOCH) fixes timestamps.
	Epoch *time.Time
	// Tool names this kiwi and its version (image history).
	Tool string
	// BundleCompress is the runtime config's "bundle: - compress:"; nil
	// keeps each result's default, as KIWI has them.
	BundleCompress *bool
	// NoPackageChanges leaves out the .changes result (the runtime
	// config's "bundle: - has_package_changes: false").
	NoPackageChanges bool
	// XZOptions replace xz's default options (--threads=0): the runtime
	// config's "xz: - options:", as KIWI uses them for the PXE image.
	XZOptions []string
	// ClearCache builds the image anew even when the same input was
	// built before (and drops what was cached of it).
	ClearCache bool
	// Selection is how the root's description was selected (profiles,
	// type, arch): part of the results cache's key.
	Selection description.LoadOptions
}

// fsUUID is the UUID of the filesystem (or partition, seed) of role
// (root, esp, boot, hashseed, ...) in the image base: random, or with an
// Epoch derived from base, role and the epoch, so that the same input
// gives the same image (issue 20's reproducibility) and another image,
// or another epoch, other ids.
func (o Options) fsUUID(base, role string) string {
	if o.Epoch == nil {
		return disk.NewUUID()
	}
	return uuid.NewSHA1(uuid.NameSpaceOID, []byte("kiwi\x00"+base+"\x00"+role+"\x00"+strconv.FormatInt(o.Epoch.Unix(), 10))).String()
}

// filesystem is fs with o's Epoch and, with one, a hash seed derived
// like the UUIDs.
func (o Options) filesystem(base, role string, fs disk.Filesystem) disk.Filesystem {
	fs.Epoch = o.Epoch
	if o.Epoch != nil {
		fs.HashSeed = o.fsUUID(base, role+"-hashseed")
	}
	return fs
}

// bundleCompress is whether result bundle compresses a result whose
// default is def.
func (o Options) bundleCompress(def bool) bool {
	if o.BundleCompress != nil {
		return *o.BundleCompress
	}
	return def
}

// Result is one file create made.
type Result struct {
	Key string
	result.File
}

// begin prepares a create: a logger, the target dir and a work dir in it
// (removed by the caller), and images.sh run in the root.
func begin(ctx context.Context, o Options) (Options, string, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if err := os.MkdirAll(o.TargetDir, 0o755); err != nil {
		return o, "", fmt.Errorf("create target dir: %w", err)
	}
	work, err := os.MkdirTemp(o.TargetDir, journal.TempPattern(".kiwi-create-"))
	if err != nil {
		return o, "", fmt.Errorf("create work dir in %s: %w", o.TargetDir, err)
	}
	if err := runImagesScript(ctx, o); err != nil {
		os.RemoveAll(work)
		return o, "", err
	}
	return o, work, nil
}

// startPackageResults makes .packages and .verified in the background and
// returns the function that waits for them (safe to call twice).
func startPackageResults(ctx context.Context, o Options, work, base string) func() ([]Result, error) {
	var (
		once sync.Once
		res  []Result
		err  error
	)
	done := make(chan struct{})
	go func() {
		res, err = packageResults(ctx, o, work, base)
		close(done)
	}()
	return func() ([]Result, error) {
		once.Do(func() { <-done })
		return res, err
	}
}

func runImagesScript(ctx context.Context, o Options) error {
	return runScript(ctx, o, "images.sh")
}

// runScript runs the description's hook root/image/<name>, when it has
// one, inside the root (chroot.Script: the root's /.profile variables in
// its environment; a failure stops the create with the script's exit
// code and output).
func runScript(ctx context.Context, o Options, name string) error {
	if _, err := os.Stat(filepath.Join(o.Root, "image", name)); err != nil {
		return nil
	}
	o.Log.Info("running " + name)
	return chroot.Script(ctx, o.Run, o.Root, name, nil)
}

// runHostScript runs root/image/<name> on the host (chroot.HostScript),
// logged with its arguments.
func runHostScript(ctx context.Context, o Options, name string, args ...string) error {
	if !exists(filepath.Join(o.Root, "image", name)) {
		return nil
	}
	o.Log.Info("running "+name+" on the host", "args", strings.Join(args, " "))
	return chroot.HostScript(ctx, o.Run, o.Root, name, args...)
}

// packageResults lists the image's packages and verifies their files
// with the description's package manager, from the root's own database
// (nothing for a root without one).
func packageResults(ctx context.Context, o Options, work, base string) ([]Result, error) {
	if o.desc == nil {
		return nil, nil
	}
	pm, err := pkgmanager.ForResults(o.desc, pkgmanager.Options{Root: o.Root, TempDir: o.TempDir, Run: o.Run, Log: o.Log})
	if err != nil {
		return nil, err
	}
	defer pm.Close()
	lines, err := pm.Packages(ctx)
	if errors.Is(err, pkgmanager.ErrNoDatabase) {
		o.Log.Debug("no package database in the root: no .packages, no .verified")
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(work, base+".packages"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		return nil, err
	}
	verified, err := pm.Verify(ctx)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(work, base+".verified"), verified, 0o644); err != nil {
		return nil, err
	}
	// KIWI bundles all three with every image type (use_for_bundle),
	// the changelogs compressed.
	results := []Result{
		{Key: "image_packages", File: result.File{Filename: base + ".packages", Bundle: true}},
		{Key: "image_verified", File: result.File{Filename: base + ".verified", Bundle: true}},
	}
	if o.NoPackageChanges {
		return results, nil
	}
	changes, err := pm.Changes(ctx)
	if errors.Is(err, pkgmanager.ErrNoChanges) {
		return results, nil
	}
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(work, base+".changes"), changes, 0o644); err != nil {
		return nil, err
	}
	return append(results, Result{Key: "image_changes", File: result.File{Filename: base + ".changes", Bundle: true, Compress: true}}), nil
}

// publish checksums the results and places them (place).
func publish(o Options, work string, results []Result) ([]Result, error) {
	// One goroutine per file: the images are independent and large.
	errs := make(chan error, len(results))
	for _, r := range results {
		go func() {
			if !r.Shasum {
				errs <- nil
				return
			}
			sum, err := checksum.File(filepath.Join(work, r.Filename))
			if err == nil {
				err = os.WriteFile(filepath.Join(work, r.Filename+".sha256"), []byte(sum+"  "+r.Filename+"\n"), 0o644)
			}
			errs <- err
		}()
	}
	for range results {
		if err := <-errs; err != nil {
			return nil, fmt.Errorf("checksum: %w", err)
		}
	}
	return place(o.TargetDir, work, results, format(o))
}

// format is the image's bundle format and tags (from o's description)
// for result bundle.
func format(o Options) result.Format {
	d := o.desc
	if d == nil {
		return result.Format{}
	}
	return result.Format{Pattern: d.Type.Attr["bundle_format"],
		Tags: result.NewTags(d.Name, d.Version, d.TargetArch, d.Type.Image, d.Profiles)}
}

// place moves the results and their .sha256 files from the work dir into
// the target dir and writes kiwi.result.json last, with the bundle format
// f.
func place(target, work string, results []Result, f result.Format) ([]Result, error) {
	record := result.Results{Files: map[string]result.File{}, Format: f}
	for i, r := range results {
		for _, name := range []string{r.Filename, r.Filename + ".sha256"} {
			if name != r.Filename && !r.Shasum {
				continue
			}
			if err := os.Rename(filepath.Join(work, name), filepath.Join(target, name)); err != nil {
				return nil, fmt.Errorf("move result %s: %w", name, err)
			}
		}
		results[i].Filename = filepath.Join(target, r.Filename)
		record.Files[r.Key] = results[i].File
	}
	if err := record.Write(target); err != nil {
		return nil, err
	}
	return results, nil
}

// treeSize is the space the tree's files take (allocated blocks).
func treeSize(root string) (int64, error) {
	var total int64
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (p == filepath.Join(root, "proc") || p == filepath.Join(root, "sys")) {
			return filepath.SkipDir
		}
		if d.IsDir() {
			// A directory's own size is its history (entries once
			// held), not its content: one block, so that the same
			// content sizes the same filesystem (reproducibility).
			total += 4096
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		total += (fi.Size() + 4095) / 4096 * 4096
		return nil
	})
	return total, err
}

// rootFSSize is the root filesystem size for a tree of used bytes: half
// again as much (KIWI's rule), at least 256 MiB.
func rootFSSize(used int64) int64 {
	s := used*3/2 + 64*disk.MiB
	if s < 256*disk.MiB {
		s = 256 * disk.MiB
	}
	return s
}

// treeWithout makes a hardlink copy of the root (next to it, so links
// work) in which the given directories are empty: their contents go to
// partitions of their own, and mkfs -d takes whole trees. The copy is only
// read (by mkfs), never written, so sharing inodes is safe; emptying a
// directory in the copy removes links, never the root's files.
func treeWithout(ctx context.Context, o Options, dirs ...string) (string, error) {
	farm, err := os.MkdirTemp(filepath.Dir(filepath.Clean(o.Root)), journal.TempPattern(".kiwi-tree-"))
	if err != nil {
		return "", fmt.Errorf("create tree copy: %w", err)
	}
	// find does not follow a starting point that is a symlink, so nothing
	// outside the copy is touched.
	script := `set -e
src=$1 dst=$2; shift 2
cp -a -l "$src/." "$dst/"
for d; do [ -d "$dst$d" ] && [ ! -L "$dst$d" ] && find "$dst$d" -mindepth 1 -delete; done
true`
	args := append([]string{"-c", script, "sh", o.Root, farm}, dirs...)
	if _, err := o.Run.Run(ctx, runner.Cmd{Name: "sh", Args: args}); err != nil {
		os.RemoveAll(farm)
		return "", fmt.Errorf("hardlink copy of the root without %s: %w", strings.Join(dirs, ", "), err)
	}
	return farm, nil
}
