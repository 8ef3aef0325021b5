package create

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/kiwi-go/kiwi/build/description"
	"github.com/kiwi-go/kiwi/disk"
)

// DiskType is what create needs to know of an oem disk <type> (and its
// <bootloader>, <oemconfig> and <size>), as plain values.
type DiskType struct {
	// Name, Version and Arch make the result base name
	// <name>.<arch>-<version>.
	Name, Version, Arch string
	DisplayName         string

	Filesystem    string // ext2, ext3, ext4, btrfs, xfs
	Firmware      string // bios, efi, uefi
	KernelCmdline string
	// Format is qcow2, vmdk, vdi, vhdx, vhd-fixed or "" (raw only);
	// FormatOptions are qemu-img -o options.
	Format        string
	FormatOptions []string

	ESPSize        int64 // bytes; 0: 20 MiB
	BootPartition  bool
	BootPartSize   int64
	BootFilesystem string
	RootLabel      string
	// ByLabel uses LABEL= instead of UUID= in fstab and on the kernel
	// command line (devicepersistency="by-label").
	ByLabel         bool
	FSCreateOptions []string
	FSMountOptions  string
	ForceMBR        bool
	EFIPartTable    string

	// Size is the whole disk size in bytes; with SizeAdditive it is added
	// to the size the root needs.
	Size         int64
	SizeAdditive bool

	OEMResize bool
	SwapSize  int64

	// Spare is KIWI's spare_part: an extra partition of SpareSize bytes,
	// formatted with SpareFilesystem when set and filled from the tree's
	// SpareMountpoint, which it is then mounted at; SpareLast puts it at
	// the end of the disk.
	SpareSize       int64
	SpareFilesystem string
	SpareMountpoint string
	SpareLast       bool

	// Bootloader settings.
	BootTimeout int // seconds, -1: wait
	Console     string
}

// DiskTypeOf reads what create needs from a description whose selected
// type is oem.
func DiskTypeOf(d *description.Description) (DiskType, error) {
	t := d.Type
	if t.Image != "oem" {
		return DiskType{}, fmt.Errorf("%s: image type %q cannot be created yet: kiwi creates oem disks, live ISOs (iso), kis sets and filesystem images (ext2/3/4, btrfs, xfs, squashfs, erofs)", d.File, t.Image)
	}
	dt := DiskType{
		Name: d.Name, Version: d.Version, Arch: d.TargetArch, DisplayName: d.DisplayName,
		Filesystem: t.Filesystem, Firmware: t.Firmware, KernelCmdline: t.KernelCmdline,
		Format: t.Format, FormatOptions: t.FormatOptions,
		ESPSize: int64(t.EFIPartSize) * disk.MiB, BootPartition: t.BootPartition,
		BootPartSize: int64(t.BootPartSize) * disk.MiB, BootFilesystem: t.BootFilesystem,
		RootLabel: t.RootFSLabel, ByLabel: t.DevicePersistency == "by-label",
		FSCreateOptions: strings.Fields(t.FSCreateOptions), FSMountOptions: t.FSMountOptions,
		ForceMBR: t.ForceMBR, EFIPartTable: t.EFIPartTable,
		OEMResize: true, BootTimeout: 10,
	}
	if dt.Filesystem == "" {
		dt.Filesystem = "ext4"
	}
	if dt.Firmware == "" {
		dt.Firmware = "bios"
	}
	if dt.Version == "" {
		dt.Version = "1.0.0"
	}
	if t.SparePart > 0 {
		dt.SpareSize, dt.SpareFilesystem, dt.SpareLast = int64(t.SparePart)*disk.MiB, t.SparePartFS, t.SparePartIsLast
		if mp := t.SparePartMountpoint; mp != "" {
			clean := path.Clean("/" + mp)
			if !strings.HasPrefix(mp, "/") || clean == "/" || clean != mp {
				return DiskType{}, fmt.Errorf("%s: spare_part_mountpoint=%q: give a clean absolute directory other than /, like /var/lib/data", d.File, mp)
			}
			if t.SparePartFS == "" {
				return DiskType{}, fmt.Errorf("%s: spare_part_mountpoint=%q needs spare_part_fs (ext4, xfs, btrfs, ...) to mount a filesystem there", d.File, mp)
			}
			dt.SpareMountpoint = mp
		}
	}
	if t.Size != nil {
		dt.Size, dt.SizeAdditive = t.Size.Bytes(), t.Size.Additive
	}
	if c := t.OEMConfig; c != nil {
		dt.OEMResize = c.Resize
		if c.Swap {
			dt.SwapSize = int64(c.SwapSize) * disk.MiB
			if dt.SwapSize == 0 {
				dt.SwapSize = 128 * disk.MiB
			}
		}
	}
	if b := t.Bootloader; b != nil {
		if b.Timeout != nil {
			dt.BootTimeout = *b.Timeout
		}
		dt.Console = b.Console
	}
	return dt, nil
}

// diskFormats are the format= values create converts the raw disk to
// (qemu-img); "" is the raw disk alone.
var diskFormats = []string{"", "qcow2", "vmdk", "vdi", "vhdx", "vhd", "vhd-fixed"}

// bundleCompressed are the formats result bundle xz-compresses by
// default, as KIWI 10 flags them (qcow2 is compressed by qemu-img
// already; vmdk stopped being compressed in KIWI 10).
var bundleCompressed = map[string]bool{"vdi": true, "vhdx": true, "vhd": true, "vhd-fixed": true}

// diskFilesystems are the root filesystems of an oem disk kiwi makes.
var diskFilesystems = []string{"ext2", "ext3", "ext4", "btrfs", "xfs"}

// check refuses the values of an oem type that create cannot build, so
// that a build fails before prepare instead of after the raw disk.
func (t DiskType) check() error {
	if !slices.Contains(diskFormats, t.Format) {
		return fmt.Errorf("format=%q: this kiwi does not build that format yet; it converts the raw disk to %s (or leave format out for the raw disk alone)",
			t.Format, strings.Join(diskFormats[1:], ", "))
	}
	if !slices.Contains(diskFilesystems, t.Filesystem) {
		return fmt.Errorf("filesystem=%q: an oem disk's root filesystem is one of %s", t.Filesystem, strings.Join(diskFilesystems, ", "))
	}
	switch t.Firmware {
	case "bios", "efi", "uefi":
	default:
		return fmt.Errorf("firmware=%q: this kiwi boots oem disks with bios, efi or uefi (shim) firmware only so far", t.Firmware)
	}
	return nil
}
