package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kiwi-go/kiwi/box"
	"github.com/kiwi-go/kiwi/build"
	"github.com/kiwi-go/kiwi/internal/arch"
	"github.com/kiwi-go/kiwi/internal/runner"
)

// boxbuildFlags are boxbuild's own options (before --).
type boxbuildFlags struct {
	box         string
	container   bool
	listBoxes   bool
	connection  string
	kubeYAML    string
	kubeKind    string
	noUpdate    bool
	sharedPaths []string
	cacheDir    string

	// VM mode
	memory     string
	cpus       int
	console    string
	debug      bool
	noSnapshot bool
	noAccel    bool
	share9p    bool
	virtiofs   bool
	sshfs      bool
	sshKey     string
	sshPort    int
	machine    string
	cpu        string
	scratchGB  int
	boxKiwi    string
	arch       archFlags
}

func newBoxbuildCommand(g *globals) *cobra.Command {
	var o boxbuildFlags
	c := &cobra.Command{
		Use:   "boxbuild --box NAME [--container] [options] -- <system build options>",
		Short: "Run system build inside a box: a privileged podman container or a VM",
		Long: `boxbuild runs kiwi system build inside a box, so the host needs none of the
image-building tools. The arguments after -- are system build options and are
checked before anything starts; --description and --target-dir become the
directories shared with the box, and the global --debug, --type, --profile,
--kiwi-file, --target-arch and --setenv pass into the box. The kiwi binary
running the build in the box is this one (for a box of another arch, see
--aarch64).

The box's output is shown as it happens and kept in TARGET/boxbuild.log; the
build's exit code is in TARGET/boxbuild.exitcode. A build that leaves no exit
code failed. Nothing in the target dir is removed.

A box that is not in the box cache is obtained first: pulled from the image
reference the box config names, else built from the box description kiwi
ships (as kiwi box build NAME does).

--container runs the build in a privileged podman container (host /dev, host
network, capabilities AUDIT_WRITE, AUDIT_CONTROL, MKNOD, SYS_ADMIN) through
the podman API: the service at --connection (or $CONTAINER_HOST), else one kiwi
starts for the run and stops afterwards. The box gets its own container
storage in a scratch dir under --temp-dir, removed afterwards with the
container (also on SIGINT/SIGTERM), so any number of boxbuilds can run at once.
--kube-yaml FILE writes the same container build as a Kubernetes manifest
(a batch/v1 Job, or with --kube-kind pod a Pod that podman kube play runs)
instead of running it.

Without --container the build runs in a VM: QEMU boots the box's kernel
and initrd straight into its root filesystem (a throw-away snapshot unless
--no-snapshot), shares the directories over 9p (or virtiofs) and gives the box a sparse
scratch disk, where the build's root tree is made; the result files are
copied into the target dir and the VM powers off.

--x86_64 or --aarch64 picks the box's architecture (default: the host's);
the build in it makes images of that arch. A box of another arch than the
host's is a VM only (no --container) and runs under TCG, several times
slower. Its kiwi is kiwi-<arch> next to this binary, or --box-kiwi FILE;
build one with
  CGO_ENABLED=0 GOARCH=arm64 go build -tags "exclude_graphdriver_btrfs containers_image_openpgp" -o kiwi-aarch64 ./cmd/kiwi
The aarch64 box is a virt machine with a cortex-a57 CPU under TCG (-cpu max
and gic-version=max on an aarch64 host); --machine and --cpu replace them.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.listBoxes {
				cache, err := boxCache(o.cacheDir)
				if err != nil {
					return err
				}
				return listBoxes(cmd, cache)
			}
			return runBoxbuild(cmd, g, &o, args)
		},
	}
	f := c.Flags()
	f.StringVar(&o.box, "box", "", "box to build in (see --list-boxes)")
	f.BoolVar(&o.container, "container", false, "build in a podman container instead of a VM")
	f.BoolVar(&o.listBoxes, "list-boxes", false, "list the boxes of the box config and exit")
	f.StringVar(&o.connection, "connection", "", "podman service URI (unix://, tcp://, ssh://user@host/run/podman/podman.sock); default: $CONTAINER_HOST, else a service kiwi starts")
	f.StringVar(&o.kubeYAML, "kube-yaml", "", "write a Kubernetes manifest of the container build to FILE instead of running it")
	f.StringVar(&o.kubeKind, "kube-kind", box.KubeJob, "kind of the --kube-yaml manifest: job (batch/v1 Job) or pod (v1 Pod, for podman kube play)")
	f.BoolVar(&o.noUpdate, "no-update-check", false, "use the cached or local box as it is: no pull of a newer image, no rebuild for a changed box description")
	f.StringArrayVar(&o.sharedPaths, "shared-path", nil, "host directory to share with the box at the same path (repeatable)")
	f.StringVar(&o.cacheDir, "box-cache-dir", "", "box cache (default $KIWI_BOXED_CACHE_DIR, else ~/.cache/kiwi/boxes)")
	f.StringVar(&o.memory, "box-memory", "", "VM memory: GiB as a plain number (8), or with a unit (8G, 2048M); default: the box config's mem_mb")
	f.IntVar(&o.cpus, "box-smp-cpus", 0, "VM CPUs (default: the box config's processors)")
	f.StringVar(&o.console, "box-console", "", "VM console device (default: the box config's console for the arch, else ttyS0 on x86_64, ttyAMA0 on aarch64)")
	f.BoolVar(&o.debug, "box-debug", false, "keep the VM up after the build, its console logged in as root on this terminal")
	f.BoolVar(&o.noSnapshot, "no-snapshot", false, "let the VM write to the cached box's root filesystem (changes persist)")
	f.BoolVar(&o.noAccel, "no-accel", false, "run the VM without KVM (TCG); without it KVM is tried first and TCG taken when KVM cannot start")
	f.BoolVar(&o.share9p, "9p-sharing", false, "share the directories with the VM over 9p (the default)")
	f.BoolVar(&o.virtiofs, "virtiofs-sharing", false, "share the directories with the VM over virtiofs (needs virtiofsd and root)")
	f.BoolVar(&o.sshfs, "sshfs-sharing", false, "share the directories with the VM over sshfs, served by kiwi's own SFTP server on 127.0.0.1 (no host sshd needed)")
	f.StringVar(&o.sshKey, "ssh-key", "", "with --sshfs-sharing: private key (unencrypted OpenSSH) the box logs in with; default: one made for the run")
	f.IntVar(&o.sshPort, "ssh-port", 0, "with --sshfs-sharing: port of kiwi's SFTP server on 127.0.0.1; default: a free port")
	f.StringVar(&o.machine, "machine", "", "QEMU machine type (-machine); default: QEMU's on x86_64, virt on aarch64")
	f.StringVar(&o.cpu, "cpu", "", "QEMU CPU model (-cpu); default: QEMU's on x86_64, on aarch64 max (cortex-a57 under TCG)")
	f.StringVar(&o.boxKiwi, "box-kiwi", "", "kiwi binary to run in a VM box (default: this one; for another arch, kiwi-<arch> next to it)")
	o.arch.register(c)
	f.IntVar(&o.scratchGB, "box-scratch-size", 40, "size in GiB of the VM's sparse scratch disk (its container storage and temp data)")
	return c
}

// runBoxbuild checks everything, then runs the build in the box.
func runBoxbuild(cmd *cobra.Command, g *globals, o *boxbuildFlags, args []string) error {
	ctx := cmd.Context()
	if o.box == "" {
		return fmt.Errorf("boxbuild needs --box NAME (kiwi system boxbuild --list-boxes lists them)")
	}
	if o.kubeYAML != "" && o.kubeKind != box.KubeJob && o.kubeKind != box.KubePod {
		return fmt.Errorf("--kube-kind %q: use %s or %s", o.kubeKind, box.KubeJob, box.KubePod)
	}
	if o.kubeYAML == "" && cmd.Flags().Changed("kube-kind") {
		return fmt.Errorf("--kube-kind needs --kube-yaml FILE")
	}
	vm := !o.container && o.kubeYAML == ""
	if !vm {
		for _, name := range []string{"box-memory", "box-smp-cpus", "box-console", "box-debug", "no-snapshot", "no-accel", "machine", "cpu", "box-scratch-size", "9p-sharing", "virtiofs-sharing", "sshfs-sharing", "ssh-key", "ssh-port", "box-kiwi"} {
			if cmd.Flags().Changed(name) {
				return fmt.Errorf("--%s is a VM option; it does not apply with --container or --kube-yaml", name)
			}
		}
	} else if o.connection != "" {
		return fmt.Errorf("--connection is a container option: add --container")
	}
	boxArch, err := o.arch.arch()
	if err != nil {
		return err
	}
	if boxArch != arch.Host() && !vm {
		// A container runs the host's arch; through binfmt_misc podman
		// could run another's, but kiwi's box images carry no other
		// arch and the build's own tools (mkfs, dracut) would all be
		// emulated one by one: a VM box is the way.
		return fmt.Errorf("--%s: a container box runs this host's arch (%s) only; a box of %s runs as a VM: leave out --container and --kube-yaml (the VM runs under TCG)", boxArch, arch.Host(), boxArch)
	}
	if n := btoi(o.share9p) + btoi(o.virtiofs) + btoi(o.sshfs); n > 1 {
		return fmt.Errorf("--9p-sharing, --virtiofs-sharing and --sshfs-sharing: choose one")
	}
	if !o.sshfs && (cmd.Flags().Changed("ssh-key") || cmd.Flags().Changed("ssh-port")) {
		return fmt.Errorf("--ssh-key and --ssh-port go with --sshfs-sharing")
	}
	if o.sshKey != "" {
		if err := box.CheckSSHKey(o.sshKey); err != nil {
			return err
		}
	}
	if o.sshPort < 0 || o.sshPort > 65535 {
		return fmt.Errorf("--ssh-port %d: give a port number (1-65535), or leave it out for a free one", o.sshPort)
	}
	if o.virtiofs {
		if _, err := box.FindVirtiofsd(); err != nil {
			return err
		}
		if os.Geteuid() != 0 {
			return fmt.Errorf("--virtiofs-sharing: virtiofsd needs root; run as root or use the default 9p sharing")
		}
	}
	memoryMB := 0
	if o.memory != "" {
		mb, err := box.ParseMemory(o.memory)
		if err != nil {
			return err
		}
		memoryMB = mb
	}
	if cmd.Flags().Changed("box-smp-cpus") && o.cpus < 1 {
		return fmt.Errorf("--box-smp-cpus %d: give at least 1", o.cpus)
	}
	if o.scratchGB < 1 {
		return fmt.Errorf("--box-scratch-size %d: give at least 1 (GiB)", o.scratchGB)
	}
	// The build's own options: checked as system build checks them,
	// description included, before any box starts.
	var pf prepareFlags
	var desc, target string
	var noContainer bool
	fs, err := parseBuildArgs(args, &pf, func(fs *pflag.FlagSet) {
		fs.StringVar(&desc, "description", "", "")
		fs.StringVar(&target, "target-dir", "", "")
		fs.BoolVar(&noContainer, "no-container", false, "")
	})
	if err != nil {
		return fmt.Errorf("%w (they are system build options)", err)
	}
	if desc == "" || target == "" {
		return fmt.Errorf("boxbuild needs the build's --description DIR and --target-dir DIR after --")
	}
	// The build in the box makes images of the box's arch: check the
	// description as that arch (arch= sections, the type's support).
	vg := *g
	if vg.targetArch == "" {
		vg.targetArch = boxArch
	}
	d, err := loadForBuild(&vg, desc, &pf)
	if err != nil {
		return err
	}
	if _, err := build.Plan(d, g.log); err != nil {
		return err
	}
	kiwi, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the running kiwi binary to share with the box: %w", err)
	}
	if kiwi, err = filepath.EvalSymlinks(kiwi); err != nil {
		return fmt.Errorf("find the running kiwi binary to share with the box: %w", err)
	}
	b := box.Build{
		Kiwi: kiwi, Description: desc, Target: target, SharedCache: g.sharedCacheDir,
		SharedPaths: o.sharedPaths, Global: boxGlobals(g), Args: passedArgs(fs),
	}
	if err := b.Check(); err != nil {
		return err
	}
	cfg, err := box.LoadConfig()
	if err != nil {
		return err
	}
	bx, err := cfg.Box(o.box)
	if err != nil {
		return err
	}
	if _, err := bx.ForArch(boxArch); err != nil {
		return err
	}
	if vm {
		// The box runs a kiwi of its own arch.
		if b.Kiwi, err = box.BoxKiwi(boxArch, arch.Host(), b.Kiwi, o.boxKiwi); err != nil {
			return err
		}
	}
	cache, err := boxCache(o.cacheDir)
	if err != nil {
		return err
	}
	if o.kubeYAML == "" {
		// The box's own kiwi locks /bundle in the box, which no other
		// box sees: the host-side lock keeps a second boxbuild (or build)
		// out of this target dir.
		// The root a container box makes in the target dir is this run's
		// to clean up if it is killed.
		release, err := claim(g, commandLine(), map[string]string{b.Target: "--target-dir"},
			[]string{filepath.Join(b.Target, "build", "image-root")})
		if err != nil {
			return err
		}
		defer release()
	}
	run := runner.Runner{Log: g.log}
	if vm {
		return runVMBox(cmd, g, o, b, bx, boxArch, cache, memoryMB)
	}
	svc, err := box.Connect(ctx, o.connection, g.tempDir, run, g.log)
	if err != nil {
		return err
	}
	defer svc.Close()
	image, err := provideContainerBox(ctx, g, svc, cache, bx, boxArch, o.noUpdate)
	if err != nil {
		return err
	}
	if o.kubeYAML != "" {
		return writeKubeYAML(g, b, image, o)
	}
	code, err := box.RunContainer(ctx, svc, box.ContainerRun{
		Build: b, Image: image, TempDir: g.tempDir, Output: cmd.OutOrStdout(), Log: g.log,
	})
	return boxDone(g, bx, b, code, err)
}

// provideContainerBox makes the box's container image available to the
// service, under the box's cache lock (two boxbuilds never build or load
// the same box twice at once).
func provideContainerBox(ctx context.Context, g *globals, svc *box.Service, cache box.Cache, bx *box.Box, boxArch string, noUpdate bool) (string, error) {
	unlock, err := cache.Lock(bx.Name)
	if err != nil {
		return "", err
	}
	defer unlock()
	return svc.ProvideImage(ctx, bx, boxArch, noUpdate, func(ctx context.Context) (*box.Entry, error) {
		return provideBox(ctx, g, cache, bx, boxArch, noUpdate)
	}, g.log)
}

func writeKubeYAML(g *globals, b box.Build, image string, o *boxbuildFlags) error {
	manifest, err := box.KubeManifest(b, image, "kiwi-boxbuild-"+randomName(), o.kubeKind)
	if err != nil {
		return err
	}
	tmp := o.kubeYAML + ".tmp"
	if err := os.WriteFile(tmp, manifest, 0o644); err != nil {
		return fmt.Errorf("--kube-yaml: %w", err)
	}
	if err := os.Rename(tmp, o.kubeYAML); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("--kube-yaml: %w", err)
	}
	g.log.Info("wrote the Kubernetes manifest", "file", o.kubeYAML, "kind", o.kubeKind, "image", image)
	return nil
}

// passedArgs are the build options given after -- that go into the box:
// all but --description and --target-dir, which become the box's shares.
func passedArgs(fs *pflag.FlagSet) []string {
	var out []string
	fs.Visit(func(f *pflag.Flag) {
		if f.Name == "description" || f.Name == "target-dir" {
			return
		}
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			for _, v := range sv.GetSlice() {
				out = append(out, "--"+f.Name+"="+v)
			}
			return
		}
		out = append(out, "--"+f.Name+"="+f.Value.String())
	})
	return out
}

// runVMBox runs the build in a QEMU VM of box bx.
func runVMBox(cmd *cobra.Command, g *globals, o *boxbuildFlags, b box.Build, bx *box.Box, boxArch string, cache box.Cache, memoryMB int) error {
	ctx := cmd.Context()
	unlock, err := cache.Lock(bx.Name)
	if err != nil {
		return err
	}
	e, err := provideBox(ctx, g, cache, bx, boxArch, o.noUpdate)
	unlock()
	if err != nil {
		return err
	}
	if memoryMB == 0 {
		memoryMB = bx.MemMB
	}
	if memoryMB == 0 {
		memoryMB = 8192
	}
	cpus := o.cpus
	if cpus == 0 {
		cpus = max(bx.Processors, 1)
	}
	a, err := bx.ForArch(boxArch)
	if err != nil {
		return err
	}
	console := box.VMConsole(bx, a, o.console)
	sharing := box.Share9p
	switch {
	case o.virtiofs:
		sharing = box.ShareVirtiofs
	case o.sshfs:
		sharing = box.ShareSSHFS
	}
	code, err := box.RunVM(ctx, box.VMRun{
		Build: b, Box: bx, Entry: e, Arch: boxArch, HostArch: arch.Host(), MemoryMB: memoryMB, CPUs: cpus, Console: console,
		Debug: o.debug, NoSnapshot: o.noSnapshot, NoAccel: o.noAccel, Machine: o.machine, CPU: o.cpu,
		Sharing: sharing, SSHKey: o.sshKey, SSHPort: o.sshPort, ScratchGB: o.scratchGB, TempDir: g.tempDir, Output: cmd.OutOrStdout(), Input: cmd.InOrStdin(),
		Run: runner.Runner{Log: g.log}, Log: g.log,
	})
	return boxDone(g, bx, b, code, err)
}

// boxDone turns a box run's exit code into boxbuild's result.
func boxDone(g *globals, bx *box.Box, b box.Build, code int, err error) error {
	if err != nil {
		return err
	}
	log := filepath.Join(b.Target, box.LogFile)
	if code != 0 {
		return fmt.Errorf("the build in box %s failed with exit code %d; its log: %s", bx.Name, code, log)
	}
	g.log.Info("box build done", "box", bx.Name, "target", b.Target, "log", log)
	return nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
