package create

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kiwi-go/kiwi/boot"
	"github.com/kiwi-go/kiwi/build/description"
	"github.com/kiwi-go/kiwi/disk"
	"github.com/kiwi-go/kiwi/internal/checksum"
	"github.com/kiwi-go/kiwi/internal/runner"
	"github.com/kiwi-go/kiwi/result"
)

// KisType is what create needs to know of a kis <type image="kis">
// (kernel, initrd, system), as plain values.
type KisType struct {
	// Name, Version and Arch make the result base name
	// <name>.<arch>-<version>.
	Name, Version, Arch string
	// Filesystem is the root filesystem image's type (default ext4, as
	// KIWI); Label its label (rootfs_label, default ROOT).
	Filesystem      string
	Label           string
	KernelCmdline   string
	FSCreateOptions []string
	Compression     string // squashfs root
	// Archive packs the results into <base>.tar.xz (the default;
	// archive="false" keeps the files only).
	Archive bool
	// Compressed is KIWI's compressed="true": the root image is
	// <base>.xz (the .sha256 covers that file).
	Compressed bool
}

// kisFilesystems are the root filesystem types of a kis.
var kisFilesystems = map[string]bool{"ext2": true, "ext3": true, "ext4": true, "btrfs": true, "xfs": true, "squashfs": true, "erofs": true}

// KisTypeOf reads a kis type from a description; false when the
// selected type is not image="kis".
func KisTypeOf(d *description.Description) (KisType, bool) {
	t := d.Type
	if t.Image != "kis" {
		return KisType{}, false
	}
	kt := KisType{Name: d.Name, Version: d.Version, Arch: d.TargetArch, Filesystem: t.Filesystem, Label: t.RootFSLabel,
		KernelCmdline: t.KernelCmdline, FSCreateOptions: strings.Fields(t.FSCreateOptions), Compression: t.SquashfsCompression,
		Archive: t.Archive || !t.IsSet("archive"), Compressed: t.Compressed}
	return kt, true
}

func (t KisType) withDefaults() (KisType, error) {
	if t.Filesystem == "" {
		t.Filesystem = "ext4"
	}
	if t.Label == "" {
		t.Label = "ROOT"
	}
	if t.Version == "" {
		t.Version = "1.0.0"
	}
	if !kisFilesystems[t.Filesystem] {
		return t, fmt.Errorf("filesystem %q for a kis root: use ext2, ext3, ext4, btrfs, xfs, squashfs or erofs", t.Filesystem)
	}
	if err := checkSquashfsCompression(t.Compression); err != nil {
		return t, err
	}
	return t, nil
}

// kisNames are the result names of a kis, as KIWI names them.
type kisNames struct {
	Root, Kernel, Initrd, Append, Checksum, Archive string
}

func kisNamesOf(base, kernelVersion string) kisNames {
	return kisNames{Root: base, Kernel: base + "-" + kernelVersion + ".kernel", Initrd: base + ".initrd",
		Append: base + ".append", Checksum: base + ".sha256", Archive: base + ".tar.xz"}
}

// kisAppend is the .append file's kernel command line: the root
// filesystem by UUID, then the type's kernelcmdline. Filesystems without
// a UUID (squashfs) have no root= (the boot environment must say it).
func kisAppend(uuid, cmdline string) string {
	var args []string
	if uuid != "" {
		args = append(args, "root=UUID="+uuid)
	}
	if cmdline != "" {
		args = append(args, cmdline)
	}
	return strings.Join(args, " ")
}

// Kis turns the root tree into a kis set in the target dir:
// the root filesystem image <base> (no extension, as KIWI), the kernel
// <base>-<kernel version>.kernel, the initrd <base>.initrd (dracut, no
// host-only), <base>.append (root=UUID=<fs uuid> <kernelcmdline>),
// <base>.sha256 (of the root image), and unless archive="false" all of
// them packed into <base>.tar.xz (xz on every core); plus .packages,
// .verified and kiwi.result.json.
//
// It boots with qemu -kernel <kernel> -initrd <initrd> -append
// "$(cat <append>)" and the root image as a disk. Nothing is mounted
// (xfs excepted, see disk.Make); results appear in the target dir only
// when all are complete, a failure leaves the target dir as it was. The
// root tree gets the new initrd in /boot.
func Kis(ctx context.Context, t KisType, o Options) ([]Result, error) {
	t, err := t.withDefaults()
	if err != nil {
		return nil, err
	}
	kernel, err := boot.FindKernel(o.Root)
	if err != nil {
		return nil, err
	}
	o, work, err := begin(ctx, o)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	log := o.Log
	base := fmt.Sprintf("%s.%s-%s", t.Name, t.Arch, t.Version)
	names := kisNamesOf(base, kernel.Version)
	log.Info("kernel", "version", kernel.Version)

	packages := startPackageResults(ctx, o, work, base)
	defer packages()

	log.Info("building initrd (dracut)")
	if err := boot.MakeInitrd(ctx, o.Run, o.Root, kernel, boot.InitrdOptions{CacheDir: o.initrdCache()}); err != nil {
		return nil, err
	}
	for src, dst := range map[string]string{kernel.Image: names.Kernel, kernel.Initrd: names.Initrd} {
		if err := copyResult(filepath.Join(o.Root, src), filepath.Join(work, dst)); err != nil {
			return nil, err
		}
	}

	used, err := treeSize(o.Root)
	if err != nil {
		return nil, err
	}
	uuid := ""
	if t.Filesystem != "squashfs" {
		uuid = o.fsUUID(base, "root")
	}
	fsys := o.filesystem(base, "root", disk.Filesystem{Type: t.Filesystem, Label: t.Label, UUID: uuid, Size: rootFSSize(used),
		CreateOptions: t.FSCreateOptions, Compression: t.Compression})
	log.Info("making root filesystem", "fs", t.Filesystem, "size_mib", fsys.Size/disk.MiB)
	if err := disk.Make(ctx, o.Run, fsys, o.Root, filepath.Join(work, names.Root), 0); err != nil {
		return nil, fmt.Errorf("kis root filesystem: %w", err)
	}
	if uuid == "" {
		log.Warn("a squashfs root has no UUID: the .append file has no root=, the boot environment must name the root")
	}
	if t.Compressed {
		// KIWI's compressed="true": the root image ships as <base>.xz,
		// compressed on every core at xz -1 (like the archive), not at
		// -6 on one core as KIWI does: minutes less for a few percent.
		log.Info("compressing the root image", "file", names.Root+".xz")
		if _, err := o.Run.Run(ctx, runner.Cmd{Name: "xz", Args: []string{"-T0", "-1", "-z", filepath.Join(work, names.Root)}}); err != nil {
			return nil, fmt.Errorf("compress the kis root image: %w", err)
		}
		names.Root += ".xz"
	}
	if err := os.WriteFile(filepath.Join(work, names.Append), []byte(kisAppend(uuid, t.KernelCmdline)+"\n"), 0o644); err != nil {
		return nil, err
	}
	sum, err := checksum.File(filepath.Join(work, names.Root))
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(work, names.Checksum), []byte(sum+"  "+names.Root+"\n"), 0o644); err != nil {
		return nil, err
	}

	results := []Result{
		{Key: "filesystem_image", File: result.File{Filename: names.Root}},
		{Key: "kernel", File: result.File{Filename: names.Kernel}},
		{Key: "initrd", File: result.File{Filename: names.Initrd}},
		{Key: "kernel_append", File: result.File{Filename: names.Append}},
		{Key: "filesystem_checksum", File: result.File{Filename: names.Checksum}},
	}
	if t.Archive {
		log.Info("packing", "archive", names.Archive)
		start := time.Now()
		if err := packKis(ctx, o.Run, work, names, o.Epoch); err != nil {
			return nil, err
		}
		log.Info("packed", "archive", names.Archive, "took", time.Since(start).Round(time.Second))
		results = append(results, Result{Key: "kis_archive", File: result.File{Filename: names.Archive, Shasum: true, Bundle: true, Compress: o.bundleCompress(false)}})
	} else {
		// KIWI 10's archive="false": every file bundled, none
		// checksummed by the bundle, the root image compressed only
		// when the runtime config says so.
		for i := range results {
			results[i].Bundle = true
		}
		results[0].Compress = o.bundleCompress(false)
	}
	extra, err := packages()
	if err != nil {
		return nil, err
	}
	return publish(o, work, append(results, extra...))
}

// kisArchiveArgs is tar's command line, run in the work dir, packing the
// kis files there into the archive (no -C: a relative target dir would
// be resolved twice): holes of the root image stay holes (--sparse), and
// xz compresses on every core (-T0) at level 1, which keeps a gigabyte
// root at about half a minute on two cores (level 3: 100 s; KIWI uses 6).
func kisArchiveArgs(n kisNames) []string {
	return []string{"--sparse", "--use-compress-program", "xz -T0 -1", "-cf", n.Archive,
		n.Kernel, n.Initrd, n.Root, n.Append, n.Checksum}
}

func packKis(ctx context.Context, r runner.Runner, dir string, n kisNames, epoch *time.Time) error {
	args := kisArchiveArgs(n)
	if epoch != nil {
		// The members' times and owners are the epoch's and root's.
		args = append([]string{"--mtime=@" + strconv.FormatInt(epoch.Unix(), 10), "--owner=0", "--group=0", "--numeric-owner"}, args...)
	}
	if _, err := r.Run(ctx, runner.Cmd{Name: "tar", Args: args, Dir: dir}); err != nil {
		return fmt.Errorf("pack %s: %w", n.Archive, err)
	}
	return nil
}
