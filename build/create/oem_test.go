package create

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiwi-go/kiwi/disk"
)

const mib = disk.MiB

// layoutString is a layout in one line: "table sizeMiB: role@startMiB+sizeMiB fs ...";
// a root that does not grow is marked "root!".
func layoutString(l *disk.Layout) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %d:", l.Table, l.Size/mib)
	for i, p := range l.Partitions {
		if p.Number != i+1 {
			fmt.Fprintf(&b, " #%d", p.Number)
		}
		role := string(p.Role)
		if p.Role == disk.RoleRoot && !p.Grow {
			role += "!"
		}
		fmt.Fprintf(&b, " %s@%d+%d", role, p.Start/mib, p.Size/mib)
		if p.Filesystem != "" {
			fmt.Fprintf(&b, " %s", p.Filesystem)
		}
	}
	return b.String()
}

// A tree of 400 MiB needs a root filesystem of 400*1.5+64 = 664 MiB.
const planTree = 400 * mib

func TestPlanDiskLaysOutEachDiskType(t *testing.T) {
	for _, c := range []struct {
		name string
		t    DiskType
		want string
	}{
		{"bios by default", DiskType{Arch: "x86_64", Filesystem: "ext4"},
			"msdos 665: root@1+664 ext4"},
		{"efi: gpt with bios_grub and ESP", DiskType{Arch: "x86_64", Firmware: "efi", Filesystem: "xfs"},
			"gpt 688: bios_grub@1+2 efi@3+20 fat root@23+664 xfs"},
		{"uefi on aarch64: no bios_grub, ESP size", DiskType{Arch: "aarch64", Firmware: "uefi", Filesystem: "btrfs", ESPSize: 64 * mib},
			"gpt 730: efi@1+64 fat root@65+664 btrfs"},
		{"efi with force_mbr", DiskType{Arch: "x86_64", Firmware: "efi", Filesystem: "ext4", ForceMBR: true},
			"msdos 685: efi@1+20 fat root@21+664 ext4"},
		{"bios with efiparttable=gpt", DiskType{Arch: "x86_64", Firmware: "bios", Filesystem: "ext4", EFIPartTable: "gpt"},
			"gpt 668: bios_grub@1+2 root@3+664 ext4"},
		{"boot partition of the default size and fs", DiskType{Arch: "x86_64", Firmware: "bios", Filesystem: "ext4", BootPartition: true},
			"msdos 965: boot@1+300 ext2 root@301+664 ext4"},
		{"boot partition of a given size and fs", DiskType{Arch: "x86_64", Firmware: "bios", Filesystem: "ext4", BootPartition: true, BootPartSize: 100 * mib, BootFilesystem: "ext4"},
			"msdos 765: boot@1+100 ext4 root@101+664 ext4"},
		{"swap", DiskType{Arch: "x86_64", Firmware: "bios", Filesystem: "ext4", SwapSize: 128 * mib},
			"msdos 793: swap@1+128 root@129+664 ext4"},
		{"spare before root", DiskType{Arch: "x86_64", Firmware: "efi", Filesystem: "ext4", SpareSize: 50 * mib, SpareFilesystem: "xfs"},
			"gpt 738: bios_grub@1+2 efi@3+20 fat spare@23+50 xfs root@73+664 ext4"},
		{"spare last: the root no longer grows", DiskType{Arch: "x86_64", Firmware: "efi", Filesystem: "ext4", SpareSize: 50 * mib, SpareLast: true},
			"gpt 738: bios_grub@1+2 efi@3+20 fat root!@23+664 ext4 spare@687+50"},
		{"absolute size: root takes the rest", DiskType{Arch: "x86_64", Firmware: "bios", Filesystem: "ext4", Size: 2048 * mib},
			"msdos 2048: root@1+2047 ext4"},
		{"absolute size on gpt", DiskType{Arch: "x86_64", Firmware: "efi", Filesystem: "ext4", Size: 2048 * mib},
			"gpt 2048: bios_grub@1+2 efi@3+20 fat root@23+2024 ext4"},
		{"additive size: added to what the tree needs", DiskType{Arch: "x86_64", Firmware: "bios", Filesystem: "ext4", Size: 1024 * mib, SizeAdditive: true},
			"msdos 1689: root@1+1688 ext4"},
		{"additive size with a spare last", DiskType{Arch: "x86_64", Firmware: "efi", Filesystem: "ext4", Size: 100 * mib, SizeAdditive: true, SpareSize: 50 * mib, SpareLast: true},
			"gpt 838: bios_grub@1+2 efi@3+20 fat root!@23+764 ext4 spare@787+50"},
	} {
		t.Run(c.name, func(t *testing.T) {
			spec, l, err := planDisk(c.t, planTree)
			if err != nil {
				t.Fatal(err)
			}
			if got := layoutString(l); got != c.want {
				t.Errorf("layout\n got %s\nwant %s", got, c.want)
			}
			// The Spec is the one filesystems plans again from.
			if spec.RootSize != 664*mib || spec.RootFS != c.t.Filesystem || spec.Firmware == "" {
				t.Errorf("spec = %+v", spec)
			}
			again, err := disk.Plan(spec)
			if err != nil || layoutString(again) != c.want {
				t.Errorf("the returned spec plans %v, %v; want %s", layoutString(again), err, c.want)
			}
		})
	}
}

func TestPlanDiskLabelsAndTypes(t *testing.T) {
	_, l, err := planDisk(DiskType{Arch: "aarch64", Firmware: "efi", Filesystem: "ext4", RootLabel: "SYSTEM", BootPartition: true}, planTree)
	if err != nil {
		t.Fatal(err)
	}
	root, boot := l.Find(disk.RoleRoot), l.Find(disk.RoleBoot)
	if root.Label != "SYSTEM" || root.Name != "p.lxroot" || root.TypeGUID != "B921B045-1DF0-41C3-AF44-4C6F280D3FAE" {
		t.Errorf("root = %+v", root)
	}
	if boot.Label != "BOOT" || boot.Name != "p.lxboot" {
		t.Errorf("boot = %+v", boot)
	}
	// A small tree still gets KIWI's minimum root.
	_, l, err = planDisk(DiskType{Filesystem: "ext4"}, 10*mib)
	if err != nil || l.Find(disk.RoleRoot).Size != 256*mib {
		t.Errorf("small tree: %v, %v", layoutString(l), err)
	}
}

func TestPlanDiskRefusesImpossiblePlans(t *testing.T) {
	crowded := DiskType{Arch: "x86_64", Firmware: "efi", ForceMBR: true, Filesystem: "ext4",
		BootPartition: true, SwapSize: 64 * mib, SpareSize: 64 * mib}
	additive := crowded
	additive.Size, additive.SizeAdditive = 100*mib, true
	for _, c := range []struct {
		name string
		t    DiskType
		want string
	}{
		{"size too small", DiskType{Filesystem: "ext4", Size: 300 * mib}, "partition plan: disk size 300 MiB leaves 299 MiB for the root filesystem, which needs 664 MiB: raise <size>"},
		{"five partitions on msdos", crowded, "partition plan: 5 partitions do not fit an msdos table"},
		// The plan the additive size is added to fails first, unwrapped.
		{"five partitions on msdos, additive size", additive, "5 partitions do not fit an msdos table"},
		{"unknown firmware", DiskType{Filesystem: "ext4", Firmware: "coreboot"}, `firmware "coreboot"`},
		{"no filesystem", DiskType{}, "no root filesystem given"},
	} {
		t.Run(c.name, func(t *testing.T) {
			spec, l, err := planDisk(c.t, planTree)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
			if c.name == "five partitions on msdos, additive size" && strings.HasPrefix(err.Error(), "partition plan:") {
				t.Errorf("error %q: the additive size's first plan is not wrapped", err)
			}
			if l != nil || spec.RootFS != "" {
				t.Errorf("an error came with %+v, %+v", spec, l)
			}
		})
	}
}

func TestPrepareSpare(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	root := t.TempDir()
	spare := DiskType{SpareSize: 10 * mib, SpareFilesystem: "ext4", SpareMountpoint: "/srv/data/one"}

	// Without a spare the mount point is no concern.
	if err := prepareSpare(log, root, DiskType{SpareMountpoint: "/srv/data/one"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(root, "srv")); err == nil {
		t.Error("made the mount point of a disk without a spare")
	}

	// A missing mount point is made with its parents, a directory kept.
	for range 2 {
		if err := prepareSpare(log, root, spare); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(filepath.Join(root, "srv/data/one"))
		if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o755 {
			t.Fatalf("mount point: %v, %v", fi, err)
		}
	}
	if logs.Len() != 0 {
		t.Errorf("logged %q", logs.String())
	}

	// Anything else is refused and left alone.
	if err := os.WriteFile(filepath.Join(root, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("srv/data", filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	for _, mp := range []string{"/file", "/link"} {
		s := spare
		s.SpareMountpoint = mp
		err := prepareSpare(log, root, s)
		if err == nil || !strings.Contains(err.Error(), "is not a directory in the root tree") {
			t.Errorf("%s: error %v", mp, err)
		}
	}
	if fi, err := os.Lstat(filepath.Join(root, "link")); err != nil || fi.Mode().Type() != os.ModeSymlink {
		t.Errorf("the symlink was changed: %v, %v", fi, err)
	}

	// A spare at the end keeps the root from growing: said, not refused.
	last := spare
	last.SpareLast, last.OEMResize = true, true
	if err := prepareSpare(log, root, last); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "spare_part_is_last") {
		t.Errorf("no warning: %q", logs.String())
	}
}

func TestBlockListIsKIWIs(t *testing.T) {
	// Values from kiwi.utils.checksum._block_list.
	for _, tc := range [][3]int64{
		{1 << 30, 131072, 8192},
		{3 * 5 * 7 * 11 * 13, 13, 1155},
		{2 * 3 * 1000003, 1000003, 6},
		{4099, 1, 4099},
		{8209, 8209, 1},
		{0, 0, 1},
	} {
		if b, bs := blockList(tc[0]); b != tc[1] || bs != tc[2] {
			t.Errorf("blockList(%d) = %d, %d; want %d, %d", tc[0], b, bs, tc[1], tc[2])
		}
	}
}
