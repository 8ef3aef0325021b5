package create

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
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
	// Format is a key of diskFormats or "" (raw only); FormatOptions
	// are qemu-img -o options.
	Format        string
	FormatOptions []string
	// GCELicense is gcelicense, for the manifest of format="gce".
	GCELicense string
	// Vagrant is the <vagrantconfig> of format="vagrant".
	Vagrant *VagrantConfig
	// VM is the <machine> of format="vmdk" (its .vmx) and "ova".
	VM VMConfig
	// Specification is the description's, for a virtualbox box's OVF.
	Specification string

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

	// InstallISO (installiso) adds the install media <base>.install.iso,
	// labelled InstallVolumeID (volid; default INSTALL), whose installer
	// writes the disk onto the one target disk: every disk but the media
	// and those matching DeviceFilter (oem-device-filter), the first when
	// several are left (oem-unattended, which it needs), checked unless
	// SkipVerify (oem-skip-verify), then a reboot, or a power-off with
	// InstallShutdown (oem-shutdown). InstallPXE (installpxe) adds the
	// PXE install archive <base>.install.tar, whose installer fetches the
	// disk over the network and writes it in the same way.
	InstallISO      bool
	InstallPXE      bool
	InstallVolumeID string
	// InstallCompression (squashfscompression, as in KIWI) compresses
	// the squashfs the install media carry the disk in ("": zstd).
	InstallCompression string
	Unattended         bool
	DeviceFilter       string
	SkipVerify         bool
	InstallShutdown    bool
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
		Format: t.Format, FormatOptions: t.FormatOptions, GCELicense: t.Attr["gcelicense"],
		Specification: d.Info.Specification,
		ESPSize:       int64(t.EFIPartSize) * disk.MiB, BootPartition: t.BootPartition,
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
	vm, err := vmConfigOf(t)
	if err != nil {
		return DiskType{}, fmt.Errorf("%s: %w", d.File, err)
	}
	dt.VM = vm
	for _, c := range t.Children {
		if c.Name != "vagrantconfig" {
			continue
		}
		v := &VagrantConfig{Provider: c.Attr["provider"]}
		if s := c.Attr["virtualsize"]; s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n <= 0 {
				return DiskType{}, fmt.Errorf("%s: <vagrantconfig virtualsize=%q>: give the box's size in GiB, a whole number like 42", d.File, s)
			}
			v.VirtualSize = n
		}
		if f := c.Attr["embedded_vagrantfile"]; f != "" {
			// Relative to the description; prepare imports it into the
			// root's image/ the same way, where create reads it.
			v.Vagrantfile = filepath.Join(d.Dir, filepath.Clean(f))
		}
		v.GuestAdditions, _ = strconv.ParseBool(c.Attr["virtualbox_guest_additions_present"])
		dt.Vagrant = v
		break
	}
	dt.InstallISO, dt.InstallPXE, dt.InstallVolumeID = t.InstallISO, t.InstallPXE, t.VolID
	dt.InstallCompression = t.SquashfsCompression
	if c := t.OEMConfig; c != nil {
		dt.Unattended, dt.DeviceFilter, dt.SkipVerify, dt.InstallShutdown = c.Unattended, c.DeviceFilter, c.SkipVerify, c.Shutdown
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

// diskFilesystems are the root filesystems of an oem disk kiwi makes.
var diskFilesystems = []string{"ext2", "ext3", "ext4", "btrfs", "xfs"}

// check refuses the values of an oem type that create cannot build, so
// that a build fails before prepare instead of after the raw disk.
func (t DiskType) check() error {
	if _, ok := diskFormats[t.Format]; !ok && t.Format != "" {
		return fmt.Errorf("format=%q: this kiwi does not build that format yet; it makes %s of the raw disk (or leave format out for the raw disk alone)",
			t.Format, strings.Join(formatNames(), ", "))
	}
	if t.InstallISO || t.InstallPXE {
		if !t.Unattended {
			which := `installiso="true"`
			if !t.InstallISO {
				which = `installpxe="true"`
			}
			return fmt.Errorf("%s: this kiwi's installer installs unattended only (it does not ask which disk): set <oem-unattended>true</oem-unattended> in <oemconfig>, and <oem-device-filter> to keep disks out", which)
		}
		if t.DeviceFilter != "" {
			if _, err := regexp.Compile(t.DeviceFilter); err != nil {
				return fmt.Errorf("<oem-device-filter>%s</oem-device-filter>: %w (a regular expression of device names, e.g. /dev/sd[bc])", t.DeviceFilter, err)
			}
		}
		if err := checkSquashfsCompression(t.InstallCompression); err != nil {
			return err
		}
		if v := t.InstallVolumeID; len(v) > disk.MaxVolumeID || strings.ContainsAny(v, " \t'") {
			return fmt.Errorf("volid %q: the install media's volume id has at most %d characters and no spaces (it is on the kernel command line)", v, disk.MaxVolumeID)
		}
	}
	if t.Format == "ova" {
		if err := t.VM.checkOVA(); err != nil {
			return err
		}
	}
	if t.Format == "vagrant" {
		if t.Vagrant == nil {
			return fmt.Errorf("format=\"vagrant\" needs a <vagrantconfig provider=\"libvirt\"/> (or virtualbox) in the <type>")
		}
		if !slices.Contains(vagrantProviders, t.Vagrant.Provider) {
			return fmt.Errorf("<vagrantconfig provider=%q>: kiwi makes boxes for %s", t.Vagrant.Provider, strings.Join(vagrantProviders, " and "))
		}
		if f := t.Vagrant.Vagrantfile; f != "" {
			if _, err := os.Stat(f); err != nil {
				return fmt.Errorf("<vagrantconfig embedded_vagrantfile>: %w (keep the Vagrantfile in the description directory)", err)
			}
		}
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
