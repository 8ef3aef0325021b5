package box

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kiwi-go/kiwi/internal/journal"
	"github.com/kiwi-go/kiwi/internal/runner"
)

// vmWorkTarget is the build's target dir inside a VM box, on its scratch
// disk; the box's boot service copies the results to the shared one.
const vmWorkTarget = "/scratch/bundle"

// VMRun is one build in a VM box: QEMU boots the box's kernel and initrd
// straight into its root filesystem; the box's boot service mounts the
// shares (9p or virtiofs), runs the build and powers off.
type VMRun struct {
	Build Build
	Box   *Box
	Entry *Entry
	// Arch is the box's architecture in KIWI's names (x86_64, aarch64),
	// which is also QEMU's system emulator suffix; HostArch is this
	// host's ("": the box's own). A box of another arch than the host's runs under TCG, and
	// Build.Kiwi must be a kiwi built for Arch (see BoxKiwi).
	Arch, HostArch string
	// MemoryMB and CPUs size the VM; Console is its console device.
	MemoryMB, CPUs int
	Console        string
	// Debug keeps the VM up after the build (its console on stdin/stdout).
	Debug bool
	// NoSnapshot writes to the box's root filesystem instead of a
	// throw-away overlay: changes stay in the cached box.
	NoSnapshot bool
	// NoAccel runs under TCG only; otherwise KVM is tried first and QEMU
	// falls back to TCG when KVM cannot start.
	NoAccel bool
	// Machine and CPU are QEMU's -machine and -cpu; "" takes the arch's
	// defaults (aarch64: virt, and cortex-a57 under TCG).
	Machine, CPU string
	// Sharing is how the directories reach the VM: Share9p (default),
	// ShareVirtiofs or ShareSSHFS.
	Sharing string
	// SSHKey is the private key file the box logs in with for the sshfs
	// sharing (default: one made for the run); SSHPort is the port of the
	// SFTP server kiwi runs on 127.0.0.1 for it (0: a free one).
	SSHKey  string
	SSHPort int
	// ScratchGB is the size of the box's scratch disk (container storage,
	// temp data); it is sparse, so only what the build writes is used.
	ScratchGB int
	TempDir   string
	Output    io.Writer
	Input     io.Reader
	Run       runner.Runner
	Log       *slog.Logger
}

// virtiofsdPaths are where virtiofsd lives: Debian 12's qemu-system-common
// ships QEMU's own (C) virtiofsd in /usr/lib/qemu, the virtiofsd package
// (Rust) installs /usr/libexec/virtiofsd.
var virtiofsdPaths = []string{"/usr/libexec/virtiofsd", "/usr/lib/qemu/virtiofsd"}

// FindVirtiofsd returns the virtiofsd to share directories with, or an
// error saying how to get one.
func FindVirtiofsd() (string, error) {
	if p, err := exec.LookPath("virtiofsd"); err == nil {
		return p, nil
	}
	for _, p := range virtiofsdPaths {
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", inputError(InputVirtiofs, "virtiofs sharing needs virtiofsd (Debian: qemu-system-common's /usr/lib/qemu/virtiofsd, or the virtiofsd package); or use the default 9p sharing")
}

// ParseMemory reads a box memory size: a number of GiB (KIWI's unit), or
// a number with a G or M suffix. It returns MiB.
func ParseMemory(s string) (int, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	mult := 1024
	switch {
	case strings.HasSuffix(t, "G"):
		t = strings.TrimSuffix(t, "G")
	case strings.HasSuffix(t, "M"):
		t, mult = strings.TrimSuffix(t, "M"), 1
	}
	n, err := strconv.Atoi(t)
	if err != nil || n <= 0 {
		return 0, inputError(InputMemory, "box memory %q: give GiB as a number (8), or a size with G or M (8G, 2048M)", s)
	}
	mb := n * mult
	if mb < 512 {
		return 0, inputError(InputMemory, "box memory %q: %d MiB is too little for a build box; give at least 512M", s, mb)
	}
	return mb, nil
}

// RunVM runs the build in a QEMU VM of the box and returns the build's
// exit code (read from the target dir: a missing exit code is an error).
// The per-run scratch dir (shared kiwi binary, scratch disk) is removed
// afterwards; QEMU is stopped when ctx is cancelled.
func RunVM(ctx context.Context, r VMRun) (int, error) {
	if err := r.Build.PrepareTarget(); err != nil {
		return -1, err
	}
	for _, f := range []string{KernelFile, InitrdFile, RootFile, AppendFile} {
		if !r.Entry.Has(f) {
			return -1, fmt.Errorf("box %s: the cached set %s has no %s (kiwi box build %s)", r.Box.Name, r.Entry.Dir, f, r.Box.Name)
		}
	}
	mode, err := sharingFor(r.Sharing)
	if err != nil {
		return -1, err
	}
	shares := []Mount{
		{Host: r.Build.Description, Box: boxDesc},
		{Host: r.Build.Target, Box: boxTarget},
		{Host: r.Build.SharedCache, Box: boxCache},
	}
	for _, p := range r.Build.SharedPaths {
		shares = append(shares, Mount{Host: p, Box: p})
	}
	for _, m := range shares {
		if strings.ContainsAny(m.Host, "\n\r") {
			return -1, fmt.Errorf("shared directory %q holds a line break, which a VM box cannot take", m.Host)
		}
	}
	cmdline, err := os.ReadFile(r.Entry.Path(AppendFile))
	if err != nil {
		return -1, err
	}
	scratch, err := os.MkdirTemp(r.TempDir, journal.TempPattern("kiwi-box-"))
	if err != nil {
		return -1, inputError(InputTempDir, "temp dir %s: box scratch dir: %w", r.TempDir, err)
	}
	defer func() {
		if err := os.RemoveAll(scratch); err != nil {
			r.Log.Warn("could not remove the box's scratch dir", "dir", scratch, "error", err)
		}
	}()
	share := filepath.Join(scratch, "kiwibox")
	if err := os.Mkdir(share, 0o755); err != nil {
		return -1, err
	}
	if err := linkOrCopy(ctx, r.Run, r.Build.Kiwi, filepath.Join(share, "kiwi")); err != nil {
		return -1, fmt.Errorf("share the kiwi binary with the box: %w", err)
	}
	// The build's root is made on the VM's scratch disk: 9p cannot hold
	// a root tree (debootstrap's device nodes do not work on it), and
	// the box copies the results into the shared target dir.
	args := r.Build.commandInto(vmWorkTarget)[1:]
	for _, a := range args {
		if strings.Contains(a, "\n") {
			return -1, fmt.Errorf("build argument %q holds a line break, which a VM box cannot take", a)
		}
	}
	if err := os.WriteFile(filepath.Join(share, "args"), []byte(strings.Join(args, "\n")+"\n"), 0o644); err != nil {
		return -1, err
	}
	disk := filepath.Join(scratch, "scratch.qcow2")
	if _, err := r.Run.Run(ctx, runner.Cmd{Name: "qemu-img", Args: []string{"create", "-q", "-f", "qcow2", disk, fmt.Sprintf("%dG", r.ScratchGB)}}); err != nil {
		return -1, fmt.Errorf("box scratch disk: %w", err)
	}
	qemu, foreign, err := r.qemuBase(disk)
	if err != nil {
		return -1, err
	}
	// The kiwibox share (kiwi binary, arguments, share list) is always
	// 9p: the box reads it before it knows how the rest is shared.
	qemu = append(qemu, share9p("kiwibox", share, security9p(), true)...)
	stop, err := mode.start(ctx, r, shares, scratch, share)
	defer stop()
	if err != nil {
		return -1, err
	}
	qemu = append(qemu, mode.qemuArgs(r, shares)...)
	// "shares": one "tag type port path" a line, the path last so it may
	// hold spaces. (Boxes of kiwi before sshfs and virtiofs read "mounts",
	// "tag path" lines, and are rebuilt when their description changes.)
	var lines strings.Builder
	for _, l := range mode.lines(shares) {
		lines.WriteString(l + "\n")
	}
	if err := os.WriteFile(filepath.Join(share, "shares"), []byte(lines.String()), 0o644); err != nil {
		return -1, err
	}
	appendLine, err := r.kernelAppend(string(cmdline))
	if err != nil {
		return -1, err
	}
	qemu = append(qemu, "-append", appendLine)
	if foreign {
		r.Log.Info("the box's architecture is not the host's: QEMU emulates it (TCG), so the build takes several times longer than in a box of the host's arch",
			"box_arch", r.Arch, "host_arch", r.HostArch)
	}
	r.Log.Info("starting the VM box", "box", r.Box.Name, "arch", r.Arch, "memory_mib", r.MemoryMB, "cpus", r.CPUs, "tcg_only", r.NoAccel || foreign, "snapshot", !r.NoSnapshot, "sharing", mode.name())
	c := runner.Cmd{Name: "qemu-system-" + r.Arch, Args: qemu, Stdout: r.Output}
	if r.Debug {
		c.Stdin = r.Input
	}
	if _, err := r.Run.Run(ctx, c); err != nil {
		if ctx.Err() != nil {
			return -1, fmt.Errorf("box build interrupted: %w", ctx.Err())
		}
		return -1, fmt.Errorf("the VM box failed: %w", err)
	}
	return outcome(r.Build, vmWorkTarget)
}

// qemuBase is QEMU's command line for the box without its shares and
// kernel options: memory, CPUs, serial console on stdio, user network,
// the box's kernel and initrd, accelerator, machine and CPU model of the
// box's arch, the root filesystem (a snapshot unless NoSnapshot) and the
// scratch disk. Every device is a PCI virtio one, which x86_64's pc and
// aarch64's virt machine both have. foreign tells that the box's arch is
// not the host's (it runs under TCG).
func (r VMRun) qemuBase(scratchDisk string) (args []string, foreign bool, err error) {
	hostArch := r.HostArch
	if hostArch == "" {
		hostArch = r.Arch
	}
	machine, foreign, err := machineArgs(r.Arch, hostArch, r.NoAccel, r.Machine, r.CPU)
	if err != nil {
		return nil, false, fmt.Errorf("box %s: %w", r.Box.Name, err)
	}
	args = []string{"-m", strconv.Itoa(r.MemoryMB), "-smp", strconv.Itoa(r.CPUs),
		"-display", "none", "-serial", "stdio", "-monitor", "none", "-no-reboot",
		"-nic", "user,model=virtio-net-pci",
		"-kernel", r.Entry.Path(KernelFile), "-initrd", r.Entry.Path(InitrdFile)}
	args = append(args, machine...)
	root := "file=" + r.Entry.Path(RootFile) + ",format=raw,if=virtio"
	if !r.NoSnapshot {
		root += ",snapshot=on"
	}
	args = append(args, "-drive", root, "-drive", "file="+scratchDisk+",format=qcow2,if=virtio")
	return args, foreign, nil
}

// kernelAppend is the box kernel's command line: the box set's own
// options (its append file), the console, the marker that starts the
// build service, the arch's extra options from the box config and
// kiwi.debug with --box-debug.
func (r VMRun) kernelAppend(boxCmdline string) (string, error) {
	a, err := r.Box.ForArch(r.Arch)
	if err != nil {
		return "", err
	}
	line := strings.TrimSpace(boxCmdline) + " rw console=" + r.Console + " kiwi.boxbuild"
	if len(a.Cmdline) > 0 {
		line += " " + strings.Join(a.Cmdline, " ")
	}
	if r.Debug {
		line += " kiwi.debug"
	}
	return line, nil
}

// startVirtiofsd serves dir on the vhost-user socket sock for one VM and
// returns how to stop it. virtiofsd serves one guest and ends when QEMU
// closes the socket; stop ends it in any case.
func startVirtiofsd(ctx context.Context, r VMRun, sock, dir string) (func(), error) {
	bin, err := FindVirtiofsd()
	if err != nil {
		return nil, err
	}
	// Two virtiofsd exist with different options: QEMU's C one (Debian 12's
	// /usr/lib/qemu/virtiofsd) and the Rust one, which names the shared
	// directory --shared-dir. Both would otherwise raise the file limit,
	// which needs CAP_SYS_RESOURCE (containers and some VMs lack it).
	help, _ := r.Run.Run(ctx, runner.Cmd{Name: bin, Args: []string{"--help"}})
	var args []string
	if strings.Contains(string(help), "--shared-dir") {
		args = []string{"--socket-path=" + sock, "--shared-dir=" + dir, "--cache=auto", "--rlimit-nofile=0"}
	} else {
		if strings.Contains(dir, ",") {
			return nil, inputError(InputVirtiofs, "virtiofs sharing: QEMU's virtiofsd cannot share %s (a comma in the path); rename it or use the default 9p sharing", dir)
		}
		// -f: in the foreground, so it stays in its process group and
		// stops with kiwi.
		args = []string{"--socket-path=" + sock, "-o", "source=" + dir, "-o", "cache=auto", "-f", "--rlimit-nofile=0"}
	}
	var out strings.Builder
	p, err := r.Run.Start(ctx, runner.Cmd{Name: bin, Args: args, Stdout: &out})
	if err != nil {
		return nil, fmt.Errorf("virtiofsd for %s: %w", dir, err)
	}
	stop := func() {
		early := false
		select {
		case <-p.Exited():
			early = true
		default:
		}
		if err := p.Stop(5 * time.Second); err != nil {
			r.Log.Warn("could not stop virtiofsd", "dir", dir, "error", err)
		}
		// Stopped, its output is complete and can be read.
		if early && p.Err() != nil {
			r.Log.Warn("virtiofsd ended before the VM", "dir", dir, "error", p.Err(), "output", strings.TrimSpace(out.String()))
		} else {
			r.Log.Debug("virtiofsd stopped", "dir", dir, "output", strings.TrimSpace(out.String()))
		}
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if _, err := os.Stat(sock); err == nil {
			return stop, nil
		}
		select {
		case <-p.Exited():
			return nil, fmt.Errorf("virtiofsd for %s ended at once: %v: %s", dir, p.Err(), strings.TrimSpace(out.String()))
		case <-ctx.Done():
			stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	stop()
	return nil, fmt.Errorf("virtiofsd for %s made no socket within 10 s", dir)
}

// linkOrCopy puts src at dst: a hard link when both are on one
// filesystem, else a copy.
func linkOrCopy(ctx context.Context, run runner.Runner, src, dst string) error {
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	_, err := run.Run(ctx, runner.Cmd{Name: "cp", Args: []string{src, dst}})
	return err
}
