package create

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kiwi-go/kiwi/boot"
	"github.com/kiwi-go/kiwi/disk"
	"github.com/kiwi-go/kiwi/internal/runner"
	"github.com/kiwi-go/kiwi/result"
)

// diskContent is what filesystems prepared for assemble.
type diskContent struct {
	// Layout is the final plan: the one filesystems was given, or a new
	// one when the root filesystem outgrew its partition.
	Layout *disk.Layout
	// RootDir is the tree the root filesystem is filled from: the root,
	// or a hardlink copy of it without the directories that have
	// partitions of their own.
	RootDir string
	// RootFile is the root filesystem made beforehand (a filesystem that
	// cannot be made in place, in work), "" when assemble makes it.
	RootFile string
	// tree is the hardlink copy to remove, "" when there is none.
	tree string
}

// remove removes the hardlink copy of the root, if there is one.
func (c diskContent) remove() {
	if c.tree != "" {
		os.RemoveAll(c.tree)
	}
}

// filesystems does what must come before the disk image exists. A
// directory that has a partition of its own (/boot with a boot partition,
// spare_part_mountpoint) is left empty in a hardlink copy of the root made
// next to it (mkfs -d takes whole directories), which the root filesystem
// is then filled from. A root filesystem that cannot be made in place
// (btrfs, xfs) is made now, as work/root.img: its tool decides how much
// room the tree takes (mkfs.btrfs --rootdir grows its file when the
// estimate was short), and the plan follows it, from spec. The root tree
// is only read.
//
// The caller removes the copy with diskContent.remove when the disk is
// done. After an error there is no copy left; root.img may be in work.
func filesystems(ctx context.Context, o Options, t DiskType, spec disk.Spec, layout *disk.Layout, ids identities, work string) (diskContent, error) {
	c := diskContent{Layout: layout, RootDir: o.Root}
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
			return diskContent{}, err
		}
		c.RootDir, c.tree = farm, farm
	}
	if disk.InPlace(t.Filesystem) {
		return c, nil
	}
	fail := func(err error) (diskContent, error) {
		c.remove()
		return diskContent{}, err
	}
	c.RootFile = filepath.Join(work, "root.img")
	rp := layout.Find(disk.RoleRoot)
	o.Log.Info("making filesystem", "role", "root", "fs", t.Filesystem, "size_mib", rp.Size/disk.MiB)
	if err := disk.Make(ctx, o.Run, ids.filesystem(disk.RoleRoot, disk.Filesystem{Type: t.Filesystem, Label: rp.Label, UUID: ids.fsUUID[disk.RoleRoot],
		Size: rp.Size, CreateOptions: t.FSCreateOptions}, o.Epoch), c.RootDir, c.RootFile, 0); err != nil {
		return fail(fmt.Errorf("root filesystem: %w", err))
	}
	fi, err := os.Stat(c.RootFile)
	if err != nil {
		return fail(err)
	}
	if fi.Size() > rp.Size {
		if spec.DiskSize > 0 {
			return fail(fmt.Errorf("the %s root filesystem needs %d MiB, more than <size> leaves for it: raise <size>", t.Filesystem, fi.Size()/disk.MiB+1))
		}
		spec.RootSize = fi.Size()
		if c.Layout, err = disk.Plan(spec); err != nil {
			return fail(fmt.Errorf("partition plan: %w", err))
		}
	}
	return c, nil
}

// assemble writes the disk image raw (replacing any file there) from c:
// the sparse file with c.Layout's partition table, every partition's
// filesystem (fillPartitions: ext* and swap in place, the others made in
// work and copied in sparsely, c.RootFile copied in and removed), then
// grub's BIOS boot code (installGrub). The root tree is only read; the
// ESP's files are staged in work.
//
// On success raw is complete, synced and closed. After an error raw is
// closed and incomplete, and work may hold partition images; the caller
// removes them with work.
func assemble(ctx context.Context, o Options, t DiskType, c diskContent, ids identities, place bootPlace, raw, work string) error {
	o.Log.Info("assembling disk", "size_mib", c.Layout.Size/disk.MiB, "table", c.Layout.Table)
	c.Layout.GUID = ids.diskGUID
	for i, p := range c.Layout.Partitions {
		c.Layout.Partitions[i].GUID = ids.partGUID[p.Role]
	}
	img, err := disk.NewImage(raw, c.Layout)
	if err != nil {
		return err
	}
	defer img.Close()
	if err := fillPartitions(ctx, o, t, c.Layout, ids, place, img, work, c.RootDir, c.RootFile); err != nil {
		return err
	}
	if err := installGrub(ctx, o, c.Layout, img, place.UUID, place.GrubDir, work); err != nil {
		return err
	}
	if err := img.Sync(); err != nil {
		return err
	}
	return img.Close()
}

// fillPartitions makes every filesystem from its part of the root tree.
// A root filesystem made beforehand (rootFile) is copied into place. The
// ESP's grub finds grub.cfg at place.
func fillPartitions(ctx context.Context, o Options, t DiskType, l *disk.Layout, ids identities, place bootPlace, img *os.File, work, rootDir, rootFile string) error {
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
			signed, err := boot.FillESP(ctx, o.Run, o.Root, esp, boot.ESPOptions{SecureBoot: t.Firmware == "uefi", BootUUID: place.UUID, GrubDir: place.GrubDir})
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
			// mkswap of util-linux 2.38 (Debian 12) has no --offset: the
			// swap area is made in a file of its own and copied in.
			file := filepath.Join(work, fmt.Sprintf("part%d.img", p.Number))
			f, err := os.Create(file)
			if err == nil {
				err = f.Truncate(p.Size)
				if cerr := f.Close(); err == nil {
					err = cerr
				}
			}
			if err != nil {
				return fmt.Errorf("partition %d (swap): %w", p.Number, err)
			}
			if _, err := o.Run.Run(ctx, runner.Cmd{Name: "mkswap", Args: []string{"-U", ids.fsUUID[p.Role], "-L", p.Label, file}}); err != nil {
				return fmt.Errorf("partition %d (swap): %w", p.Number, err)
			}
			if err := disk.CopyInto(img, p.Start, p.Size, file); err != nil {
				return err
			}
			if err := os.Remove(file); err != nil {
				return err
			}
			continue
		default:
			if p.Filesystem == "" {
				continue
			}
		}
		fsys := ids.filesystem(p.Role, disk.Filesystem{Type: p.Filesystem, Label: p.Label, UUID: ids.fsUUID[p.Role], Size: p.Size}, o.Epoch)
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

// convertDisk returns the disk's results: the raw image, and with
// format= the image qemu-img converted it to, as work/<base>.<ext>. Without
// a format it runs nothing.
//
// After an error work may hold part of the converted image; raw is as it
// was.
func convertDisk(ctx context.Context, o Options, t DiskType, raw, work, base string) ([]Result, error) {
	// With a format the bundle holds that image, not the raw one (KIWI's
	// use_for_bundle).
	results := []Result{{Key: "disk_image", File: result.File{Filename: base + ".raw", Shasum: true, Bundle: t.Format == "", Compress: o.bundleCompress(true)}}}
	if t.Format == "" {
		return results, nil
	}
	o.Log.Info("converting", "format", t.Format)
	name, err := convert(ctx, o.Run, t, raw, work, base, o.Epoch)
	if err != nil {
		return nil, err
	}
	results = append(results, Result{Key: "disk_format_image", File: result.File{Filename: name, Shasum: true, Bundle: true,
		Compress: o.bundleCompress(diskFormats[t.Format].bundleCompress)}})
	if diskFormats[t.Format].vmx {
		vmx := base + ".vmx"
		if err := writeVMX(filepath.Join(work, vmx), t, name); err != nil {
			return nil, fmt.Errorf("VMware settings %s: %w", vmx, err)
		}
		// KIWI's key and flags: bundled as it is, no checksum file.
		results = append(results, Result{Key: "disk_format_machine_settings", File: result.File{Filename: vmx, Bundle: true}})
	}
	return results, nil
}
