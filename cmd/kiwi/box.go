package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kiwi-go/kiwi/box"
	"github.com/kiwi-go/kiwi/internal/arch"
	"github.com/kiwi-go/kiwi/internal/runner"
	"github.com/kiwi-go/kiwi/oci"
)

func newBoxCommand(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "box",
		Short: "Build and list the boxes system boxbuild runs builds in",
	}
	c.AddCommand(asUser(newBoxBuildCommand(g)), newBoxListCommand(g), newBoxPullDescriptionCommand(g))
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
			boxArch, err := a.arch()
			if err != nil {
				return err
			}
			b, cache, err := findBox(g, args[0], boxArch, cacheDir)
			if err != nil {
				return err
			}
			// The build's work dir in --temp-dir and its trees in the
			// shared cache are this run's: recorded, cleanup removes them
			// when the run is killed.
			release, err := claim(g, commandLine(), nil, nil)
			if err != nil {
				return err
			}
			defer release()
			e, err := box.BuildBox(cmd.Context(), boxBuildOptions(g, cache, b, boxArch))
			if err != nil {
				return flagged(err)
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

// boxBuildOptions are the options of a box build (box build, or a
// boxbuild whose box is missing) from the global ones.
func boxBuildOptions(g *globals, cache box.Cache, b *box.Box, boxArch string) box.BuildOptions {
	return box.BuildOptions{
		Box: b, Arch: boxArch, Cache: cache, SharedCacheDir: g.sharedCacheDir, TempDir: g.tempDir,
		Version: g.version, Progress: progress(), Run: runner.Runner{Log: g.log, Progress: progressEvery}, Log: g.log,
	}
}

// boxFlags are the options of the box inputs box errors are about.
var boxFlags = map[string]string{
	box.InputMemory:      "--box-memory",
	box.InputBoxKiwi:     "--box-kiwi",
	box.InputSSHKey:      "--ssh-key",
	box.InputSSHPort:     "--ssh-port",
	box.InputVirtiofs:    "--virtiofs-sharing",
	box.InputTempDir:     "--temp-dir",
	box.InputConnection:  "--connection",
	box.InputDescription: "--description",
	box.InputTarget:      "--target-dir",
	box.InputSharedCache: "--shared-cache-dir",
	box.InputSharedPath:  "--shared-path",
	box.InputKubeKind:    "--kube-kind",
	box.InputKubeFile:    "--kube-yaml",
	box.InputKubePush:    "--kube-push",
	box.InputBoxImage:    "--kube-box-image",
}

// flagged names the option in front of a box error about an input given
// by it (box.InputError).
func flagged(err error) error {
	var ie *box.InputError
	if errors.As(err, &ie) {
		if f, ok := boxFlags[ie.Input]; ok {
			return fmt.Errorf("%s: %w", f, err)
		}
	}
	return err
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

// findBox finds the box name of boxArch and the cache of built boxes
// (the cache dir option, or the default), and says which settings of the
// box config (the boxed plugin's OBS download of VM boxes) kiwi accepted
// without using.
func findBox(g *globals, name, boxArch, cacheDir string) (*box.Box, box.Cache, error) {
	b, err := box.Find(name, boxArch)
	if err != nil {
		return nil, box.Cache{}, err
	}
	if u := b.Unused(); len(u) > 0 {
		g.log.Warn("box config: settings for the boxed plugin's box download are not used (kiwi builds its VM boxes and pulls or builds the container)", "settings", strings.Join(u, "; "))
	}
	cache, err := boxCache(cacheDir)
	if err != nil {
		return nil, box.Cache{}, err
	}
	return b, cache, nil
}

func newBoxPullDescriptionCommand(g *globals) *cobra.Command {
	var target string
	var insecure bool
	c := &cobra.Command{
		Use:   "pull-description REF --target-dir DIR",
		Short: "Restore a description that boxbuild --kube-yaml pushed for its Job",
		Long: `pull-description is the first step of a Job that system boxbuild --kube-yaml
wrote for a description too big for a ConfigMap: it pulls the OCI artifact
boxbuild pushed (artifact type ` + box.DescriptionArtifactType + `) into DIR,
each layer's digest verified. The description's tree (` + box.TreeFile + `)
is unpacked by the Job afterwards.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if target == "" {
				return fmt.Errorf("pull-description needs --target-dir DIR")
			}
			return box.PullDescription(cmd.Context(), args[0], target, oci.CopyOptions{Insecure: insecure})
		},
	}
	c.Flags().StringVar(&target, "target-dir", "", "directory to restore the description into")
	c.Flags().BoolVar(&insecure, "tls-verify-off", false, "allow plain HTTP and unverified TLS (loopback registries always are)")
	return c
}
