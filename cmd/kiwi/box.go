package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/kiwi-go/kiwi/box"
	"github.com/kiwi-go/kiwi/build"
	"github.com/kiwi-go/kiwi/internal/arch"
	"github.com/kiwi-go/kiwi/internal/runner"
	"github.com/kiwi-go/kiwi/oci"
)

func newBoxCommand(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "box",
		Short: "Build and list the boxes system boxbuild runs builds in",
	}
	c.AddCommand(newBoxBuildCommand(g), newBoxListCommand(g))
	return c
}

func newBoxBuildCommand(g *globals) *cobra.Command {
	var cacheDir string
	var a archFlags
	c := &cobra.Command{
		Use:   "build NAME [--x86_64|--aarch64]",
		Short: "Build a box from the box description kiwi ships",
		Long: `box build makes box NAME with kiwi itself: its shipped description is
prepared (the root is kept as a container image, which is the container
box) and created as a kis set (kernel, initrd and root filesystem: the VM
box). Both go into the box cache (~/.cache/kiwi/boxes, $KIWI_BOXED_CACHE_DIR)
with their checksums; the previous set of the box is replaced in one step.
Global --shared-cache-dir is used for the package downloads.

--x86_64 or --aarch64 builds the box of that architecture (default: the
host's). A box of another architecture than the host's is bootstrapped and
configured through QEMU's user-mode emulation (qemu-user-static registered
with binfmt_misc; kiwi says how when it is missing) and has no container
form: it is for VM boxbuilds only.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := box.LoadConfig()
			if err != nil {
				return err
			}
			b, err := cfg.Box(args[0])
			if err != nil {
				return err
			}
			arch, err := a.arch()
			if err != nil {
				return err
			}
			if _, err := b.ForArch(arch); err != nil {
				return err
			}
			cache, err := boxCache(cacheDir)
			if err != nil {
				return err
			}
			unlock, err := cache.Lock(b.Name)
			if err != nil {
				return err
			}
			defer unlock()
			e, err := buildBox(cmd.Context(), g, cache, b, arch)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), e.Dir)
			return nil
		},
	}
	c.Flags().StringVar(&cacheDir, "box-cache-dir", "", "box cache (default $KIWI_BOXED_CACHE_DIR, else ~/.cache/kiwi/boxes)")
	a.register(c)
	return c
}

// archFlags are --x86_64 and --aarch64, the box architecture of box build
// and boxbuild (KIWI's boxbuild options).
type archFlags struct {
	x86, aarch64 bool
}

func (a *archFlags) register(c *cobra.Command) {
	c.Flags().BoolVar(&a.x86, "x86_64", false, "box architecture x86_64 (default: the host's)")
	c.Flags().BoolVar(&a.aarch64, "aarch64", false, "box architecture aarch64 (default: the host's); on another host the box runs under TCG")
}

// arch is the chosen box architecture: the host's when neither is given.
func (a *archFlags) arch() (string, error) {
	switch {
	case a.x86 && a.aarch64:
		return "", fmt.Errorf("--x86_64 and --aarch64: choose one box architecture")
	case a.x86:
		return "x86_64", nil
	case a.aarch64:
		return "aarch64", nil
	}
	return arch.Host(), nil
}

func newBoxListCommand(g *globals) *cobra.Command {
	var cacheDir string
	c := &cobra.Command{
		Use:   "list",
		Short: "List the configured boxes and what the cache holds of them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cache, err := boxCache(cacheDir)
			if err != nil {
				return err
			}
			return listBoxes(cmd, cache)
		},
	}
	c.Flags().StringVar(&cacheDir, "box-cache-dir", "", "box cache (default $KIWI_BOXED_CACHE_DIR, else ~/.cache/kiwi/boxes)")
	return c
}

// listBoxes prints the boxes of the box config with their cache state.
func listBoxes(cmd *cobra.Command, cache box.Cache) error {
	cfg, err := box.LoadConfig()
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "# box config: %s\n", cfg.Source)
	fmt.Fprintf(w, "%-12s %-8s %-8s %-5s %-40s %s\n", "NAME", "ARCH", "MEMORY", "CPUS", "SOURCE", "CACHED")
	for _, b := range cfg.Boxes {
		for _, a := range b.Arch {
			src := a.Container
			if src == "" {
				src = "built from description " + b.Description
			}
			cached := "no"
			if e, err := cache.Lookup(b.Name, a.Name); err != nil {
				cached = "error: " + err.Error()
			} else if e != nil {
				cached = e.Meta.Built.Local().Format(time.DateTime) + " " + e.Dir
			}
			fmt.Fprintf(w, "%-12s %-8s %-8s %-5d %-40s %s\n", b.Name, a.Name, fmt.Sprintf("%dM", b.MemMB), b.Processors, src, cached)
		}
	}
	return nil
}

func boxCache(dir string) (box.Cache, error) {
	if dir == "" {
		d, err := box.DefaultCacheDir()
		if err != nil {
			return box.Cache{}, err
		}
		dir = d
	}
	return box.Cache{Dir: dir}, nil
}

// provideBox returns the cached set of box b, building it when the cache
// has none or (unless noUpdate) when it was built from another version of
// the shipped description. The caller holds the box's cache lock.
func provideBox(ctx context.Context, g *globals, cache box.Cache, b *box.Box, boxArch string, noUpdate bool) (*box.Entry, error) {
	e, err := cache.Lookup(b.Name, boxArch)
	if err != nil {
		return nil, err
	}
	if e != nil && b.Description != "" && !noUpdate {
		digest, err := box.DescriptionDigest(b.Description)
		if err != nil {
			return nil, err
		}
		if digest != e.Meta.DescriptionDigest {
			g.log.Info("the box description changed since the box was built: building it again (--no-update-check keeps the old box)", "box", b.Name)
			e = nil
		}
	}
	if e != nil {
		return e, nil
	}
	if b.Description == "" {
		return nil, fmt.Errorf("box %s is not in the cache %s and has no description to build it from", b.Name, cache.Dir)
	}
	g.log.Info("the box is not in the cache: building it", "box", b.Name, "cache", cache.Dir)
	return buildBox(ctx, g, cache, b, boxArch)
}

// buildBox builds box b from its shipped description into the cache.
func buildBox(ctx context.Context, g *globals, cache box.Cache, b *box.Box, boxArch string) (*box.Entry, error) {
	if b.Description == "" {
		return nil, fmt.Errorf("box %s has no description to build it from (it comes from %s only)", b.Name, b.Arch[0].Container)
	}
	// A box of another arch is prepared through QEMU's user-mode
	// emulation: refuse early, saying how to set it up, when it is missing.
	if err := arch.CanRun(boxArch); err != nil {
		return nil, fmt.Errorf("box %s for %s: %w", b.Name, boxArch, err)
	}
	foreign := boxArch != arch.Host()
	start := time.Now()
	digest, err := box.DescriptionDigest(b.Description)
	if err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp(g.tempDir, "kiwi-boxbuild-")
	if err != nil {
		return nil, fmt.Errorf("box build: %w (--temp-dir)", err)
	}
	defer os.RemoveAll(work)
	desc := filepath.Join(work, "description")
	if err := box.WriteDescription(b.Description, desc); err != nil {
		return nil, err
	}
	// The user's --type and --profile are for their builds, not the box's;
	// the box's arch is its target arch.
	bg := *g
	bg.types, bg.profiles, bg.targetArch = "", nil, boxArch
	var p prepareFlags
	d, err := loadForBuild(&bg, desc, &p)
	if err != nil {
		return nil, fmt.Errorf("box %s: %w", b.Name, err)
	}
	target := filepath.Join(work, "out")
	root := filepath.Join(target, "build", "image-root")
	prepared, err := build.Prepare(ctx, d, prepareOptions(&bg, root, &p))
	if err != nil {
		return nil, fmt.Errorf("box %s: %w", b.Name, err)
	}
	results, err := build.Create(ctx, root, target, buildOptions(&bg))
	if err != nil {
		return nil, fmt.Errorf("box %s: %w", b.Name, err)
	}
	stage, err := cache.Stage(b.Name, boxArch)
	if err != nil {
		return nil, err
	}
	installed := false
	defer func() {
		if !installed {
			os.RemoveAll(stage)
		}
	}()
	files := map[string]string{"kernel": box.KernelFile, "initrd": box.InitrdFile, "filesystem_image": box.RootFile, "kernel_append": box.AppendFile}
	for _, r := range results {
		if name, ok := files[r.Key]; ok {
			if err := moveFile(ctx, r.Filename, filepath.Join(stage, name)); err != nil {
				return nil, fmt.Errorf("box %s: %w", b.Name, err)
			}
			delete(files, r.Key)
		}
	}
	if len(files) > 0 {
		return nil, fmt.Errorf("box %s: its description must build a kis set (kernel, initrd, root filesystem, append); missing: %v", b.Name, files)
	}
	boxFiles := []string{box.KernelFile, box.InitrdFile, box.RootFile, box.AppendFile}
	if !foreign {
		// The container box: the prepared image, as an archive any
		// podman service (local or remote) can load. A box of another
		// arch has none: container boxbuilds run the host's arch only.
		store, err := oci.OpenStore(oci.StoreOptions{})
		if err != nil {
			return nil, err
		}
		err = exportImage(ctx, store, prepared.Image, "oci-archive:"+filepath.Join(stage, box.ContainerFile)+":kiwi-box-"+b.Name)
		store.Close()
		if err != nil {
			return nil, fmt.Errorf("box %s: container archive: %w", b.Name, err)
		}
		boxFiles = append(boxFiles, box.ContainerFile)
	}
	e, err := cache.Install(stage, box.Meta{
		Box: b.Name, Arch: boxArch, Description: b.Description, DescriptionDigest: digest,
		Kiwi: g.version, Built: time.Now(), Files: boxFiles,
	})
	if err != nil {
		return nil, err
	}
	installed = true
	g.log.Info("box built", "box", b.Name, "arch", boxArch, "dir", e.Dir, "took", time.Since(start).Round(time.Second))
	return e, nil
}

// moveFile renames src to dst, copying (sparse) across filesystems.
func moveFile(ctx context.Context, src, dst string) error {
	if err := os.Rename(src, dst); err == nil {
		return nil
	}
	if _, err := (runner.Runner{}).Run(ctx, runner.Cmd{Name: "cp", Args: []string{"--sparse=always", src, dst}}); err != nil {
		return err
	}
	return os.Remove(src)
}

// boxGlobals are the global options that pass into the box.
func boxGlobals(g *globals) []string {
	var a []string
	if g.debug {
		a = append(a, "--debug")
	}
	if g.types != "" {
		a = append(a, "--type", g.types)
	}
	for _, p := range g.profiles {
		a = append(a, "--profile", p)
	}
	if g.kiwiFile != "" {
		a = append(a, "--kiwi-file", g.kiwiFile)
	}
	if g.targetArch != "" {
		a = append(a, "--target-arch", g.targetArch)
	}
	for _, e := range g.setenv {
		a = append(a, "--setenv", e)
	}
	return a
}

// exportImage copies the local image name to the transport reference dest.
func exportImage(ctx context.Context, store *oci.Store, name, dest string) error {
	src, err := store.ParseReference(name)
	if err != nil {
		return err
	}
	dst, err := store.ParseReference(dest)
	if err != nil {
		return err
	}
	_, err = oci.Copy(ctx, src, dst, oci.CopyOptions{Progress: progress()})
	return err
}

// randomName is a short random suffix for names that must not collide.
func randomName() string {
	b := make([]byte, 5)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return hex.EncodeToString(b)
}
