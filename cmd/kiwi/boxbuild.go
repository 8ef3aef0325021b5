package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kiwi-go/kiwi/box"
	"github.com/kiwi-go/kiwi/build"
	"github.com/kiwi-go/kiwi/build/create"
	"github.com/kiwi-go/kiwi/build/description"
	"github.com/kiwi-go/kiwi/internal/arch"
	"github.com/kiwi-go/kiwi/internal/runner"
	"github.com/kiwi-go/kiwi/internal/userns"
)

// boxbuildFlags are boxbuild's own options (before --).
type boxbuildFlags struct {
	kiwiVersion string
	box         string
	container   bool
	listBoxes   bool
	connection  string
	kubeYAML    string
	kubeKind    string
	kubePush    string
	kubeBoxImg  string
	kubeTarget  string
	kubeCache   string
	kubeEach    bool
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
--kube-yaml FILE writes the container build as Kubernetes manifests instead
of running it: a batch/v1 Job (with --kube-kind pod a Pod, which podman 4's
kube play runs) per description given after -- (--description is
repeatable there), each with its description in a ConfigMap (or, when
bigger than a ConfigMap holds, pushed as an OCI artifact to the
--kube-push reference's tag plus -description), and no host path: the box
image carries this kiwi (made once, checked in the Job), the box's storage
is on emptyDir volumes, and with --kube-push REF the Job
pushes its results to REF as an OCI artifact (tag plus -DESCRIPTION with
several descriptions) that kiwi result pull brings back;
--kube-target-claim copies the results to a PersistentVolumeClaim (a subPath
per Job), --kube-cache-claim puts the shared cache on one. Credentials
for the push registry (podman login) go into a Secret in the same file. See
docs/kubernetes.md.

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
			return flagged(runBoxbuild(cmd, g, &o, args))
		},
	}
	f := c.Flags()
	f.StringVar(&o.box, "box", "", "box to build in (see --list-boxes)")
	f.BoolVar(&o.container, "container", false, "build in a podman container instead of a VM")
	f.BoolVar(&o.listBoxes, "list-boxes", false, "list the boxes of the box config and exit")
	f.StringVar(&o.connection, "connection", "", "podman service URI (unix://, tcp://, ssh://user@host/run/podman/podman.sock); default: $CONTAINER_HOST, else a service kiwi starts")
	f.StringVar(&o.kubeYAML, "kube-yaml", "", "write a Kubernetes manifest of the container build to FILE instead of running it")
	f.StringVar(&o.kubeKind, "kube-kind", box.KubeJob, "kind of the --kube-yaml manifest: job (batch/v1 Job) or pod (v1 Pod, for podman kube play)")
	f.StringVar(&o.kubePush, "kube-push", "", "with --kube-yaml: the Job pushes its results to registry REF as an OCI artifact (kiwi result pull REF gets them)")
	f.StringVar(&o.kubeBoxImg, "kube-box-image", "", "with --kube-yaml: the box image the Job runs, one kiwi made earlier for this kiwi and pushed where the cluster pulls (checked); default: the box with this kiwi added, in local storage")
	f.StringVar(&o.kubeTarget, "kube-target-claim", "", "with --kube-yaml: a PersistentVolumeClaim the Job copies its results to (each Job in its own subPath)")
	f.BoolVar(&o.kubeEach, "kube-job-per-profile", false, "with --kube-yaml: one Job per global --profile (each built with that profile alone) instead of one with all")
	f.StringVar(&o.kubeCache, "kube-cache-claim", "", "with --kube-yaml: a PersistentVolumeClaim for the shared cache (/var/cache/kiwi) instead of an emptyDir")
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
	f.IntVar(&o.scratchGB, "box-scratch-size", box.DefaultScratchGB, "size in GiB of the VM's sparse scratch disk (its container storage and temp data)")
	f.StringVar(&o.kiwiVersion, "kiwi-version", "", "the boxed plugin's pip install of another KIWI in the box: refused (the box runs this kiwi)")
	return c
}

// runBoxbuild checks everything, then runs the build in the box.
func runBoxbuild(cmd *cobra.Command, g *globals, o *boxbuildFlags, args []string) error {
	if cmd.Flags().Changed("kiwi-version") {
		return fmt.Errorf("--kiwi-version %s: the box runs this kiwi (%s), shared from the host, not a KIWI installed with pip; build with this kiwi, or drop --kiwi-version", o.kiwiVersion, g.version)
	}
	if o.box == "" {
		return fmt.Errorf("boxbuild needs --box NAME (kiwi system boxbuild --list-boxes lists them)")
	}
	if o.kubeYAML != "" {
		if err := box.CheckKubeKind(o.kubeKind); err != nil {
			return err
		}
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
	if o.container && o.kubeYAML == "" && !userns.HostRoot() {
		// The box container is privileged (host /dev, SYS_ADMIN, MKNOD):
		// podman gives that only to root.
		return fmt.Errorf("--container runs the build in a privileged podman container, which needs root; as an ordinary user, build in a VM (leave out --container) or write --kube-yaml for a cluster")
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
	if o.kubeYAML == "" {
		for _, name := range []string{"kube-kind", "kube-push", "kube-box-image", "kube-target-claim", "kube-cache-claim", "kube-job-per-profile"} {
			if cmd.Flags().Changed(name) {
				return fmt.Errorf("--%s needs --kube-yaml FILE", name)
			}
		}
	} else {
		if o.kubeEach && len(g.profiles) < 2 {
			return fmt.Errorf("--kube-job-per-profile: give the profiles, at least two, with the global --profile")
		}
		if o.kubePush == "" && o.kubeTarget == "" {
			return fmt.Errorf("--kube-yaml: the results need a way out of the Job: --kube-push REF (to a registry, kiwi result pull REF gets them) or --kube-target-claim NAME (a PersistentVolumeClaim)")
		}
		if len(o.sharedPaths) > 0 {
			return fmt.Errorf("--shared-path with --kube-yaml: a Job has no host paths (it runs on any node); put what the build needs into the description, or a repository it can reach")
		}
		for _, c := range []struct{ flag, name string }{{"kube-target-claim", o.kubeTarget}, {"kube-cache-claim", o.kubeCache}} {
			if c.name != "" && !box.ValidClaimName(c.name) {
				return fmt.Errorf("--%s %q: a claim name is a DNS-1123 name (lower case letters, digits, '-', '.')", c.flag, c.name)
			}
		}
		if o.kubeTarget != "" && o.kubeTarget == o.kubeCache {
			return fmt.Errorf("--kube-target-claim and --kube-cache-claim name the same claim %s: give the results and the shared cache a claim each", o.kubeTarget)
		}
		if o.kubeBoxImg != "" {
			for _, name := range []string{"no-update-check", "box-cache-dir"} {
				if cmd.Flags().Changed(name) {
					return fmt.Errorf("--%s: with --kube-box-image the Job runs that image, and no box is provided from the box cache; leave one of them out", name)
				}
			}
		}
		if o.kubePush != "" {
			if _, err := box.PushRef(o.kubePush, ""); err != nil {
				return fmt.Errorf("--kube-push: %w", err)
			}
		}
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
	sharing := box.Share9p
	switch {
	case o.virtiofs:
		sharing = box.ShareVirtiofs
	case o.sshfs:
		sharing = box.ShareSSHFS
	}
	if o.virtiofs {
		if _, err := box.FindVirtiofsd(); err != nil {
			return err
		}
		if !userns.HostRoot() {
			return fmt.Errorf("--virtiofs-sharing: virtiofsd needs root; run as root or use the default 9p sharing")
		}
	}
	memoryMB := 0
	if o.memory != "" {
		if memoryMB, err = box.ParseMemory(o.memory); err != nil {
			return err
		}
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
	var cf containerFlags
	var descs []string
	var target string
	var noContainer bool
	fs, err := parseBuildArgs(args, &pf, func(fs *pflag.FlagSet) {
		fs.StringArrayVar(&descs, "description", nil, "")
		fs.StringVar(&target, "target-dir", "", "")
		fs.BoolVar(&noContainer, "no-container", false, "")
		cf.register(fs)
	})
	if err != nil {
		return fmt.Errorf("%w (they are system build options)", err)
	}
	if o.kubeYAML != "" {
		if target != "" {
			return fmt.Errorf("--target-dir after -- with --kube-yaml: a Job's results go to --kube-push REF (kiwi result pull REF --target-dir DIR brings them here) or --kube-target-claim; leave it out")
		}
		if len(descs) == 0 {
			return fmt.Errorf("boxbuild --kube-yaml needs at least one --description DIR after --")
		}
		return writeKubeBoxbuild(cmd, g, o, descs, &pf, fs, &cf)
	}
	if len(descs) != 1 || target == "" {
		return fmt.Errorf("boxbuild needs the build's --description DIR (one; several only with --kube-yaml) and --target-dir DIR after --")
	}
	desc := descs[0]
	// The build in the box makes images of the box's arch: check the
	// description as that arch (arch= sections, the type's support).
	vg := *g
	if vg.targetArch == "" {
		vg.targetArch = boxArch
	}
	if _, _, err := checkBoxDescription(&vg, desc, &pf, &cf); err != nil {
		return err
	}
	kiwi, err := userns.Executable()
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
	bx, cache, err := findBox(g, o.box, boxArch, o.cacheDir)
	if err != nil {
		return err
	}
	if vm {
		// The box runs a kiwi of its own arch.
		if b.Kiwi, err = box.BoxKiwi(boxArch, arch.Host(), b.Kiwi, o.boxKiwi); err != nil {
			if o.boxKiwi == "" {
				return fmt.Errorf("%w (--box-kiwi FILE)", err)
			}
			return err
		}
	}
	// The box's own kiwi locks /bundle in the box, which no other box
	// sees: the host-side lock keeps a second boxbuild (or build) out of
	// this target dir. The root a container box makes in the target dir
	// is this run's to clean up if it is killed. A run writing a manifest
	// has no target dir yet, but may build the box in --temp-dir.
	locks, creates := map[string]string{b.Target: "--target-dir"}, []string{build.Root(b.Target)}
	if o.kubeYAML != "" {
		locks, creates = nil, nil
	}
	release, err := claim(g, commandLine(), locks, creates)
	if err != nil {
		return err
	}
	defer release()
	src := box.ProvideOptions{BuildOptions: boxBuildOptions(g, cache, bx, boxArch), NoUpdate: o.noUpdate}
	if vm {
		return box.BuildInVM(cmd.Context(), box.VMOptions{Source: src, VM: box.VMRun{
			Build: b, MemoryMB: memoryMB, CPUs: o.cpus, Console: o.console,
			Debug: o.debug, NoSnapshot: o.noSnapshot, NoAccel: o.noAccel, Machine: o.machine, CPU: o.cpu,
			Sharing: sharing, SSHKey: o.sshKey, SSHPort: o.sshPort, ScratchGB: o.scratchGB, TempDir: g.tempDir,
			Output: cmd.OutOrStdout(), Input: cmd.InOrStdin(), Run: runner.Runner{Log: g.log}, Log: g.log,
		}})
	}
	return box.BuildInContainer(cmd.Context(), box.ContainerOptions{
		Source: src, Connection: o.connection, Build: b, Output: cmd.OutOrStdout(),
	})
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

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// writeKubeBoxbuild writes --kube-yaml's manifests: each description is
// checked as system build checks it (for the box's arch), then box
// writes a Job per description.
func writeKubeBoxbuild(cmd *cobra.Command, g *globals, o *boxbuildFlags, descs []string, pf *prepareFlags, fs *pflag.FlagSet, cf *containerFlags) error {
	vg := *g
	if vg.targetArch == "" {
		vg.targetArch = arch.Host()
	}
	kiwi, err := userns.Executable()
	if err == nil {
		kiwi, err = filepath.EvalSymlinks(kiwi)
	}
	if err != nil {
		return fmt.Errorf("find the running kiwi binary to put into the box image: %w", err)
	}
	// One Job per description, or per description and profile.
	variants := [][]string{g.profiles}
	if o.kubeEach {
		variants = nil
		for _, p := range g.profiles {
			variants = append(variants, []string{p})
		}
	}
	var builds []box.KubeBuild
	for _, desc := range descs {
		for _, profiles := range variants {
			// lg checks the description (for the box's arch), pg is what
			// passes into the box.
			lg, pg := vg, *g
			lg.profiles, pg.profiles = profiles, profiles
			d, job, err := checkBoxDescription(&lg, desc, pf, cf)
			if err != nil {
				return err
			}
			b := box.Build{Kiwi: kiwi, Description: desc, Target: ".", SharedCache: g.sharedCacheDir,
				Global: boxGlobals(&pg), Args: passedArgs(fs)}
			if err := b.Check(); err != nil {
				return err
			}
			kb := box.KubeBuild{Build: b, Description: d.Name, Type: job.Image, Profiles: profiles}
			if o.kubeEach {
				kb.Variant = profiles[0]
			}
			builds = append(builds, kb)
		}
	}
	bx, cache, err := findBox(g, o.box, arch.Host(), o.cacheDir)
	if err != nil {
		return err
	}
	release, err := claim(g, commandLine(), nil, nil)
	if err != nil {
		return err
	}
	defer release()
	return box.BuildInContainer(cmd.Context(), box.ContainerOptions{
		Source:     box.ProvideOptions{BuildOptions: boxBuildOptions(g, cache, bx, arch.Host()), NoUpdate: o.noUpdate},
		Connection: o.connection,
		Kube: &box.KubeRequest{File: o.kubeYAML, Builds: builds, Push: o.kubePush, BoxImage: o.kubeBoxImg, Kiwi: kiwi,
			Options: box.KubeOptions{Kind: o.kubeKind, KiwiVersion: g.version, TargetClaim: o.kubeTarget, CacheClaim: o.kubeCache}},
	})
}

// checkBoxDescription checks the description of a box build as system
// build checks it (g's target arch is the box's), before any box starts.
func checkBoxDescription(g *globals, desc string, pf *prepareFlags, cf *containerFlags) (*description.Description, *create.Job, error) {
	d, err := loadForBuild(g, desc, pf)
	if err != nil {
		return nil, nil, err
	}
	job, err := build.Plan(d, g.log)
	if err != nil {
		return nil, nil, err
	}
	if err := build.CheckPush(job, cf.push); err != nil {
		return nil, nil, fmt.Errorf("--%w (after --)", err)
	}
	return d, job, nil
}
