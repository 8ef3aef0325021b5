// Package build is the prepare-then-create orchestration every command
// shares: load a description with the command line's changes, plan its
// image before any work, prepare the root, create the image, and undo
// what a failed run made.
package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kiwi-go/kiwi/build/create"
	"github.com/kiwi-go/kiwi/build/description"
	"github.com/kiwi-go/kiwi/build/pkgmanager"
	"github.com/kiwi-go/kiwi/build/prepare"
	"github.com/kiwi-go/kiwi/internal/arch"
	"github.com/kiwi-go/kiwi/internal/runner"
	"github.com/kiwi-go/kiwi/internal/timing"
	"github.com/kiwi-go/kiwi/internal/userns"
	"github.com/kiwi-go/kiwi/oci"
	"github.com/kiwi-go/kiwi/stash"
)

// Options are what a build needs besides its description.
type Options struct {
	// TargetDir receives the results; the root is made in
	// Root(TargetDir) unless Prepare.Root says otherwise.
	TargetDir string
	// Prepare are prepare's options; Root defaults as above. Store is
	// opened by Prepare when Container is set and Store is nil.
	Prepare prepare.Options
	// Container commits the prepared root to local storage, one layer
	// per phase (and reuses unchanged phases).
	Container bool
	// Load selects profiles, type and arch when create reads the root's
	// description again.
	Load description.LoadOptions
	// Container images (docker, oci): Squash makes the image the base
	// (derived_from) plus one layer, as KIWI does, instead of keeping
	// prepare's phase layers; Push copies it to these references;
	// ContainerCompress is "xz" (default) or "none"; Epoch
	// (SOURCE_DATE_EPOCH) fixes timestamps; Copy tunes registry access.
	Squash            bool
	Push              []string
	ContainerCompress string
	Epoch             *time.Time
	Copy              oci.CopyOptions
	// BundleCompress is the runtime config's bundle compression of the
	// results (nil: KIWI's default per result).
	BundleCompress *bool
	// NoPackageChanges leaves out the .changes result.
	NoPackageChanges bool
	// XZOptions replace xz's default options (the runtime config's
	// "xz: - options:") where create compresses with xz.
	XZOptions []string
	Run       runner.Runner
	Log       *slog.Logger
}

// Root is where build makes its root tree in target, as KIWI does.
func Root(target string) string { return filepath.Join(target, "build", "image-root") }

// Load reads the description in dir (lo selects file, profiles, type
// and arch) and applies the command line's changes ov.
func Load(dir string, lo description.LoadOptions, ov description.Overrides) (*description.Description, error) {
	if dir == "" {
		return nil, errors.New("no description directory given")
	}
	d, err := description.Load(dir, lo)
	if err != nil {
		return nil, err
	}
	d, err = d.Override(ov, lo)
	if err != nil {
		return nil, fmt.Errorf("changes to %s: %w", dir, err)
	}
	return d, nil
}

// Plan plans d's image (create.Plan), checks its package manager and
// repositories (pkgmanager.Check), and logs the settings that have no
// effect here. It is the check every command makes before any work.
func Plan(d *description.Description, log *slog.Logger) (*create.Job, error) {
	job, err := create.Plan(d)
	if err != nil {
		return nil, err
	}
	if err := pkgmanager.Check(d); err != nil {
		return nil, err
	}
	if job.Mounts != "" && !userns.HostRoot() {
		return nil, fmt.Errorf("%s: %s is filled through a loop mount (xfsprogs cannot fill an image from a directory), which only the host's root may make: run as root, or use ext4 or btrfs, which kiwi fills without mounting", d.File, job.Mounts)
	}
	for _, w := range job.Ignored {
		logger(log).Warn(w)
	}
	return job, nil
}

// CheckHost fails when this host lacks the program d's package manager
// runs (zypper, dnf, pacman): the check of every command that prepares a
// root here, made before any work.
func CheckHost(d *description.Description) error {
	return pkgmanager.CheckHost(d)
}

// Prepare makes the root tree of d (prepare.Run) with o.Prepare, first
// opening local storage when o.Container asks for a container.
func Prepare(ctx context.Context, d *description.Description, o Options) (*prepare.Result, error) {
	if err := CheckHost(d); err != nil {
		return nil, err
	}
	return prepareRoot(ctx, d, o)
}

// prepareRoot is Prepare for callers that checked the host already.
func prepareRoot(ctx context.Context, d *description.Description, o Options) (*prepare.Result, error) {
	po := o.Prepare
	if po.Run.Log == nil {
		po.Run = o.Run
	}
	if po.Log == nil {
		po.Log = o.Log
	}
	if (o.Container || d.Type.DerivedFrom != "") && po.Store == nil {
		store, err := oci.OpenStore(oci.StoreOptions{})
		if err != nil {
			return nil, err
		}
		defer store.Close()
		po.Store = store
	}
	if ref := d.Type.DerivedFrom; ref != "" && po.Base == "" {
		// system prepare of a derived description: the base is
		// fetched before the root is made.
		o.Prepare.Store = po.Store
		base, err := provideBase(ctx, ref, o)
		if err != nil {
			return nil, fmt.Errorf("%s: derived_from: %w", d.File, err)
		}
		po.Base = base
	}
	if po.AllowExistingRoot && po.Store != nil && po.Base == "" {
		if err := onStash(&po, logger(o.Log)); err != nil {
			return nil, err
		}
	}
	res, err := prepare.Run(ctx, d, po)
	if err != nil {
		return nil, err
	}
	if res.Image != "" {
		logger(o.Log).Info("prepared root", "root", res.Root, "container", res.Image, "reused_phases", len(res.Reused))
	} else {
		logger(o.Log).Info("prepared root", "root", res.Root)
	}
	return res, nil
}

// Build is system build: plan d's image, prepare its root, create the
// image from it. Nothing is written when the plan fails. When prepare
// fails, its fresh root is gone (prepare's guarantee) and so are the
// directories Build made for it, so the target dir is as it was.
func Build(ctx context.Context, d *description.Description, o Options) ([]create.Result, error) {
	if o.TargetDir == "" {
		return nil, errors.New("no target dir given")
	}
	job, err := Plan(d, o.Log)
	if err != nil {
		return nil, err
	}
	if err := CheckPush(job, o.Push); err != nil {
		return nil, err
	}
	if err := CheckHost(d); err != nil {
		return nil, err
	}
	if o.Prepare.Root == "" {
		o.Prepare.Root = Root(o.TargetDir)
	}
	if ref := d.Type.DerivedFrom; ref != "" && o.Prepare.Base == "" {
		// The base is fetched before anything is written, so a base
		// that does not exist leaves the target dir as it was.
		if o.Prepare.Base, err = provideBase(ctx, ref, o); err != nil {
			return nil, fmt.Errorf("%s: derived_from: %w", d.File, err)
		}
	}
	if o.Container && o.Prepare.Store == nil {
		store, err := oci.OpenStore(oci.StoreOptions{})
		if err != nil {
			return nil, err
		}
		defer store.Close()
		o.Prepare.Store = store
	}
	if res, ok, err := CachedResults(ctx, d, job, &o); err != nil || ok {
		return res, err
	}
	created, err := MkdirNew(filepath.Dir(o.Prepare.Root))
	if err != nil {
		return nil, fmt.Errorf("target dir %s: %w", o.TargetDir, err)
	}
	res, err := prepareRoot(ctx, d, o)
	if err != nil {
		RemoveEmpty(created)
		return nil, err
	}
	return CreatePrepared(ctx, res, o.TargetDir, o)
}

// CreatePrepared is Create of the root prepare just made (res), handing
// its phase layers on to the image kinds that keep them (containers).
func CreatePrepared(ctx context.Context, res *prepare.Result, target string, o Options) ([]create.Result, error) {
	var layers *create.ContainerLayers
	if res.ImageID != "" {
		layers = &create.ContainerLayers{RootImage: res.ImageID, Lower: res.Lower, LowerSnapshot: res.LowerSnapshot, Base: o.Prepare.Base}
	}
	return createFrom(ctx, res.Root, target, o, layers)
}

// CachedResults copies the results of an earlier build of the same input
// into o.TargetDir, when every phase of d's root is cached (prepare's
// phase layers) and create kept its results of that root: nothing of the
// build would change, so the root tree is not even written (it is the
// prepared image in local storage). ok is false, with nothing written,
// otherwise, and for container images (made in local storage). The state
// of d's repositories it reads for the phase keys is kept in
// o.Prepare.RepositoryState, where the prepare that follows a miss finds
// it: each repository's index is read once per build.
func CachedResults(ctx context.Context, d *description.Description, job *create.Job, o *Options) (res []create.Result, ok bool, err error) {
	if job.Kind == "container" || o.Prepare.Store == nil || o.Prepare.ClearCache {
		return nil, false, nil
	}
	if _, err := os.Lstat(o.Prepare.Root); err == nil {
		// A root that exists has no phase layers to look up (a stashed
		// one has, but is not written from cached results): its
		// repositories are read only where prepare needs them.
		return nil, false, nil
	}
	if o.Prepare.RepositoryState == nil {
		if o.Prepare.RepositoryState, err = pkgmanager.RepositoryState(ctx, d, logger(o.Log)); err != nil {
			return nil, false, err
		}
	}
	id, cached := prepare.CachedImage(ctx, d, o.Prepare)
	if id == "" {
		return nil, false, nil
	}
	res, ok, err = create.Reuse(ctx, createOptions(o.Prepare.Root, o.TargetDir, *o, &create.ContainerLayers{RootImage: id}))
	if err != nil || !ok {
		return nil, false, err
	}
	for _, ph := range cached {
		timing.Cached(ctx, ph)
	}
	logger(o.Log).Info("nothing changed since an earlier build: its results are copied, and the root tree is not written (it is the prepared image; podman image mount shows it, --clear-cache builds it all again)",
		"image", id[:12])
	return res, true, nil
}

// onStash makes a build on an existing root that is a stashed root,
// unchanged since (stash.Find), a build on that stash image: its phases
// become layers on it, keyed as a stackbuild of that stash keys them, so
// either reuses what the other built.
func onStash(po *prepare.Options, log *slog.Logger) error {
	if fi, err := os.Stat(filepath.Join(po.Root, "usr")); err != nil || !fi.IsDir() {
		return nil // no root yet, or one that is bootstrapped first
	}
	id, snap, err := stash.Find(po.Store, stash.StateDir(po.CacheDir), po.Root)
	if err != nil {
		return fmt.Errorf("compare root %s with its stash: %w", po.Root, err)
	}
	if id == "" {
		return nil
	}
	// Where prepare looks for the base's snapshot: the tree is not read
	// again.
	if err := os.MkdirAll(filepath.Dir(prepare.SnapshotFile(po.CacheDir, id)), 0o755); err != nil {
		return err
	}
	if err := snap.WriteFile(prepare.SnapshotFile(po.CacheDir, id)); err != nil {
		return fmt.Errorf("keep the stash's tree snapshot: %w", err)
	}
	log.Info("the root is a stash, unchanged since: the description's phases are kept as layers on it", "root", po.Root, "image", id[:12])
	po.Base, po.BaseTree = id, prepare.BaseStashed
	return nil
}

// provideBase finds or fetches a derived_from image into local storage.
func provideBase(ctx context.Context, ref string, o Options) (string, error) {
	store := o.Prepare.Store
	if store == nil {
		s, err := oci.OpenStore(oci.StoreOptions{})
		if err != nil {
			return "", err
		}
		defer s.Close()
		store = s
	}
	logger(o.Log).Info("providing the base image", "derived_from", description.RedactURL(ref))
	return store.Provide(ctx, ref, o.Copy)
}

// CheckPush refuses --push for images that are no container, and
// references that are none, before any work.
func CheckPush(job *create.Job, push []string) error {
	if len(push) > 0 && job.Kind != "container" {
		return fmt.Errorf("push: image type %q is no container image; only docker and oci images are pushed", job.Image)
	}
	for _, p := range push {
		if err := oci.CheckReference(p); err != nil {
			return fmt.Errorf("push %s: %w", description.RedactURL(p), err)
		}
	}
	return nil
}

// PlanRoot reads the description prepare left in root/image (with o.Load's
// selection) and plans its image, checking the root for what the image
// needs inside it. It writes nothing.
func PlanRoot(root string, o Options) (*create.Job, error) {
	d, err := loadRoot(root, o)
	if err != nil {
		return nil, err
	}
	job, err := Plan(d, o.Log)
	if err != nil {
		return nil, err
	}
	// images.sh and dracut run inside the root.
	if err := arch.CanRun(d.TargetArch); err != nil {
		return nil, err
	}
	if err := job.CheckRoot(root); err != nil {
		return nil, fmt.Errorf("%s: %w", d.File, err)
	}
	return job, nil
}

// loadRoot reads the description prepare left in root/image, with o.Load's
// selection (the file is always image/config.xml).
func loadRoot(root string, o Options) (*description.Description, error) {
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("root tree %s is not a directory", root)
	}
	lo := o.Load
	lo.KiwiFile = ""
	d, err := description.Load(filepath.Join(root, "image"), lo)
	if err != nil {
		return nil, fmt.Errorf("read the root's description (made by prepare/build in %s/image): %w", root, err)
	}
	return d, nil
}

// Create is system create: plan the type selected in root/image/config.xml
// and build it from root into target.
func Create(ctx context.Context, root, target string, o Options) ([]create.Result, error) {
	return createFrom(ctx, root, target, o, nil)
}

// createFrom is Create with the layers prepare made, when it just made the
// root (container images keep them).
func createFrom(ctx context.Context, root, target string, o Options, layers *create.ContainerLayers) ([]create.Result, error) {
	job, err := PlanRoot(root, o)
	if err != nil {
		return nil, err
	}
	if err := CheckPush(job, o.Push); err != nil {
		return nil, err
	}
	results, err := job.Run(ctx, createOptions(root, target, o, layers))
	if err != nil && noSpace(err) {
		return nil, fmt.Errorf("no space left for the image in %s (nothing was kept): free space there or choose another target dir: %w", target, err)
	}
	return results, err
}

// createOptions are create's options for root and target from o.
func createOptions(root, target string, o Options, layers *create.ContainerLayers) create.Options {
	sel := o.Load
	sel.KiwiFile, sel.Warn = "", nil
	return create.Options{
		Root: root, TargetDir: target, Run: o.Run, Log: o.Log,
		Store: o.Prepare.Store, CacheDir: o.Prepare.CacheDir, TempDir: o.Prepare.TempDir, Tool: o.Prepare.Tool,
		Layers: layers, Squash: o.Squash, Push: o.Push, Copy: o.Copy,
		ContainerCompress: o.ContainerCompress, Epoch: o.Epoch, BundleCompress: o.BundleCompress,
		NoPackageChanges: o.NoPackageChanges, XZOptions: o.XZOptions, ClearCache: o.Prepare.ClearCache,
		Selection: sel,
	}
}

// noSpace tells whether err comes from a full filesystem: our own writes
// (ENOSPC) or a tool's (mkfs, qemu-img say it in their error output).
func noSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || strings.Contains(err.Error(), "No space left on device")
}

// MkdirNew makes dir and its missing parents and returns the directories
// it made, outermost first, for RemoveEmpty.
func MkdirNew(dir string) ([]string, error) {
	var missing []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil {
			break
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err // not known to be missing: never ours to remove
		}
		missing = append([]string{d}, missing...)
		if d == filepath.Dir(d) {
			break
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		RemoveEmpty(missing)
		return nil, err
	}
	return missing, nil
}

// RemoveEmpty removes the directories MkdirNew made, innermost first,
// where they are still empty: anything written into them stays.
func RemoveEmpty(created []string) {
	for i := len(created) - 1; i >= 0; i-- {
		_ = os.Remove(created[i])
	}
}

func logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return l
}

// UpdateOptions say what system update does: install Add and uninstall
// Delete, or, with neither, upgrade every package.
type UpdateOptions struct {
	Add, Delete []string
}

// Update is system update: the package manager of the description
// prepare left in root/image, with that description's repositories,
// upgrades the root's packages, or installs u.Add and uninstalls
// u.Delete (with what only they needed, as KIWI's non-forced delete), as
// KIWI's system update does. The description, its package manager and
// the host's tool are checked before anything runs.
func Update(ctx context.Context, root string, u UpdateOptions, o Options) error {
	d, err := loadRoot(root, o)
	if err != nil {
		return err
	}
	if err := arch.CanRun(d.TargetArch); err != nil {
		return err
	}
	pm, err := pkgmanager.New(d, pkgmanager.Options{Root: root, CacheDir: o.Prepare.CacheDir, TempDir: o.Prepare.TempDir,
		SigningKeys: o.Prepare.SigningKeys, Run: o.Run, Log: o.Log})
	if err != nil {
		return err
	}
	defer pm.Close()
	log := logger(o.Log)
	if len(u.Add) == 0 && len(u.Delete) == 0 {
		log.Info("updating system", "packagemanager", d.Preferences.PackageManager)
		if err := pm.Update(ctx); err != nil {
			return err
		}
		return pm.Finish()
	}
	if len(u.Add) > 0 {
		log.Info("installing packages", "packages", strings.Join(u.Add, " "))
		if err := pm.Install(ctx, u.Add); err != nil {
			return fmt.Errorf("install %s: %w", strings.Join(u.Add, ", "), err)
		}
	}
	if len(u.Delete) > 0 {
		log.Info("removing packages", "packages", strings.Join(u.Delete, " "))
		if err := pm.Uninstall(ctx, u.Delete); err != nil {
			return fmt.Errorf("remove %s: %w", strings.Join(u.Delete, ", "), err)
		}
	}
	return pm.Finish()
}

// ParseSize reads image resize's --size: bytes, or a number with K, M
// or G (powers of 1024; KIWI takes M and G).
func ParseSize(s string) (int64, error) {
	m := regexp.MustCompile(`^([0-9]+)([kKmMgG]?)$`).FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("--size %q: give bytes, or a number with K, M or G (20G)", s)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("--size %q: %w", s, err)
	}
	shift := map[string]uint{"": 0, "k": 10, "m": 20, "g": 30}[strings.ToLower(m[2])]
	if n > math.MaxInt64>>shift {
		return 0, fmt.Errorf("--size %q is too large", s)
	}
	return n << shift, nil
}

// Resize is image resize: the description of root (the root tree of the
// build in target when root is "") selects the oem disk in target that
// grows to size bytes (create.Resize).
func Resize(ctx context.Context, root, target string, size int64, o Options) ([]string, error) {
	if root == "" {
		root = Root(target)
	}
	d, err := loadRoot(root, o)
	if err != nil {
		return nil, fmt.Errorf("%w (give the build's --root: its description names the disk)", err)
	}
	return create.Resize(ctx, d, target, size, create.Options{Run: o.Run, Log: logger(o.Log)})
}
