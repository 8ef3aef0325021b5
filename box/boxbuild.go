package box

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/kiwi-go/kiwi/build"
	"github.com/kiwi-go/kiwi/build/create"
	"github.com/kiwi-go/kiwi/build/description"
	"github.com/kiwi-go/kiwi/internal/arch"
	"github.com/kiwi-go/kiwi/internal/journal"
	"github.com/kiwi-go/kiwi/internal/runner"
	"github.com/kiwi-go/kiwi/oci"
)

// Defaults of a VM box run where neither the run nor the box config
// says otherwise.
const (
	DefaultMemoryMB  = 8192
	DefaultScratchGB = 40
)

// BuildOptions are what building a box takes.
type BuildOptions struct {
	// Box is the box to build (see Find); it must name a description
	// kiwi ships.
	Box *Box
	// Arch is the box's architecture, KIWI's name ("": the host's). A box
	// of another arch is prepared through QEMU's user-mode emulation.
	Arch string
	// Cache is the box cache that gets the new set.
	Cache Cache
	// SharedCacheDir is the build's shared cache (package downloads,
	// prepared trees).
	SharedCacheDir string
	// TempDir holds the build's work dir (the description, the prepared
	// root, the results), named for the run (journal.TempPattern), so
	// that a cleanup removes what a killed build left.
	TempDir string
	// Version is this kiwi's, recorded in the set and the image history.
	Version string
	// Progress receives progress bars of the container archive's copy: a
	// terminal, or nil to copy quietly.
	Progress io.Writer
	// Run runs the build's programs (its Log defaults to Log).
	Run runner.Runner
	Log *slog.Logger
}

// ProvideOptions say which box a run uses and how to get it.
type ProvideOptions struct {
	BuildOptions
	// NoUpdate takes a cached box as it is: no rebuild when its
	// description changed, no pull of a newer image.
	NoUpdate bool
}

// withDefaults fills what o leaves open.
func (o BuildOptions) withDefaults() BuildOptions {
	if o.Arch == "" {
		o.Arch = arch.Host()
	}
	o.Log = logger(o.Log)
	if o.Run.Log == nil {
		o.Run.Log = o.Log
	}
	return o
}

// Find returns box name of the box config (LoadConfig), checking that
// it has a variant for arch.
func Find(name, arch string) (*Box, error) {
	cfg, err := LoadConfig()
	if err != nil {
		return nil, err
	}
	b, err := cfg.Box(name)
	if err != nil {
		return nil, err
	}
	if _, err := b.ForArch(arch); err != nil {
		return nil, err
	}
	return b, nil
}

// BuildBox builds o.Box from the description kiwi ships for it, as any
// description is built (prepared, then created as a kis set), and
// installs the set in the box cache under the box's cache lock: kernel,
// initrd, root filesystem, kernel options and, for a box of the host's
// arch, the prepared root as an OCI archive (the container box).
func BuildBox(ctx context.Context, o BuildOptions) (*Entry, error) {
	o = o.withDefaults()
	unlock, err := o.Cache.Lock(o.Box.Name)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return buildBox(ctx, o)
}

// Provide returns the cached set of o.Box, building it (BuildBox) when
// the cache has none or, unless o.NoUpdate, when it was built from
// another version of the shipped description. It holds the box's cache
// lock meanwhile.
func Provide(ctx context.Context, o ProvideOptions) (*Entry, error) {
	o.BuildOptions = o.withDefaults()
	unlock, err := o.Cache.Lock(o.Box.Name)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return provide(ctx, o)
}

// provide is Provide under the box's cache lock.
func provide(ctx context.Context, o ProvideOptions) (*Entry, error) {
	b := o.Box
	e, err := o.Cache.Lookup(b.Name, o.Arch)
	if err != nil {
		return nil, err
	}
	if e != nil && b.Description != "" && !o.NoUpdate {
		digest, err := DescriptionDigest(b.Description)
		if err != nil {
			return nil, err
		}
		if digest != e.Meta.DescriptionDigest {
			o.Log.Info("the box description changed since the box was built: building it again (keep the old box with no update check)", "box", b.Name)
			e = nil
		}
	}
	if e != nil {
		return e, nil
	}
	if b.Description == "" {
		return nil, fmt.Errorf("box %s is not in the cache %s and has no description to build it from", b.Name, o.Cache.Dir)
	}
	o.Log.Info("the box is not in the cache: building it", "box", b.Name, "cache", o.Cache.Dir)
	return buildBox(ctx, o.BuildOptions)
}

// buildBox is BuildBox under the box's cache lock.
func buildBox(ctx context.Context, o BuildOptions) (*Entry, error) {
	b := o.Box
	if b.Description == "" {
		src := ""
		if len(b.Arch) > 0 {
			src = " (it comes from " + b.Arch[0].Container + " only)"
		}
		return nil, fmt.Errorf("box %s has no description to build it from%s", b.Name, src)
	}
	if _, err := b.ForArch(o.Arch); err != nil {
		return nil, err
	}
	// A box of another arch is prepared through QEMU's user-mode
	// emulation: refuse early, saying how to set it up, when it is missing.
	if err := arch.CanRun(o.Arch); err != nil {
		return nil, fmt.Errorf("box %s for %s: %w", b.Name, o.Arch, err)
	}
	foreign := o.Arch != arch.Host()
	start := time.Now()
	digest, err := DescriptionDigest(b.Description)
	if err != nil {
		return nil, err
	}
	work, err := workDir(o.TempDir)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := os.RemoveAll(work); err != nil {
			o.Log.Warn("could not remove the box build's work dir", "dir", work, "error", err)
		}
	}()
	desc := filepath.Join(work, "description")
	if err := WriteDescription(b.Description, desc); err != nil {
		return nil, err
	}
	image, results, err := o.build(ctx, desc, filepath.Join(work, "out"))
	if err != nil {
		return nil, fmt.Errorf("box %s: %w", b.Name, err)
	}
	stage, err := o.Cache.Stage(b.Name, o.Arch)
	if err != nil {
		return nil, err
	}
	installed := false
	defer func() {
		if !installed {
			os.RemoveAll(stage)
		}
	}()
	if err := placeResults(ctx, o.Run, results, stage); err != nil {
		return nil, fmt.Errorf("box %s: %w", b.Name, err)
	}
	files := []string{KernelFile, InitrdFile, RootFile, AppendFile}
	if !foreign {
		// The container box: the prepared image, as an archive any
		// podman service (local or remote) can load. A box of another
		// arch has none: container boxbuilds run the host's arch only.
		dest := "oci-archive:" + filepath.Join(stage, ContainerFile) + ":kiwi-box-" + b.Name
		if err := exportImage(ctx, image, dest, o.Progress); err != nil {
			return nil, fmt.Errorf("box %s: container archive: %w", b.Name, err)
		}
		files = append(files, ContainerFile)
	}
	e, err := o.Cache.Install(stage, Meta{
		Box: b.Name, Arch: o.Arch, Description: b.Description, DescriptionDigest: digest,
		Kiwi: o.Version, Built: time.Now(), Files: files,
	})
	if err != nil {
		return nil, err
	}
	installed = true
	o.Log.Info("box built", "box", b.Name, "arch", o.Arch, "dir", e.Dir, "took", time.Since(start).Round(time.Second))
	return e, nil
}

// build prepares the box description desc (its root into target's
// build/image-root, committed as a container image) and creates it into
// target. It returns the prepared image and the result files. The box's
// arch is its target arch; no profile or type is chosen: those of a
// user's build are not the box's.
func (o BuildOptions) build(ctx context.Context, desc, target string) (string, []create.Result, error) {
	lo := description.LoadOptions{TargetArch: o.Arch, Warn: description.WarnLog(o.Log)}
	d, err := build.Load(desc, lo, description.Overrides{})
	if err != nil {
		return "", nil, err
	}
	root := build.Root(target)
	bo := build.Options{TargetDir: target, Container: true, Load: lo, Run: o.Run, Log: o.Log}
	bo.Prepare.Root = root
	bo.Prepare.CacheDir = o.SharedCacheDir
	bo.Prepare.TempDir = o.TempDir
	bo.Prepare.Tool = "kiwi " + o.Version
	prepared, err := build.Prepare(ctx, d, bo)
	if err != nil {
		return "", nil, err
	}
	results, err := build.Create(ctx, root, target, bo)
	if err != nil {
		return "", nil, err
	}
	return prepared.Image, results, nil
}

// workDir makes the work dir of a box build in tempDir, named by
// journal.TempPattern: a run's journal record names tempDir, so `kiwi
// system cleanup` removes the dir when the run was killed.
func workDir(tempDir string) (string, error) {
	d, err := os.MkdirTemp(tempDir, journal.TempPattern("kiwi-box-"))
	if err != nil {
		return "", inputError(InputTempDir, "temp dir %s: box build work dir: %w", tempDir, err)
	}
	return d, nil
}

// boxResults map the result keys of a kis build to the files of a box set.
var boxResults = map[string]string{
	"kernel":           KernelFile,
	"initrd":           InitrdFile,
	"filesystem_image": RootFile,
	"kernel_append":    AppendFile,
}

// placeResults moves the result files of a box's kis build into the
// staged set, under their names in the set; a box description that did
// not make all of them is refused.
func placeResults(ctx context.Context, run runner.Runner, results []create.Result, stage string) error {
	missing := maps.Clone(boxResults)
	for _, r := range results {
		name, ok := missing[r.Key]
		if !ok {
			continue
		}
		if err := moveFile(ctx, run, r.Filename, filepath.Join(stage, name)); err != nil {
			return err
		}
		delete(missing, r.Key)
	}
	if len(missing) > 0 {
		keys := slices.Sorted(maps.Keys(missing))
		return fmt.Errorf("its description must build a kis set (kernel, initrd, root filesystem, append); the build made no %s", strings.Join(keys, ", "))
	}
	return nil
}

// moveFile renames src to dst, copying (sparse) across filesystems.
func moveFile(ctx context.Context, run runner.Runner, src, dst string) error {
	if err := os.Rename(src, dst); err == nil {
		return nil
	}
	if _, err := run.Run(ctx, runner.Cmd{Name: "cp", Args: []string{"--sparse=always", src, dst}}); err != nil {
		return err
	}
	return os.Remove(src)
}

// exportImage copies the image name of local storage to the transport
// reference dest.
func exportImage(ctx context.Context, name, dest string, progress io.Writer) error {
	store, err := oci.OpenStore(oci.StoreOptions{})
	if err != nil {
		return err
	}
	defer store.Close()
	src, err := store.ParseReference(name)
	if err != nil {
		return err
	}
	dst, err := store.ParseReference(dest)
	if err != nil {
		return err
	}
	_, err = oci.Copy(ctx, src, dst, oci.CopyOptions{Progress: progress})
	return err
}

// ProvideContainer makes the container image of o.Box available to the
// service (Service.ProvideImage, building the box by Provide's rules when
// it must be loaded from the cache) and returns its reference. It holds
// the box's cache lock meanwhile: two runs never build or load one box
// at once.
func ProvideContainer(ctx context.Context, svc *Service, o ProvideOptions) (string, error) {
	o.BuildOptions = o.withDefaults()
	unlock, err := o.Cache.Lock(o.Box.Name)
	if err != nil {
		return "", err
	}
	defer unlock()
	return svc.ProvideImage(ctx, o.Box, o.Arch, o.NoUpdate, func(ctx context.Context) (*Entry, error) {
		return provide(ctx, o)
	}, o.Log)
}

// ContainerOptions are a build in a container box.
type ContainerOptions struct {
	// Source is the box and how to get it; its TempDir, Run and Log serve
	// the run too.
	Source ProvideOptions
	// Connection is the podman service's URI; "" takes $CONTAINER_HOST,
	// else a service started for the run (see Connect).
	Connection string
	Build      Build
	// Kube, when set, has the builds written as Kubernetes manifests
	// (writeKubeBuilds) instead of run; Build and Output are then unused.
	Kube *KubeRequest
	// Output receives the build's output as it happens.
	Output io.Writer
}

// BuildInContainer runs the build in a container of the box (or writes
// its Kubernetes manifest): it connects to the podman service, makes the
// box image available (ProvideContainer) and runs the build
// (RunContainer). A build that failed, or wrote no exit code, is an
// error naming its log.
func BuildInContainer(ctx context.Context, o ContainerOptions) error {
	src := o.Source
	src.BuildOptions = src.withDefaults()
	if o.Kube != nil {
		return writeKubeBuilds(ctx, o)
	}
	svc, err := Connect(ctx, o.Connection, src.TempDir, runner.Runner{Log: src.Log}, src.Log)
	if err != nil {
		return err
	}
	defer svc.Close()
	image, err := ProvideContainer(ctx, svc, src)
	if err != nil {
		return err
	}
	out := o.Output
	if out == nil {
		out = io.Discard
	}
	code, err := RunContainer(ctx, svc, ContainerRun{Build: o.Build, Image: image, TempDir: src.TempDir, Output: out, Log: src.Log})
	return verdict(src.Box.Name, o.Build.Target, code, err, src.Log)
}

// VMOptions are a build in a VM box.
type VMOptions struct {
	// Source is the box and how to get it.
	Source ProvideOptions
	// VM is the run. Its Box, Entry and Arch come from Source; what it
	// leaves zero comes from the box config or the defaults (vmDefaults).
	VM VMRun
}

// BuildInVM runs the build in a VM of the box: the box is provided
// (Provide), the VM sized and run (RunVM). A build that failed, or wrote
// no exit code, is an error naming its log.
func BuildInVM(ctx context.Context, o VMOptions) error {
	src := o.Source
	src.BuildOptions = src.withDefaults()
	e, err := Provide(ctx, src)
	if err != nil {
		return err
	}
	r, err := vmDefaults(o.VM, src.BuildOptions, e)
	if err != nil {
		return err
	}
	code, err := RunVM(ctx, r)
	return verdict(src.Box.Name, r.Build.Target, code, err, src.Log)
}

// vmDefaults is r for the set e of the box src builds: memory and CPUs
// the box config's (mem_mb, else DefaultMemoryMB; processors, at least
// one), the console the arch's (VMConsole), 9p sharing, a scratch disk
// of DefaultScratchGB, this host's arch, and src's temp dir and log;
// whatever r sets is kept.
func vmDefaults(r VMRun, src BuildOptions, e *Entry) (VMRun, error) {
	r.Box, r.Entry, r.Arch = src.Box, e, src.Arch
	a, err := r.Box.ForArch(r.Arch)
	if err != nil {
		return r, err
	}
	if r.HostArch == "" {
		r.HostArch = arch.Host()
	}
	if r.MemoryMB == 0 {
		r.MemoryMB = int(r.Box.MemMB)
	}
	if r.MemoryMB == 0 {
		r.MemoryMB = DefaultMemoryMB
	}
	if r.CPUs == 0 {
		r.CPUs = max(r.Box.Processors, 1)
	}
	r.Console = VMConsole(r.Box, a, r.Console)
	if r.Sharing == "" {
		r.Sharing = Share9p
	}
	if r.ScratchGB == 0 {
		r.ScratchGB = DefaultScratchGB
	}
	if r.TempDir == "" {
		r.TempDir = src.TempDir
	}
	if r.Log == nil {
		r.Log = logger(src.Log)
	}
	if r.Run.Log == nil {
		r.Run.Log = r.Log
	}
	if r.Output == nil {
		r.Output = io.Discard
	}
	return r, nil
}

// outcome reads the exit code the box wrote into b's target dir (a
// missing one is an error: the build did not finish, and the code is -1)
// and, after a good build, names the results in kiwi.result.json by their
// host paths instead of the box's boxDir.
func outcome(b Build, boxDir string) (int, error) {
	code, err := ExitCode(b.Target)
	if err != nil {
		return -1, err
	}
	if code == 0 {
		if err := b.HostResultPaths(boxDir); err != nil {
			return code, fmt.Errorf("box build: %w", err)
		}
	}
	return code, nil
}

// verdict turns how a build in box boxName into target ended (a run's
// exit code and error) into its result: the run's error, or one for a
// non-zero exit code naming the build's log.
func verdict(boxName, target string, code int, err error, log *slog.Logger) error {
	if err != nil {
		return err
	}
	logFile := filepath.Join(target, LogFile)
	if code != 0 {
		return fmt.Errorf("the build in box %s failed with exit code %d; its log: %s", boxName, code, logFile)
	}
	logger(log).Info("box build done", "box", boxName, "target", target, "log", logFile)
	return nil
}

// logger is l, or one that drops everything.
func logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
