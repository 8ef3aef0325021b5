package description

import (
	"strconv"
	"strings"
)

// Type is the selected <type>: every attribute as written (Attr), typed
// fields for what the build stages use, and the child sections. Sizes are
// in MiB as in the description unless a name says otherwise.
type Type struct {
	Pos     Pos               `json:"pos"`
	Image   string            `json:"image"`
	Primary bool              `json:"primary"`
	Attr    map[string]string `json:"attributes"`

	Filesystem          string   `json:"filesystem,omitempty"`
	Firmware            string   `json:"firmware,omitempty"`
	KernelCmdline       string   `json:"kernelcmdline,omitempty"`
	Format              string   `json:"format,omitempty"`
	FormatOptions       []string `json:"formatoptions,omitempty"`
	InitrdSystem        string   `json:"initrd_system,omitempty"`
	EFIPartSize         int      `json:"efipartsize,omitempty"`
	EFIPartTable        string   `json:"efiparttable,omitempty"`
	EFIFatImageSize     int      `json:"efifatimagesize,omitempty"`
	BootPartition       bool     `json:"bootpartition"`
	BootPartSize        int      `json:"bootpartsize,omitempty"`
	BootFilesystem      string   `json:"bootfilesystem,omitempty"`
	RootFSLabel         string   `json:"rootfs_label,omitempty"`
	DevicePersistency   string   `json:"devicepersistency,omitempty"`
	FSCreateOptions     string   `json:"fscreateoptions,omitempty"`
	FSMountOptions      string   `json:"fsmountoptions,omitempty"`
	ForceMBR            bool     `json:"force_mbr"`
	SquashfsCompression string   `json:"squashfscompression,omitempty"`
	VolID               string   `json:"volid,omitempty"`
	Publisher           string   `json:"publisher,omitempty"`
	MediaCheck          bool     `json:"mediacheck"`
	Flags               string   `json:"flags,omitempty"`
	HybridPersistent    bool     `json:"hybridpersistent"`
	// HybridPersistentFS is hybridpersistent_filesystem.
	HybridPersistentFS    string   `json:"hybridpersistent_filesystem,omitempty"`
	Archive               bool     `json:"archive"` // kis: bundle the results in a tarball
	Compressed            bool     `json:"compressed"`
	InstallISO            bool     `json:"installiso"`
	InstallPXE            bool     `json:"installpxe"`
	InstallStick          bool     `json:"installstick"`
	InstallBoot           string   `json:"installboot,omitempty"`
	SparePart             int      `json:"spare_part,omitempty"` // MiB
	SparePartMountpoint   string   `json:"spare_part_mountpoint,omitempty"`
	SparePartFS           string   `json:"spare_part_fs,omitempty"`
	SparePartFSAttributes []string `json:"spare_part_fs_attributes,omitempty"`
	SparePartIsLast       bool     `json:"spare_part_is_last"`
	Overlayroot           bool     `json:"overlayroot"`
	Luks                  string   `json:"-"` // a passphrase: kept out of JSON
	LuksVersion           string   `json:"luks_version,omitempty"`
	DerivedFrom           string   `json:"derived_from,omitempty"`
	// DeltaRoot (delta_root) makes a container of what the build
	// changed on DerivedFrom only; RequireSystemFiles
	// (require_system_files) carries the base's /systemfiles into it.
	DeltaRoot          bool   `json:"delta_root"`
	RequireSystemFiles bool   `json:"require_system_files"`
	EditBootConfig     string `json:"editbootconfig,omitempty"`
	EditBootInstall    string `json:"editbootinstall,omitempty"`

	Bootloader      *Bootloader      `json:"bootloader,omitempty"`
	Size            *Size            `json:"size,omitempty"`
	OEMConfig       *OEMConfig       `json:"oemconfig,omitempty"`
	SystemDisk      *SystemDisk      `json:"systemdisk,omitempty"`
	Partitions      []Partition      `json:"partitions,omitempty"`
	ContainerConfig *ContainerConfig `json:"containerconfig,omitempty"`
	// Children holds every child section of the <type> in generic form,
	// including the ones with typed fields above.
	Children []*Element `json:"children,omitempty"`
}

// IsSet reports whether the <type> sets attribute name, for settings
// whose default is not the zero value (bootpartition, btrfs_*...).
func (t *Type) IsSet(name string) bool {
	_, ok := t.Attr[name]
	return ok
}

// Bootloader is the <bootloader> of a type.
type Bootloader struct {
	Name         string `json:"name"`
	Console      string `json:"console,omitempty"` // output_console (console in schema < 8.4)
	InputConsole string `json:"input_console,omitempty"`
	SerialLine   string `json:"serial_line,omitempty"`
	// Timeout is in seconds; nil means the default (10).
	Timeout        *int              `json:"timeout,omitempty"`
	TimeoutStyle   string            `json:"timeout_style,omitempty"`
	GrubTemplate   string            `json:"grub_template,omitempty"`
	BLS            *bool             `json:"bls,omitempty"`
	ShimOptions    []Option          `json:"shim_options,omitempty"`
	InstallOptions []Option          `json:"install_options,omitempty"`
	ConfigOptions  []Option          `json:"config_options,omitempty"`
	Environment    []Option          `json:"environment,omitempty"`
	Attr           map[string]string `json:"attributes"`
}

// Option is a name with an optional value.
type Option struct {
	Name  string `json:"name"`
	Value string `json:"value,omitempty"`
}

// Size is the <size> of a type.
type Size struct {
	Value         uint64 `json:"value"`
	Unit          string `json:"unit,omitempty"` // M (default) or G
	Additive      bool   `json:"additive"`
	Unpartitioned uint64 `json:"unpartitioned,omitempty"`
}

// MiB returns the size in MiB.
func (s Size) MiB() uint64 {
	if s.Unit == "G" {
		return s.Value * 1024
	}
	return s.Value
}

// Bytes returns the size in bytes.
func (s Size) Bytes() int64 { return int64(s.MiB()) << 20 }

// OEMConfig is the <oemconfig> of an oem type, with KIWI's defaults
// applied (oem-resize is on unless switched off). All holds every child
// as written.
type OEMConfig struct {
	Resize           bool              `json:"resize"`
	ResizeOnce       bool              `json:"resize_once"`
	Swap             bool              `json:"swap"`
	SwapSize         int               `json:"swapsize,omitempty"` // MiB; 0: KIWI's default
	SwapName         string            `json:"swapname,omitempty"`
	SystemSize       int               `json:"systemsize,omitempty"` // MiB
	BootTitle        string            `json:"boot_title,omitempty"`
	BootWait         bool              `json:"bootwait"`
	Unattended       bool              `json:"unattended"`
	UnattendedID     string            `json:"unattended_id,omitempty"`
	DeviceFilter     string            `json:"device_filter,omitempty"`
	NicFilter        string            `json:"nic_filter,omitempty"`
	MultipathScan    bool              `json:"multipath_scan"`
	SilentBoot       bool              `json:"silent_boot"`
	SilentInstall    bool              `json:"silent_install"`
	SilentVerify     bool              `json:"silent_verify"`
	SkipVerify       bool              `json:"skip_verify"`
	Shutdown         bool              `json:"shutdown"`
	Reboot           bool              `json:"reboot"`
	Recovery         bool              `json:"recovery"`
	RecoveryPartSize int               `json:"recovery_part_size,omitempty"`
	All              map[string]string `json:"all"`
}

// SystemDisk is the <systemdisk> of a type: volumes of the root disk.
type SystemDisk struct {
	Name      string   `json:"name,omitempty"` // LVM volume group, default kiwiVG
	PreferLVM bool     `json:"preferlvm"`
	Volumes   []Volume `json:"volumes,omitempty"`
}

// Volume is one <volume> of a systemdisk (arch= already applied).
type Volume struct {
	Name            string `json:"name"`
	Parent          string `json:"parent,omitempty"`
	Size            string `json:"size,omitempty"`      // as written: 500, 500M, 2G, all
	FreeSpace       string `json:"freespace,omitempty"` // as written
	MountPoint      string `json:"mountpoint,omitempty"`
	Label           string `json:"label,omitempty"`
	CopyOnWrite     *bool  `json:"copy_on_write,omitempty"`
	FilesystemCheck bool   `json:"filesystem_check"`
	Quota           string `json:"quota,omitempty"`
}

// Partition is one <partition> of a type's <partitions>.
type Partition struct {
	Name          string `json:"name"`
	Size          string `json:"size"` // as written: 100, 100M, 1G
	PartitionName string `json:"partition_name,omitempty"`
	PartitionType string `json:"partition_type,omitempty"`
	MountPoint    string `json:"mountpoint,omitempty"`
	Filesystem    string `json:"filesystem,omitempty"`
	Label         string `json:"label,omitempty"`
	Clone         int    `json:"clone,omitempty"`
}

// ContainerConfig is the <containerconfig> of a container type.
type ContainerConfig struct {
	Name            string            `json:"name"`
	Tag             string            `json:"tag,omitempty"`
	AdditionalNames []string          `json:"additionalnames,omitempty"`
	Maintainer      string            `json:"maintainer,omitempty"`
	User            string            `json:"user,omitempty"`
	WorkingDir      string            `json:"workingdir,omitempty"`
	Entrypoint      *Command          `json:"entrypoint,omitempty"`
	Subcommand      *Command          `json:"subcommand,omitempty"`
	Expose          []string          `json:"expose,omitempty"`
	Volumes         []string          `json:"volumes,omitempty"`
	StopSignal      string            `json:"stopsignal,omitempty"`
	Environment     []Option          `json:"environment,omitempty"`
	Labels          []Option          `json:"labels,omitempty"`
	History         map[string]string `json:"history,omitempty"`
}

// Command is an entrypoint or subcommand; Clear empties the inherited one.
type Command struct {
	Execute string   `json:"execute,omitempty"`
	Args    []string `json:"args,omitempty"`
	Clear   bool     `json:"clear,omitempty"`
}

// sizeMiB reads "200", "200M" or "2G" as MiB; bad values give 0 (the
// schema check has reported them).
func sizeMiB(v string) int {
	v = strings.TrimSpace(v)
	mult := 1
	switch {
	case strings.HasSuffix(v, "G"):
		mult, v = 1024, strings.TrimSuffix(v, "G")
	case strings.HasSuffix(v, "M"):
		v = strings.TrimSuffix(v, "M")
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0
	}
	return n * mult
}
