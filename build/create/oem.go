package create

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/kiwi-go/kiwi/boot"
	"github.com/kiwi-go/kiwi/disk"
)

// OEM turns the root tree into an oem disk image in the target dir:
// <base>.raw (and <base>.<format>), <base>.packages, <base>.verified,
// checksums and kiwi.result.json.
//
// Nothing is mounted and no loop device is used: filesystems are filled
// from the root directory straight into the disk image file. The root tree
// gets the files a booting system needs (fstab, grub.cfg, the initrd).
// Results appear in the target dir only when all of them are complete; a
// failure leaves the target dir as it was.
//
// The steps, in order: prepareSpare and planDisk (the partitions),
// rootFiles and bootFiles (what the root needs to boot from them),
// filesystems (what must be made before the disk exists), assemble (the
// raw disk), editBootInstall (KIWI's last hook on it), convertDisk (the
// format= image), then publish. Every step
// writes into the root or the work dir only; the work dir goes when OEM
// returns, so a step's leftovers there never reach the target dir.
func OEM(ctx context.Context, t DiskType, o Options) ([]Result, error) {
	o, work, err := begin(ctx, o)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	base := fmt.Sprintf("%s.%s-%s", t.Name, t.Arch, t.Version)
	kernel, err := boot.FindKernel(o.Root)
	if err != nil {
		return nil, err
	}
	o.Log.Info("kernel", "version", kernel.Version)
	used, err := treeSize(o.Root)
	if err != nil {
		return nil, err
	}

	if err := prepareSpare(o.Log, o.Root, t); err != nil {
		return nil, err
	}
	spec, layout, err := planDisk(t, used)
	if err != nil {
		return nil, err
	}
	logLayout(o.Log, layout)

	// Random identities, or with SOURCE_DATE_EPOCH ones derived from
	// the image and the epoch (the same input, the same disk).
	ids := identitiesOf(layout, func(name string) string { return o.fsUUID(base, name) })
	grub := boot.GrubOf(o.Root)
	if err := rootFiles(o.Root, t, layout, ids, grub.Dir); err != nil {
		return nil, err
	}
	// The package list and verification only read the tree's package
	// files: they run while the initrd and the disk are made.
	packages := startPackageResults(ctx, o, work, base)
	defer packages()
	place := bootPlaceOf(layout, ids, grub.Dir)
	if err := bootFiles(ctx, o, t, layout, ids, kernel, place, grub, work); err != nil {
		return nil, err
	}

	content, err := filesystems(ctx, o, t, spec, layout, ids, work)
	if err != nil {
		return nil, err
	}
	defer content.remove()
	raw := filepath.Join(work, base+".raw")
	if err := assemble(ctx, o, t, content, ids, place, raw, work); err != nil {
		return nil, err
	}

	if err := editBootInstall(ctx, o, layout, raw, work); err != nil {
		return nil, err
	}
	results, err := convertDisk(ctx, o, t, raw, work, base)
	if err != nil {
		return nil, err
	}
	var src installSource
	if t.InstallISO || t.InstallPXE {
		if src, err = readInstallSource(raw); err != nil {
			return nil, err
		}
	}
	if t.InstallISO {
		r, err := installISO(ctx, o, t, kernel, src, work, base)
		if err != nil {
			return nil, err
		}
		results = append(results, r)
	}
	if t.InstallPXE {
		// The installed system's command line, for the boot server's
		// kexec (KIWI's config.bootoptions).
		r, err := installPXE(ctx, o, t, kernel, src, work, base, grubMenu(t, kernel, ids, place).Cmdline)
		if err != nil {
			return nil, err
		}
		results = append(results, r)
	}
	extra, err := packages()
	if err != nil {
		return nil, err
	}
	return publish(o, work, append(results, extra...))
}

// prepareSpare does what a spare partition (spare_part) needs before the
// plan: it warns that a spare at the end of the disk keeps the root
// partition from growing, and makes spare_part_mountpoint a directory of
// the root tree (mode 0755) when it is missing. Without a spare it does
// nothing.
//
// It writes nothing but that directory (and its missing parents). After
// an error (the mount point is something other than a directory, or cannot
// be made) some of those parents may exist; nothing else changed.
func prepareSpare(log *slog.Logger, root string, t DiskType) error {
	if t.SpareSize <= 0 {
		return nil
	}
	if t.SpareLast && t.OEMResize {
		log.Warn("spare_part_is_last: the root partition cannot grow on first boot, the spare partition follows it")
	}
	if t.SpareMountpoint == "" {
		return nil
	}
	dir := filepath.Join(root, t.SpareMountpoint)
	fi, err := os.Lstat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("spare_part_mountpoint: %w", err)
		}
	case err != nil:
		return fmt.Errorf("spare_part_mountpoint: %w", err)
	case !fi.IsDir():
		return fmt.Errorf("spare_part_mountpoint=%q is not a directory in the root tree (a %s): it must be a real directory", t.SpareMountpoint, fi.Mode().Type())
	}
	return nil
}

// planDisk plans the partitions of t's disk for a tree whose files take
// treeBytes (allocated): bios_grub, ESP, boot, swap and spare partitions
// as t asks, and a root partition of rootFSSize(treeBytes), or of what an
// absolute <size> leaves; an additive <size> is added to the disk the
// tree alone needs. It returns the Spec with the Layout planned from it:
// filesystems plans again from the Spec when a root filesystem outgrows
// its estimate.
//
// planDisk is pure: it reads and writes nothing. An error (a plan that
// cannot be: too many partitions for msdos, a <size> too small) comes with
// a zero Spec and no Layout.
func planDisk(t DiskType, treeBytes int64) (disk.Spec, *disk.Layout, error) {
	spec := disk.Spec{
		Arch: t.Arch, Firmware: t.Firmware, ForceMBR: t.ForceMBR, EFIPartTable: t.EFIPartTable,
		ESPSize: t.ESPSize, SwapSize: t.SwapSize, RootFS: t.Filesystem, RootLabel: t.RootLabel,
		RootSize: rootFSSize(treeBytes),
	}
	if spec.Firmware == "" {
		spec.Firmware = "bios"
	}
	if t.SpareSize > 0 {
		spec.Spares = []disk.Spare{{Size: t.SpareSize, Filesystem: t.SpareFilesystem, Last: t.SpareLast}}
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
				return disk.Spec{}, nil, err
			}
			spec.DiskSize = plan.Size + t.Size
		} else {
			spec.DiskSize = t.Size
		}
	}
	layout, err := disk.Plan(spec)
	if err != nil {
		return disk.Spec{}, nil, fmt.Errorf("partition plan: %w", err)
	}
	return spec, layout, nil
}

// logLayout logs the planned partitions at debug level.
func logLayout(log *slog.Logger, l *disk.Layout) {
	for _, p := range l.Partitions {
		log.Debug("partition", "number", p.Number, "role", p.Role, "start_mib", p.Start/disk.MiB, "size_mib", p.Size/disk.MiB, "fs", p.Filesystem)
	}
}

// editBootInstall runs the description's edit_boot_install.sh (type
// editbootinstall) on the host when the disk is complete, before any
// format or install media is made from it, as KIWI does: in the root
// dir, with the raw disk and the partition grub boots from (boot, else
// root). KIWI passes that partition's loop device; this kiwi makes none,
// so the script gets a file holding the partition (debugfs, mcopy -i,
// e2fsck and mount -o loop all take one), whose changed chunks are
// written back into the disk afterwards. A script that writes the disk
// file itself (a boot sector, say) writes it directly.
//
// Without the script it does nothing. After an error the disk may hold
// what the script wrote to it; the partition copy is in work.
func editBootInstall(ctx context.Context, o Options, l *disk.Layout, raw, work string) error {
	if !exists(filepath.Join(o.Root, "image", "edit_boot_install.sh")) {
		return nil
	}
	p := l.Find(disk.RoleBoot)
	if p == nil {
		p = l.Find(disk.RoleRoot)
	}
	pf, err := disk.ExtractPartition(raw, *p, filepath.Join(work, fmt.Sprintf("%s.part%d", filepath.Base(raw), p.Number)))
	if err != nil {
		return fmt.Errorf("edit_boot_install.sh: copy out partition %d: %w", p.Number, err)
	}
	defer os.Remove(pf.Path)
	if err := runHostScript(ctx, o, "edit_boot_install.sh", raw, pf.Path); err != nil {
		return err
	}
	n, err := pf.WriteBack(raw)
	if err != nil {
		return fmt.Errorf("edit_boot_install.sh: %w", err)
	}
	o.Log.Debug("edit_boot_install.sh: partition written back", "partition", p.Number, "changed_bytes", n)
	return nil
}
