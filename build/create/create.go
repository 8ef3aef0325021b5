package create

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
	"strings"
	"sync"
	"time"

	"github.com/kiwi-go/kiwi/boot"
	"github.com/kiwi-go/kiwi/disk"
	"github.com/kiwi-go/kiwi/internal/checksum"
	"github.com/kiwi-go/kiwi/internal/chroot"
	"github.com/kiwi-go/kiwi/internal/journal"
	"github.com/kiwi-go/kiwi/internal/runner"
)

// Options are the inputs of create.
type Options struct {
	Root      string
	TargetDir string
	Run       runner.Runner
	Log       *slog.Logger
}

// Result is one file create made.
type Result struct {
	Key      string `json:"-"`
	Filename string `json:"filename"`
	Compress bool   `json:"compress"`
	Shasum   bool   `json:"shasum"`
	Bundle   bool   `json:"use_for_bundle"`
}

// OEM turns the root tree into an oem disk image in the target dir:
// <base>.raw (and <base>.<format>), <base>.packages, <base>.verified,
// checksums and kiwi.result.json.
//
// Nothing is mounted and no loop device is used: filesystems are filled
// from the root directory straight into the disk image file. The root tree
// gets the files a booting system needs (fstab, grub.cfg, the initrd).
// Results appear in the target dir only when all of them are complete; a
// failure leaves the target dir as it was.
func OEM(ctx context.Context, t DiskType, o Options) ([]Result, error) {
	o, work, err := begin(ctx, o)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	log := o.Log
	base := fmt.Sprintf("%s.%s-%s", t.Name, t.Arch, t.Version)
	kernel, err := boot.FindKernel(o.Root)
	if err != nil {
		return nil, err
	}
	log.Info("kernel", "version", kernel.Version)

	used, err := treeSize(o.Root)
	if err != nil {
		return nil, err
	}
	spec := disk.Spec{
		Arch: t.Arch, Firmware: t.Firmware, ForceMBR: t.ForceMBR, EFIPartTable: t.EFIPartTable,
		ESPSize: t.ESPSize, SwapSize: t.SwapSize, RootFS: t.Filesystem, RootLabel: t.RootLabel,
		RootSize: rootFSSize(used),
	}
	if spec.Firmware == "" {
		spec.Firmware = "bios"
	}
	if t.SpareSize > 0 {
		spec.Spares = []disk.Spare{{Size: t.SpareSize, Filesystem: t.SpareFilesystem, Last: t.SpareLast}}
		if t.SpareLast && t.OEMResize {
			log.Warn("spare_part_is_last: the root partition cannot grow on first boot, the spare partition follows it")
		}
		if t.SpareMountpoint != "" {
			dir := filepath.Join(o.Root, t.SpareMountpoint)
			fi, err := os.Lstat(dir)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				if err := os.MkdirAll(dir, 0o755); err != nil {
					return nil, fmt.Errorf("spare_part_mountpoint: %w", err)
				}
			case err != nil:
				return nil, fmt.Errorf("spare_part_mountpoint: %w", err)
			case !fi.IsDir():
				return nil, fmt.Errorf("spare_part_mountpoint=%q is not a directory in the root tree (a %s): it must be a real directory", t.SpareMountpoint, fi.Mode().Type())
			}
		}
	}
	if t.BootPartition {
		spec.BootSize = t.BootPartSize
		if spec.BootSize == 0 {
			spec.BootSize = 300 * disk.MiB
		}
		spec.BootFS = t.BootFilesystem
	}
	if t.Size > 0 {
		if t.SizeAdditive {
			plan, err := disk.Plan(spec)
			if err != nil {
				return nil, err
			}
			spec.DiskSize = plan.Size + t.Size
		} else {
			spec.DiskSize = t.Size
		}
	}
	layout, err := disk.Plan(spec)
	if err != nil {
		return nil, fmt.Errorf("partition plan: %w", err)
	}
	for _, p := range layout.Partitions {
		log.Debug("partition", "number", p.Number, "role", p.Role, "start_mib", p.Start/disk.MiB, "size_mib", p.Size/disk.MiB, "fs", p.Filesystem)
	}

	ids := newIdentities(layout)
	if err := writeFstab(o.Root, layout, ids, t); err != nil {
		return nil, err
	}
	bootPart := layout.Find(disk.RoleBoot)
	bootUUID, kernelDir, grubDir := ids.fsUUID[disk.RoleRoot], "/boot", "/boot/grub"
	if bootPart != nil {
		bootUUID, kernelDir, grubDir = ids.fsUUID[disk.RoleBoot], "/", "/grub"
	}
	menu := boot.Menu{
		Title: t.DisplayName, BootUUID: bootUUID, KernelDir: kernelDir, Kernel: kernel,
		Cmdline: kernelCmdline(t, ids), Timeout: t.BootTimeout,
		Serial: strings.Contains(t.Console, "serial"), Console: t.Console,
	}
	if err := os.MkdirAll(filepath.Join(o.Root, "boot/grub"), 0o755); err != nil {
		return nil, err
	}

	// The package list and verification only read the tree's package
	// files: they run while the initrd and the disk are made.
	packages := startPackageResults(ctx, o, work, base)
	defer packages()

	log.Info("building initrd (dracut)")
	start := time.Now()
	if err := boot.MakeInitrd(ctx, o.Run, o.Root, kernel, boot.InitrdOptions{Resize: t.OEMResize}); err != nil {
		return nil, err
	}
	log.Debug("initrd done", "took", time.Since(start).Round(time.Millisecond))

	// grub.cfg comes last among the root's files: the root's own
	// grub-mkconfig lists the kernels and initrds it finds in /boot.
	if err := writeGrubConfig(ctx, o, t, layout, ids, menu, work); err != nil {
		return nil, err
	}

	// With a boot partition, the root filesystem is filled from a hardlink
	// copy of the tree whose /boot is empty (mkfs -d takes whole
	// directories); /boot goes to its own partition.
	rootDir := o.Root
	var own []string
	if layout.Find(disk.RoleBoot) != nil {
		own = append(own, "/boot")
	}
	if t.SpareMountpoint != "" {
		own = append(own, t.SpareMountpoint)
	}
	if len(own) > 0 {
		farm, err := treeWithout(ctx, o, own...)
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(farm)
		rootDir = farm
	}

	// Filesystems that cannot be made in place are made first: their tools
	// decide how much room the tree takes (mkfs.btrfs --rootdir grows its
	// file when the estimate was short), and the plan follows.
	var rootFile string
	if !disk.InPlace(t.Filesystem) {
		rootFile = filepath.Join(work, "root.img")
		rp := layout.Find(disk.RoleRoot)
		log.Info("making filesystem", "role", "root", "fs", t.Filesystem, "size_mib", rp.Size/disk.MiB)
		if err := disk.Make(ctx, o.Run, disk.Filesystem{Type: t.Filesystem, Label: rp.Label, UUID: ids.fsUUID[disk.RoleRoot],
			Size: rp.Size, CreateOptions: t.FSCreateOptions}, rootDir, rootFile, 0); err != nil {
			return nil, fmt.Errorf("root filesystem: %w", err)
		}
		fi, err := os.Stat(rootFile)
		if err != nil {
			return nil, err
		}
		if fi.Size() > rp.Size {
			if spec.DiskSize > 0 {
				return nil, fmt.Errorf("the %s root filesystem needs %d MiB, more than <size> leaves for it: raise <size>", t.Filesystem, fi.Size()/disk.MiB+1)
			}
			spec.RootSize = fi.Size()
			if layout, err = disk.Plan(spec); err != nil {
				return nil, fmt.Errorf("partition plan: %w", err)
			}
		}
	}

	raw := filepath.Join(work, base+".raw")
	log.Info("assembling disk", "size_mib", layout.Size/disk.MiB, "table", layout.Table)
	img, err := disk.NewImage(raw, layout)
	if err != nil {
		return nil, err
	}
	defer img.Close()
	if err := fillPartitions(ctx, o, t, layout, ids, img, work, rootDir, rootFile); err != nil {
		return nil, err
	}
	if err := installGrub(ctx, o, layout, img, bootUUID, grubDir, work); err != nil {
		return nil, err
	}
	if err := img.Sync(); err != nil {
		return nil, err
	}
	if err := img.Close(); err != nil {
		return nil, err
	}

	results := []Result{{Key: "disk_image", Filename: base + ".raw", Shasum: true, Bundle: true}}
	if t.Format != "" {
		log.Info("converting", "format", t.Format)
		name, err := convert(ctx, o.Run, raw, work, base, t.Format, t.FormatOptions)
		if err != nil {
			return nil, err
		}
		results = append(results, Result{Key: "disk_format_image", Filename: name, Shasum: true, Bundle: true})
	}
	extra, err := packages()
	if err != nil {
		return nil, err
	}
	return publish(work, o.TargetDir, append(results, extra...))
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

// identities are the UUIDs of every filesystem of the disk.
type identities struct {
	fsUUID map[disk.Role]string
	labels map[disk.Role]string
}

func newIdentities(l *disk.Layout) identities {
	ids := identities{fsUUID: map[disk.Role]string{}, labels: map[disk.Role]string{}}
	for _, p := range l.Partitions {
		switch {
		case p.Filesystem == "fat":
			u := strings.ToUpper(disk.NewUUID()[:8])
			ids.fsUUID[p.Role] = u[:4] + "-" + u[4:]
		case p.Filesystem != "" || p.Role == disk.RoleSwap:
			ids.fsUUID[p.Role] = disk.NewUUID()
		}
		ids.labels[p.Role] = p.Label
	}
	return ids
}

func (ids identities) device(r disk.Role, byLabel bool) string {
	if byLabel && ids.labels[r] != "" {
		return "LABEL=" + ids.labels[r]
	}
	return "UUID=" + ids.fsUUID[r]
}

func kernelCmdline(t DiskType, ids identities) string {
	args := []string{"root=" + ids.device(disk.RoleRoot, t.ByLabel), "rw"}
	if t.KernelCmdline != "" {
		args = append(args, t.KernelCmdline)
	}
	if strings.Contains(t.Console, "serial") && !strings.Contains(t.KernelCmdline, "console=") {
		args = append(args, "console=tty0", "console=ttyS0,115200")
	}
	return strings.Join(args, " ")
}

func writeFstab(root string, l *disk.Layout, ids identities, t DiskType) error {
	opts := t.FSMountOptions
	if opts == "" {
		opts = "defaults"
	}
	var b strings.Builder
	b.WriteString("# Written by kiwi\n")
	fmt.Fprintf(&b, "%s / %s %s 0 1\n", ids.device(disk.RoleRoot, t.ByLabel), t.Filesystem, opts)
	if p := l.Find(disk.RoleBoot); p != nil {
		fmt.Fprintf(&b, "%s /boot %s defaults 0 2\n", ids.device(disk.RoleBoot, t.ByLabel), p.Filesystem)
	}
	if l.Find(disk.RoleESP) != nil {
		if err := os.MkdirAll(filepath.Join(root, "boot/efi"), 0o755); err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s /boot/efi vfat defaults 0 0\n", ids.device(disk.RoleESP, false))
	}
	if l.Find(disk.RoleSwap) != nil {
		fmt.Fprintf(&b, "%s swap swap defaults 0 0\n", ids.device(disk.RoleSwap, t.ByLabel))
	}
	if p := l.Find(disk.RoleSpare); p != nil && t.SpareMountpoint != "" {
		fmt.Fprintf(&b, "%s %s %s defaults 0 2\n", ids.device(disk.RoleSpare, t.ByLabel), t.SpareMountpoint, p.Filesystem)
	}
	if err := os.WriteFile(filepath.Join(root, "etc/fstab"), []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("write fstab: %w", err)
	}
	return nil
}

// writeGrubConfig writes the root's /boot/grub/grub.cfg: with the root's
// own grub-mkconfig when it has one (as KIWI does), else kiwi's menu.
func writeGrubConfig(ctx context.Context, o Options, t DiskType, l *disk.Layout, ids identities, menu boot.Menu, work string) error {
	cfg := filepath.Join(o.Root, "boot/grub/grub.cfg")
	if !boot.HasMkconfig(o.Root) {
		o.Log.Info("grub.cfg: the root has no grub-mkconfig (grub2-common), writing kiwi's menu")
		if err := os.WriteFile(cfg, []byte(menu.Config()), 0o644); err != nil {
			return fmt.Errorf("write grub.cfg: %w", err)
		}
		return nil
	}
	volume := func(r disk.Role) *boot.Volume {
		p := l.Find(r)
		if p == nil {
			return nil
		}
		return &boot.Volume{Device: ids.device(r, t.ByLabel), UUID: ids.fsUUID[r], Label: p.Label, FS: p.Filesystem, Partition: p.Number}
	}
	// grub-mkconfig adds root= itself; the rest of kiwi's command line
	// goes to GRUB_CMDLINE_LINUX_DEFAULT.
	cmdline := strings.TrimSpace(strings.TrimPrefix(menu.Cmdline, "root="+ids.device(disk.RoleRoot, t.ByLabel)))
	o.Log.Info("grub.cfg: running the root's grub-mkconfig")
	distributor := t.DisplayName
	if distributor == "" {
		distributor = t.Name
	}
	return boot.Mkconfig(ctx, o.Run, o.Root, work, boot.MkconfigOptions{
		Distributor: distributor, Cmdline: cmdline, Timeout: t.BootTimeout,
		Serial: menu.Serial, Console: menu.Console,
		Root: *volume(disk.RoleRoot), Boot: volume(disk.RoleBoot), Table: l.Table,
	})
}

// fillPartitions makes every filesystem from its part of the root tree.
// A root filesystem made beforehand (rootFile) is copied into place.
func fillPartitions(ctx context.Context, o Options, t DiskType, l *disk.Layout, ids identities, img *os.File, work, rootDir, rootFile string) error {
	// Parts of the tree that live on their own partition are left out of
	// the root filesystem and filled into theirs.
	bootDir := filepath.Join(o.Root, "boot")
	for _, p := range l.Partitions {
		var dir string
		switch p.Role {
		case disk.RoleRoot:
			if rootFile != "" {
				if err := disk.CopyInto(img, p.Start, p.Size, rootFile); err != nil {
					return err
				}
				if err := os.Remove(rootFile); err != nil {
					return err
				}
				continue
			}
			dir = rootDir
		case disk.RoleBoot:
			dir = bootDir
		case disk.RoleESP:
			esp := filepath.Join(work, "esp")
			dir = esp
			bootUUID, grubDir := ids.fsUUID[disk.RoleRoot], "/boot/grub"
			if l.Find(disk.RoleBoot) != nil {
				bootUUID, grubDir = ids.fsUUID[disk.RoleBoot], "/grub"
			}
			signed, err := boot.FillESP(ctx, o.Run, o.Root, esp, boot.ESPOptions{SecureBoot: t.Firmware == "uefi", BootUUID: bootUUID, GrubDir: grubDir})
			if err != nil {
				return err
			}
			switch {
			case signed:
				o.Log.Info("EFI: shim and signed grub from the image (secure boot)")
			case t.Firmware == "uefi":
				o.Log.Warn("firmware=uefi, but the image has no shim-signed and grub-efi-amd64-signed: booting with an unsigned grub")
			}
		case disk.RoleSpare:
			if p.Filesystem == "" {
				continue
			}
			if t.SpareMountpoint != "" {
				dir = filepath.Join(o.Root, t.SpareMountpoint)
			}
		case disk.RoleSwap:
			file := img.Name()
			if _, err := o.Run.Run(ctx, runner.Cmd{Name: "mkswap", Args: []string{"-U", ids.fsUUID[p.Role], "-L", p.Label, "--offset", fmt.Sprint(p.Start), file, fmt.Sprint(p.Size / 1024)}}); err != nil {
				return err
			}
			continue
		default:
			if p.Filesystem == "" {
				continue
			}
		}
		fsys := disk.Filesystem{Type: p.Filesystem, Label: p.Label, UUID: ids.fsUUID[p.Role], Size: p.Size}
		if p.Role == disk.RoleRoot {
			fsys.CreateOptions = t.FSCreateOptions
		}
		if p.Filesystem == "fat" {
			fsys.UUID = strings.ReplaceAll(ids.fsUUID[p.Role], "-", "")
		}
		o.Log.Info("making filesystem", "partition", p.Number, "role", p.Role, "fs", p.Filesystem, "size_mib", p.Size/disk.MiB)
		if disk.InPlace(p.Filesystem) {
			if err := img.Sync(); err != nil {
				return err
			}
			if err := disk.Make(ctx, o.Run, fsys, dir, img.Name(), p.Start); err != nil {
				return fmt.Errorf("partition %d (%s): %w", p.Number, p.Role, err)
			}
			continue
		}
		file := filepath.Join(work, fmt.Sprintf("part%d.img", p.Number))
		if err := disk.Make(ctx, o.Run, fsys, dir, file, 0); err != nil {
			return fmt.Errorf("partition %d (%s): %w", p.Number, p.Role, err)
		}
		if err := disk.CopyInto(img, p.Start, p.Size, file); err != nil {
			return err
		}
		if err := os.Remove(file); err != nil {
			return err
		}
	}
	return nil
}

// installGrub puts grub's BIOS boot code on the disk: into the bios_grub
// partition on GPT, into the gap after the MBR on msdos tables.
func installGrub(ctx context.Context, o Options, l *disk.Layout, img *os.File, bootUUID, grubDir, work string) error {
	core := filepath.Join(work, "core.img")
	if err := boot.MakeImage(ctx, o.Run, o.Root, "i386-pc", bootUUID, grubDir, core); err != nil {
		return err
	}
	lba, max := int64(1), l.Partitions[0].Start/512-1
	if p := l.Find(disk.RoleBIOSBoot); p != nil {
		lba, max = p.Start/512, p.Size/512
	}
	return boot.InstallBIOS(img, o.Root, core, lba, max)
}

// convert writes the raw disk in another format with qemu-img.
func convert(ctx context.Context, r runner.Runner, raw, work, base, format string, options []string) (string, error) {
	ext, qfmt := format, format
	var opts []string
	switch format {
	case "qcow2", "vmdk", "vdi", "vhdx":
	case "vhd-fixed":
		ext, qfmt = "vhdfixed", "vpc"
		opts = append(opts, "subformat=fixed", "force_size=on")
	case "vhd":
		qfmt = "vpc"
	default:
		return "", fmt.Errorf("disk format %q: use qcow2, vmdk, vdi, vhdx, vhd or vhd-fixed", format)
	}
	opts = append(opts, options...)
	name := base + "." + ext
	args := []string{"convert", "-f", "raw", "-O", qfmt}
	if len(opts) > 0 {
		args = append(args, "-o", strings.Join(opts, ","))
	}
	args = append(args, raw, filepath.Join(work, name))
	if _, err := r.Run(ctx, runner.Cmd{Name: "qemu-img", Args: args}); err != nil {
		return "", err
	}
	return name, nil
}

func runImagesScript(ctx context.Context, o Options) error {
	if _, err := os.Stat(filepath.Join(o.Root, "image/images.sh")); err != nil {
		return nil
	}
	o.Log.Info("running images.sh")
	if _, err := chroot.Run(ctx, o.Run, o.Root, nil, "/bin/bash", "/image/images.sh"); err != nil {
		return fmt.Errorf("images.sh failed: %w", err)
	}
	return nil
}

// packageResults lists the image's packages and verifies their files
// (dpkg roots; rpm roots when rpm is on the host).
func packageResults(ctx context.Context, o Options, work, base string) ([]Result, error) {
	admin := filepath.Join(o.Root, "var/lib/dpkg")
	if _, err := os.Stat(filepath.Join(admin, "status")); err != nil {
		return nil, nil
	}
	out, err := o.Run.Run(ctx, runner.Cmd{Name: "dpkg-query", Args: []string{"--admindir=" + admin, "-W",
		"-f", "${Package}|${db:Status-Abbrev}|${Version}|None|${Architecture}|None|None\n"}})
	if err != nil {
		return nil, fmt.Errorf("list packages: %w", err)
	}
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Split(l, "|")
		if len(f) != 7 || !strings.HasPrefix(f[1], "ii") {
			continue
		}
		f[1] = "None"
		lines = append(lines, strings.Join(f, "|"))
	}
	if err := os.WriteFile(filepath.Join(work, base+".packages"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		return nil, err
	}
	// dpkg --verify exits 1 when it found changed files: that list is
	// the result.
	verified, err := o.Run.Run(ctx, runner.Cmd{Name: "dpkg", Args: []string{"--root=" + o.Root, "--admindir=" + admin, "--verify"}})
	var re *runner.Error
	if err != nil && !(errors.As(err, &re) && re.Code == 1) {
		return nil, fmt.Errorf("verify packages: %w", err)
	}
	if err := os.WriteFile(filepath.Join(work, base+".verified"), verified, 0o644); err != nil {
		return nil, err
	}
	return []Result{
		{Key: "image_packages", Filename: base + ".packages"},
		{Key: "image_verified", Filename: base + ".verified"},
	}, nil
}

// publish checksums the results, moves them from the work dir into the
// target dir and writes kiwi.result.json last.
func publish(work, target string, results []Result) ([]Result, error) {
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
	manifest := map[string]Result{}
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
		manifest[r.Key] = results[i]
	}
	b, err := json.MarshalIndent(manifest, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(target, "kiwi.result.json"), append(b, '\n'), 0o644); err != nil {
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
