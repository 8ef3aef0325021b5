// Package disk turns filesystem trees into disk images without loop
// devices or mounts: partition plans and tables written into image files,
// filesystem images filled straight from directories, sparse copies into
// place, and conversions to qcow2, vmdk and the other formats.
package disk

import (
	"errors"
	"fmt"
)

const (
	// MiB is the unit of every partition size and of the alignment.
	MiB = int64(1) << 20
	// firstStart is where the first partition starts (sector 2048).
	firstStart = MiB
	// gptTail is what the backup GPT takes at the end of the disk.
	gptTail = MiB
)

// Role says what a partition is for.
type Role string

// Partition roles, in KIWI's order on the disk.
const (
	RoleBIOSBoot Role = "bios_grub"
	RoleESP      Role = "efi"
	RoleBoot     Role = "boot"
	RoleSwap     Role = "swap"
	RoleSpare    Role = "spare"
	RoleRoot     Role = "root"
)

// GPT partition type GUIDs (Discoverable Partitions Specification) and
// MBR type bytes per role.
var (
	gptTypes = map[Role]string{
		RoleBIOSBoot: "21686148-6449-6E6F-744E-656564454649",
		RoleESP:      "C12A7328-F81F-11D2-BA4B-00A0C93EC93B",
		RoleBoot:     "BC13C2FF-59E6-4262-A352-B275FD6F7172",
		RoleSwap:     "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F",
		RoleSpare:    "0FC63DAF-8483-4772-8E79-3D69D8477DE4",
	}
	// Root partition types per architecture.
	gptRootTypes = map[string]string{
		"x86_64":  "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709",
		"aarch64": "B921B045-1DF0-41C3-AF44-4C6F280D3FAE",
		"ix86":    "44479540-F297-41B2-9AF7-D131D5F0458A",
	}
	mbrTypes = map[Role]byte{RoleESP: 0xef, RoleSwap: 0x82, RoleBoot: 0x83, RoleSpare: 0x83, RoleRoot: 0x83}
)

// Partition is one planned partition. Start and Size are bytes, aligned
// to MiB.
type Partition struct {
	Number     int
	Role       Role
	Name       string // GPT partition name (KIWI's p.lxroot, p.UEFI, ...)
	Start      int64
	Size       int64
	Filesystem string // "" for none (bios_grub, swap)
	Label      string
	// TypeGUID and MBRType are the partition type in each table kind.
	TypeGUID string
	MBRType  byte
	// Grow marks the partition that takes the rest of the disk (root).
	Grow bool
	// GUID is the GPT partition's unique GUID: an identity, not part of
	// the plan; empty, the table gets a random one.
	GUID string
}

// End is the first byte after the partition.
func (p Partition) End() int64 { return p.Start + p.Size }

// Layout is a partition table plan for a disk of Size bytes.
type Layout struct {
	Table      string // "gpt" or "msdos"
	Size       int64
	Partitions []Partition
	// GUID is the GPT disk GUID (empty: random), like Partition.GUID.
	GUID string
}

// Find returns the partition with role r.
func (l *Layout) Find(r Role) *Partition {
	for i := range l.Partitions {
		if l.Partitions[i].Role == r {
			return &l.Partitions[i]
		}
	}
	return nil
}

// Spare is an extra partition (KIWI's spare_part).
type Spare struct {
	Size       int64
	Filesystem string // "" leaves the partition unformatted
	Label      string
	// Last places the spare after the root partition, at the end of the
	// disk (spare_part_is_last); the root then has a fixed size.
	Last bool
}

// Spec is what an oem disk needs from its description.
type Spec struct {
	Arch     string // x86_64, aarch64
	Firmware string // bios, efi, uefi
	// ForceMBR keeps an msdos table with EFI firmware; EFIPartTable
	// ("msdos" or "gpt") chooses it explicitly.
	ForceMBR     bool
	EFIPartTable string
	ESPSize      int64 // default 20 MiB
	BootSize     int64 // > 0 adds a boot partition
	BootFS       string
	SwapSize     int64
	Spares       []Spare
	RootFS       string
	RootLabel    string // default ROOT
	// RootSize is the size the root filesystem needs.
	RootSize int64
	// DiskSize, when set, is the whole disk's size (from <size>); the root
	// partition takes what the others leave.
	DiskSize int64
}

// Plan lays out an oem disk: bios_grub (GPT on x86), ESP (EFI firmware),
// boot, swap, spares, then root, each aligned to 1 MiB from sector 2048.
func Plan(s Spec) (*Layout, error) {
	if s.RootFS == "" {
		return nil, errors.New("no root filesystem given")
	}
	efi := s.Firmware == "efi" || s.Firmware == "uefi"
	switch s.Firmware {
	case "bios", "efi", "uefi":
	default:
		return nil, fmt.Errorf("firmware %q: use bios, efi or uefi", s.Firmware)
	}
	table := "msdos"
	if efi && !s.ForceMBR && s.EFIPartTable != "msdos" {
		table = "gpt"
	}
	if s.EFIPartTable == "gpt" {
		table = "gpt"
	}
	x86 := s.Arch == "x86_64" || s.Arch == "ix86" || s.Arch == ""
	var parts []Partition
	add := func(p Partition) {
		p.TypeGUID = gptTypes[p.Role]
		p.MBRType = mbrTypes[p.Role]
		parts = append(parts, p)
	}
	if table == "gpt" && x86 {
		// The same disk then boots from BIOS too (grub's core image
		// lives in this partition).
		add(Partition{Role: RoleBIOSBoot, Name: "p.legacy", Size: 2 * MiB})
	}
	if efi {
		size := s.ESPSize
		if size == 0 {
			size = 20 * MiB
		}
		add(Partition{Role: RoleESP, Name: "p.UEFI", Size: alignUp(size), Filesystem: "fat", Label: "EFI"})
	}
	if s.BootSize > 0 {
		fs := s.BootFS
		if fs == "" {
			fs = "ext2"
		}
		add(Partition{Role: RoleBoot, Name: "p.lxboot", Size: alignUp(s.BootSize), Filesystem: fs, Label: "BOOT"})
	}
	if s.SwapSize > 0 {
		add(Partition{Role: RoleSwap, Name: "p.swap", Size: alignUp(s.SwapSize), Label: "SWAP"})
	}
	spare := func(i int, sp Spare) {
		label := sp.Label
		if label == "" {
			label = "SPARE"
		}
		add(Partition{Role: RoleSpare, Name: fmt.Sprintf("p.spare%d", i+1), Size: alignUp(sp.Size), Filesystem: sp.Filesystem, Label: label})
	}
	for i, sp := range s.Spares {
		if !sp.Last {
			spare(i, sp)
		}
	}
	label := s.RootLabel
	if label == "" {
		label = "ROOT"
	}
	rootIndex := len(parts)
	root := Partition{Role: RoleRoot, Name: "p.lxroot", Filesystem: s.RootFS, Label: label, Grow: true}
	root.TypeGUID = gptRootTypes[s.Arch]
	if root.TypeGUID == "" {
		root.TypeGUID = gptRootTypes["x86_64"]
	}
	root.MBRType = mbrTypes[RoleRoot]
	parts = append(parts, root)
	for i, sp := range s.Spares {
		if sp.Last {
			spare(i, sp)
			// Only the last partition can grow into an enlarged disk.
			parts[rootIndex].Grow = false
		}
	}
	if table == "msdos" && len(parts) > 4 {
		return nil, fmt.Errorf("%d partitions do not fit an msdos table (4 at most): drop spare partitions or use efiparttable=\"gpt\"", len(parts))
	}

	tail := int64(0)
	if table == "gpt" {
		tail = gptTail
	}
	others := int64(0)
	for i, p := range parts {
		if i != rootIndex {
			others += p.Size
		}
	}
	if s.DiskSize > 0 {
		parts[rootIndex].Size = alignDown(s.DiskSize-tail) - firstStart - others
		if parts[rootIndex].Size < s.RootSize {
			return nil, fmt.Errorf("disk size %d MiB leaves %d MiB for the root filesystem, which needs %d MiB: raise <size>", s.DiskSize/MiB, max(parts[rootIndex].Size, 0)/MiB, alignUp(s.RootSize)/MiB)
		}
	} else {
		parts[rootIndex].Size = alignUp(s.RootSize)
	}
	start := firstStart
	for i := range parts {
		parts[i].Number = i + 1
		parts[i].Start = start
		start += parts[i].Size
	}
	last := &parts[len(parts)-1]
	size := last.End() + tail
	if s.DiskSize > size {
		size = s.DiskSize
	}
	return &Layout{Table: table, Size: size, Partitions: parts}, nil
}

func alignUp(n int64) int64   { return (n + MiB - 1) / MiB * MiB }
func alignDown(n int64) int64 { return n / MiB * MiB }
