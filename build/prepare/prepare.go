package prepare

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/kiwi-go/kiwi/build/description"
	"github.com/kiwi-go/kiwi/build/pkgmanager"
	"github.com/kiwi-go/kiwi/internal/arch"
	"github.com/kiwi-go/kiwi/internal/chroot"
	"github.com/kiwi-go/kiwi/internal/runner"
	"github.com/kiwi-go/kiwi/internal/timing"
	"github.com/kiwi-go/kiwi/oci"
)

// Options are the inputs of Prepare.
type Options struct {
	// Root is the root tree to make (or, with AllowExistingRoot, to
	// build on).
	Root              string
	AllowExistingRoot bool
	// CacheDir is the shared cache: downloaded packages (apt/) and the
	// tree snapshots of prepared layers (prepare/).
	CacheDir string
	TempDir  string
	// Store, when set, receives the prepared root as a container image,
	// one layer per phase, and gives back unchanged phases next time.
	Store *oci.Store
	// ClearCache runs every phase again and refreshes the repository
	// lists, whatever is cached.
	ClearCache bool
	// SigningKeys are key files the package manager trusts for the
	// repositories (--signing-key).
	SigningKeys []string
	// Tool names this kiwi (and its version) in image history.
	Tool string
	// Base is the local image a fresh root starts from instead of a
	// bootstrap (the description's derived_from, provided by the
	// caller); its layers stay the lowest of the prepared image.
	Base string
	// BaseTree is what Root holds of Base when Prepare starts.
	BaseTree BaseTree
	// RepositoryState is the state of the build's repositories
	// (pkgmanager.RepositoryState, part of the phase keys) when the
	// caller read it already for CachedImage; nil: Prepare reads it.
	RepositoryState []string
	Run             runner.Runner
	Log             *slog.Logger
}

// BaseTree says whether Root holds Base's tree already, and so how it is
// built on.
type BaseTree int

const (
	// BaseAbsent: Root does not hold Base. A fresh root gets Base's tree
	// (or a cached phase image's) written into it.
	BaseAbsent BaseTree = iota
	// BaseComposed: Root exists and holds Base's tree (a stack composed
	// into it and committed as Base just now, so no phase can be cached
	// on it). It is built on like a fresh root from Base, and removed
	// when Prepare fails.
	BaseComposed
	// BaseStashed: Root exists (AllowExistingRoot) and holds exactly
	// Base's tree (a stashed root, unchanged since: stash.Find). The
	// phases are looked up and committed on Base as on a fresh root from
	// Base, but the root is the caller's: it is not removed when Prepare
	// fails (as any existing root, it is left as the failure left it;
	// storage keeps Base), and cached phases replace its tree.
	BaseStashed
)

// ErrRootExists is Run's error for an existing root it was not allowed
// to build on.
var ErrRootExists = errors.New("already exists")

// Result is what Prepare made.
type Result struct {
	Root string
	// Image is the prepared container (localhost/<name>:<version>) and
	// ImageID its ID; empty for a root built on an existing one.
	Image, ImageID string
	// Reused are the phases taken from cached layers.
	Reused []string
	// Lower is the image of the packages phase (the bootstrap and
	// packages layers, on the base), LowerSnapshot its tree snapshot
	// file: what a container's own layer goes on.
	Lower, LowerSnapshot string
}

// Run turns a description into a root tree, in KIWI's order:
// bootstrap (an empty root gets the bootstrap packages from the
// description's repositories), image packages with the root's own
// package manager, then the description imported into /image, .profile,
// overlay files, archives and files, users, keytable/locale/timezone,
// config.sh, uninstall and delete packages, and clean-up.
//
// With o.Store the three phases (bootstrap, packages, configuration) are
// also layers of the container localhost/<name>:<version>; a phase whose
// inputs did not change since an earlier prepare is applied from its
// layer instead of being run.
//
// A root that did not exist is removed again when Prepare fails; an
// existing root (AllowExistingRoot) is left as the failure left it.
// Nothing stays mounted: every command in the root runs in a private
// mount namespace.
func Run(ctx context.Context, d *description.Description, o Options) (res *Result, err error) {
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Tool == "" {
		o.Tool = "kiwi"
	}
	// New checks the manager, its repositories and the host's tool
	// before anything is made (its private configuration dir goes with
	// Close).
	pm, err := pkgmanager.New(d, pkgmanager.Options{Root: o.Root, CacheDir: o.CacheDir, TempDir: o.TempDir,
		SigningKeys: o.SigningKeys, Run: o.Run, Log: o.Log})
	if err != nil {
		return nil, err
	}
	defer pm.Close()
	if err := arch.CanRun(d.TargetArch); err != nil {
		return nil, err
	}
	fresh, err := checkRoot(o.Root, o.AllowExistingRoot || o.BaseTree == BaseComposed)
	if err != nil {
		return nil, err
	}
	if o.BaseTree != BaseAbsent && (o.Base == "" || o.Store == nil) {
		return nil, errors.New("a root holding a base image needs the base and local storage")
	}
	switch o.BaseTree {
	case BaseComposed:
		fresh = true
	case BaseStashed:
		if fresh {
			return nil, errors.New("building on a stashed root needs that root")
		}
	}
	if o.Base != "" && fresh && o.Store == nil {
		return nil, fmt.Errorf("%s: derived_from: building on a base image needs local storage (the root is committed as a container)", d.File)
	}
	if o.Base != "" && !fresh && o.BaseTree == BaseAbsent {
		o.Log.Warn("the root exists: it is built on as it is, and the derived_from image is not put under it", "root", o.Root)
		o.Base = ""
	}
	if fresh {
		if err := os.MkdirAll(o.Root, 0o755); err != nil {
			return nil, fmt.Errorf("create root %s: %w", o.Root, err)
		}
		defer func() {
			if err != nil {
				if m := mountsBelow(o.Root); len(m) > 0 {
					// Never remove through a mount into the host.
					o.Log.Warn("not removing the unfinished root: something is mounted in it", "root", o.Root, "mounts", strings.Join(m, " "))
					return
				}
				if rerr := os.RemoveAll(o.Root); rerr != nil {
					o.Log.Warn("could not remove the unfinished root", "root", o.Root, "error", rerr)
				}
			}
		}()
	}
	if o.ClearCache {
		if err := pm.ClearCache(); err != nil {
			return nil, err
		}
	}
	p := &preparation{d: d, o: o, pm: pm, set: setup{d: d, root: o.Root, run: o.Run, revision: strings.TrimPrefix(o.Tool, "kiwi ")}}
	if (!fresh && o.BaseTree != BaseStashed) || o.Store == nil {
		// A root built on an existing one (a stack, a root from
		// elsewhere) has no phase layers of its own to reuse.
		for _, ph := range phases {
			// The bootstrap phase skips a root that has a /usr; an
			// empty directory is bootstrapped.
			if err := p.run(ctx, ph); err != nil {
				return nil, err
			}
		}
		return &Result{Root: o.Root}, nil
	}
	return p.layered(ctx)
}

// emptyDir removes everything in dir.
func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// mountsBelow lists the mount points at or under dir.
func mountsBelow(dir string) []string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil
	}
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return nil
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) > 1 && (f[1] == abs || strings.HasPrefix(f[1], abs+"/")) {
			out = append(out, f[1])
		}
	}
	return out
}

// checkRoot tells whether root must be made from nothing. An existing
// root needs allowExisting; one with a /usr is built on as it is.
func checkRoot(root string, allowExisting bool) (fresh bool, err error) {
	if root == "" {
		return false, errors.New("no root directory given (--root)")
	}
	fi, err := os.Stat(root)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return true, nil
	case err != nil:
		return false, err
	case !fi.IsDir():
		return false, fmt.Errorf("root %s exists and is not a directory", root)
	case !allowExisting:
		return false, fmt.Errorf("root directory %s: %w: remove it, pick another, or allow building on an existing root (nothing was changed)", root, ErrRootExists)
	}
	if _, err := os.Stat(filepath.Join(root, "usr")); err != nil {
		entries, rerr := os.ReadDir(root)
		if rerr != nil {
			return false, rerr
		}
		if len(entries) > 0 {
			return false, fmt.Errorf("root directory %s is neither empty nor a root tree (no /usr): refusing to bootstrap into it", root)
		}
		// An empty directory is filled like a new root, but not
		// removed on failure: it was the caller's.
		return false, nil
	}
	return false, nil
}

// preparation is one run of Prepare.
type preparation struct {
	d   *description.Description
	o   Options
	pm  pkgmanager.Manager
	set setup
}

// run runs one phase on the root.
func (p *preparation) run(ctx context.Context, phase string) error {
	log := p.o.Log
	defer timing.Start(ctx, phase)()
	switch phase {
	case phaseBootstrap:
		if _, err := os.Stat(filepath.Join(p.o.Root, "usr")); err == nil {
			log.Info("existing root: no bootstrap", "root", p.o.Root)
			return nil
		}
		if bp := p.d.Packages["bootstrap"]; bp != nil && bp.BootstrapPackage != "" {
			log.Warn("bootstrap_package is not used: the root is bootstrapped with the packagemanager's own way", "package", bp.BootstrapPackage)
		}
		pkgs := pkgmanager.Wanted(p.d, "bootstrap")
		log.Info("bootstrapping the root", "packagemanager", p.d.Preferences.PackageManager, "packages", len(pkgs))
		if err := p.pm.Bootstrap(ctx, pkgs); err != nil {
			return err
		}
		return p.set.postBootstrap(ctx, log)
	case phasePackages:
		want := pkgmanager.Wanted(p.d, "image", p.d.Type.Image)
		if len(want) == 0 {
			return nil
		}
		have, err := p.pm.Installed(ctx)
		if err != nil {
			return err
		}
		miss := pkgmanager.Missing(want, have)
		if len(miss) == 0 {
			// Nothing to fetch: no repository is needed, so a stack
			// with everything in it builds offline.
			log.Info("all image packages are installed already", "packages", len(want))
			return nil
		}
		log.Info("installing image packages", "packagemanager", p.d.Preferences.PackageManager, "packages", len(miss))
		if err := p.pm.Install(ctx, miss); err != nil {
			return err
		}
		return p.pm.Finish()
	case phaseConfig:
		return p.configure(ctx)
	}
	return fmt.Errorf("unknown phase %q", phase)
}

// configure is the configuration phase: everything after the packages.
func (p *preparation) configure(ctx context.Context) error {
	s, log := p.set, p.o.Log
	steps := []struct {
		name string
		do   func() error
	}{
		{"import description", s.importDescription},
		{"write .profile", s.writeProfile},
		{"overlay files", func() error { return s.overlay(ctx) }},
		{"archives and files", func() error { return s.archivesAndFiles(ctx) }},
		{"users", func() error { return s.users(ctx) }},
		{"keytable, locale, timezone", s.localization},
		{"config.sh", func() error { return s.script(ctx, "config.sh") }},
		{"uninstall packages", func() error { return p.pm.Uninstall(ctx, p.d.PackageNames("uninstall")) }},
		{"delete packages", func() error { return p.deletePackages(ctx) }},
		{"clean up", p.cleanUp},
	}
	if p.d.Type.DeltaRoot {
		// KIWI's last entry points into a delta root, when its overlay
		// is finalized: config-overlay.sh in the root, then
		// config-host-overlay.sh on the host in the root dir; then the
		// base's system files list is touched so the delta carries it.
		steps = append(steps, []struct {
			name string
			do   func() error
		}{
			{"config-overlay.sh", func() error { return s.script(ctx, "config-overlay.sh") }},
			{"config-host-overlay.sh", func() error { return chroot.HostScript(ctx, p.o.Run, p.o.Root, "config-host-overlay.sh") }},
			{"system files", s.touchSystemFiles},
		}...)
	}
	for _, st := range steps {
		log.Info(st.name)
		if err := st.do(); err != nil {
			return err
		}
	}
	return nil
}

// deletePackages removes the delete section's packages that are
// installed; the others are skipped (kiwi-ng 9.24 fails the build on
// them, which makes one description unusable across releases).
func (p *preparation) deletePackages(ctx context.Context) error {
	want := p.d.PackageNames("delete")
	if len(want) == 0 {
		return nil
	}
	have, err := p.pm.Installed(ctx)
	if err != nil {
		return err
	}
	var del []string
	for _, n := range want {
		if have[n] {
			del = append(del, n)
		}
	}
	return p.pm.Delete(ctx, del)
}

// cleanUp removes what the build left in the root for itself.
func (p *preparation) cleanUp() error {
	if err := p.pm.Finish(); err != nil {
		return err
	}
	for _, dir := range []string{"var/lib/kiwi"} {
		d := filepath.Join(p.o.Root, dir)
		if entries, err := os.ReadDir(d); err == nil && len(entries) == 0 {
			if err := os.Remove(d); err != nil {
				return err
			}
		}
	}
	return nil
}

// CachedImage returns the image a fresh root of d would be copied from
// because every phase of it is cached (and the phases), else "". It
// writes nothing: a caller whose results of that image are cached too
// needs no root at all.
func CachedImage(ctx context.Context, d *description.Description, o Options) (string, []string) {
	if o.Store == nil || o.ClearCache || o.BaseTree == BaseComposed {
		return "", nil
	}
	if _, err := os.Lstat(o.Root); err == nil {
		return "", nil // not a fresh root: no phase layers
	}
	if o.Tool == "" {
		o.Tool = "kiwi"
	}
	state := o.RepositoryState
	if state == nil {
		// Quiet: the prepare that follows a miss logs what it finds.
		var err error
		if state, err = pkgmanager.RepositoryState(ctx, d, nil); err != nil {
			return "", nil
		}
	}
	keys, err := phaseKeys(d, o.Tool, o.SigningKeys, o.Base, state)
	if err != nil {
		return "", nil
	}
	cache := &phaseCache{store: o.Store, name: strings.ToLower(d.Name)}
	if n, id := cache.deepest(keys); n == len(phases) {
		return id, phases
	}
	return "", nil
}

// layered runs the phases on a fresh root, each committed as a layer,
// reusing the cached ones from the bottom up.
func (p *preparation) layered(ctx context.Context) (*Result, error) {
	d, o := p.d, p.o
	state := o.RepositoryState
	if state == nil {
		var err error
		if state, err = pkgmanager.RepositoryState(ctx, d, o.Log); err != nil {
			return nil, err
		}
	}
	keys, err := phaseKeys(d, o.Tool, o.SigningKeys, o.Base, state)
	if err != nil {
		return nil, err
	}
	cache := &phaseCache{
		store: o.Store, name: strings.ToLower(d.Name), author: d.Info.Author, tool: o.Tool,
		tempDir: o.TempDir, state: filepath.Join(o.CacheDir, "prepare"), log: o.Log,
		arch: arch.OCI(d.TargetArch),
	}
	res := &Result{Root: o.Root}
	done, id := 0, ""
	if !o.ClearCache && o.BaseTree != BaseComposed {
		// (A root that holds its base was composed for a base image just
		// made: no phase can be cached on it.)
		done, id = cache.deepest(keys)
	}
	var snap *oci.Snapshot
	// Whether the root holds the base's tree now.
	baseInRoot := o.BaseTree != BaseAbsent
	if done > 0 {
		res.Reused = append(res.Reused, phases[:done]...)
		for _, ph := range res.Reused {
			timing.Cached(ctx, ph)
		}
		o.Log.Info("reusing cached phases", "phases", strings.Join(res.Reused, ", "), "image", id[:12])
		if o.BaseTree == BaseStashed {
			// The root is the base's tree, which the cached image
			// holds below its phases: it is written again whole.
			if err := emptyDir(o.Root); err != nil {
				return nil, err
			}
			baseInRoot = false
		}
		end := timing.Start(ctx, "restore")
		snap, err = cache.restore(ctx, o.Run, id, o.Root)
		end()
		if errors.Is(err, errDamaged) {
			// Never built on: the phases run again, and their new
			// layers (new times, so new layer IDs) replace the damaged.
			o.Log.Warn("a cached phase image is damaged: its phases run again", "error", err)
			cache.forget(keys[:done])
			if err := emptyDir(o.Root); err != nil {
				return nil, err
			}
			res.Reused, done, id, err = nil, 0, "", nil
		}
		if err != nil {
			return nil, err
		}
	}
	if done == 0 && o.Base != "" {
		// The base takes the place of the bootstrap: its tree is the
		// root's start and its image the parent of the phase layers.
		if baseInRoot {
			snap, err = cache.snapshot(o.Base, o.Root)
		} else {
			o.Log.Info("putting the base image under the root", "image", o.Base[:12])
			end := timing.Start(ctx, "restore")
			snap, err = cache.restore(ctx, o.Run, o.Base, o.Root)
			end()
		}
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(cache.state, 0o755); err != nil {
			return nil, err
		}
		if err := snap.WriteFile(cache.snapshotFile(o.Base)); err != nil {
			return nil, fmt.Errorf("keep the base's tree snapshot: %w", err)
		}
		id = o.Base
	}
	for i := done; i < len(phases); i++ {
		if err := p.run(ctx, phases[i]); err != nil {
			return nil, err
		}
		end := timing.Start(ctx, "layers")
		id, snap, err = cache.commit(ctx, o.Root, id, phases[i], keys[i], snap)
		end()
		if err != nil {
			return nil, err
		}
	}
	version := d.Version
	if version == "" {
		version = "latest"
	}
	if res.Image, err = cache.tag(id, version); err != nil {
		return nil, err
	}
	res.ImageID = id
	if img, err := o.Store.Image(cache.ref(phasePackages, keys[1])); err == nil {
		res.Lower, res.LowerSnapshot = img.ID, cache.snapshotFile(img.ID)
	}
	// Where storage keeps its layers unpacked, the next prepare writes
	// the tree from them (Store.Unpack) as fast as it would copy a kept
	// tree; only elsewhere is a copy worth its time and space.
	if keeps, _, _ := o.Store.KeepsLayerDirs(); !keeps {
		if err := cache.keepTree(ctx, o.Run, id, o.Root); err != nil {
			o.Log.Warn("the prepared tree was not cached; the next prepare applies its layers", "error", err)
		}
	}
	cache.prune()
	return res, nil
}
