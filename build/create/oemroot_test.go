package create

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiwi-go/kiwi/boot"
	"github.com/kiwi-go/kiwi/disk"
)

// fixedIdentities are newIdentities of l with fixed UUIDs, so that what is
// written from them can be compared whole.
func fixedIdentities(l *disk.Layout) identities {
	ids := newIdentities(l)
	fixed := map[disk.Role]string{disk.RoleRoot: "rootuuid", disk.RoleBoot: "bootuuid", disk.RoleESP: "ABCD-0123",
		disk.RoleSwap: "swapuuid", disk.RoleSpare: "spareuuid"}
	for r := range ids.fsUUID {
		ids.fsUUID[r] = fixed[r]
	}
	return ids
}

func TestNewIdentities(t *testing.T) {
	_, l, err := planDisk(DiskType{Arch: "x86_64", Firmware: "efi", Filesystem: "ext4", SwapSize: 8 * mib, SpareSize: 8 * mib}, planTree)
	if err != nil {
		t.Fatal(err)
	}
	ids := newIdentities(l)
	for _, r := range []disk.Role{disk.RoleRoot, disk.RoleSwap} {
		if len(ids.fsUUID[r]) != 36 {
			t.Errorf("%s UUID %q", r, ids.fsUUID[r])
		}
	}
	if u := ids.fsUUID[disk.RoleESP]; len(u) != 9 || u[4] != '-' || strings.ToUpper(u) != u {
		t.Errorf("FAT volume id %q, want XXXX-XXXX", u)
	}
	// No filesystem, no UUID: bios_grub and an unformatted spare.
	for _, r := range []disk.Role{disk.RoleBIOSBoot, disk.RoleSpare} {
		if u, ok := ids.fsUUID[r]; ok {
			t.Errorf("%s has UUID %q", r, u)
		}
	}
	if ids.labels[disk.RoleRoot] != "ROOT" || ids.labels[disk.RoleSpare] != "SPARE" {
		t.Errorf("labels %v", ids.labels)
	}
}

func TestRootFilesWriteFstab(t *testing.T) {
	full := DiskType{Arch: "x86_64", Firmware: "efi", Filesystem: "ext4", BootPartition: true, SwapSize: 8 * mib,
		SpareSize: 8 * mib, SpareFilesystem: "xfs", SpareMountpoint: "/srv/data"}
	byLabel := full
	byLabel.ByLabel, byLabel.FSMountOptions = true, "noatime,discard"
	noMountpoint := full
	noMountpoint.SpareMountpoint = ""
	for _, c := range []struct {
		name string
		t    DiskType
		want string
		esp  bool
	}{
		{"bios by uuid", DiskType{Arch: "x86_64", Firmware: "bios", Filesystem: "xfs"}, `# Written by kiwi
UUID=rootuuid / xfs defaults 0 1
`, false},
		{"every partition by uuid", full, `# Written by kiwi
UUID=rootuuid / ext4 defaults 0 1
UUID=bootuuid /boot ext2 defaults 0 2
UUID=ABCD-0123 /boot/efi vfat defaults 0 0
UUID=swapuuid swap swap defaults 0 0
UUID=spareuuid /srv/data xfs defaults 0 2
`, true},
		// The ESP has no label kiwi sets on its FAT: always by UUID.
		{"every partition by label", byLabel, `# Written by kiwi
LABEL=ROOT / ext4 noatime,discard 0 1
LABEL=BOOT /boot ext2 defaults 0 2
UUID=ABCD-0123 /boot/efi vfat defaults 0 0
LABEL=SWAP swap swap defaults 0 0
LABEL=SPARE /srv/data xfs defaults 0 2
`, true},
		{"a spare without mount point is not mounted", noMountpoint, `# Written by kiwi
UUID=rootuuid / ext4 defaults 0 1
UUID=bootuuid /boot ext2 defaults 0 2
UUID=ABCD-0123 /boot/efi vfat defaults 0 0
UUID=swapuuid swap swap defaults 0 0
`, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, l, err := planDisk(c.t, planTree)
			if err != nil {
				t.Fatal(err)
			}
			root := t.TempDir()
			if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(root, "etc/fstab"), []byte("old\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := rootFiles(root, c.t, l, fixedIdentities(l), "grub"); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(filepath.Join(root, "etc/fstab"))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Errorf("fstab\n%s\nwant\n%s", got, c.want)
			}
			if fi, err := os.Stat(filepath.Join(root, "boot/grub")); err != nil || !fi.IsDir() {
				t.Errorf("boot/grub: %v", err)
			}
			if _, err := os.Stat(filepath.Join(root, "boot/efi")); (err == nil) != c.esp {
				t.Errorf("boot/efi exists: %v, want %v", err == nil, c.esp)
			}
		})
	}
}

func TestRootFilesErrorWritesNoGrubDir(t *testing.T) {
	_, l, err := planDisk(DiskType{Filesystem: "ext4"}, planTree)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir() // no etc
	err = rootFiles(root, DiskType{Filesystem: "ext4"}, l, fixedIdentities(l), "grub")
	if err == nil || !strings.Contains(err.Error(), "write fstab") {
		t.Fatalf("error %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "boot")); err == nil {
		t.Error("boot/grub was made after fstab failed")
	}
}

func TestKernelCmdline(t *testing.T) {
	_, l, err := planDisk(DiskType{Filesystem: "ext4", RootLabel: "SYS"}, planTree)
	if err != nil {
		t.Fatal(err)
	}
	ids := fixedIdentities(l)
	for _, c := range []struct {
		t    DiskType
		want string
	}{
		{DiskType{}, "root=UUID=rootuuid rw"},
		{DiskType{ByLabel: true}, "root=LABEL=SYS rw"},
		{DiskType{KernelCmdline: "quiet splash"}, "root=UUID=rootuuid rw quiet splash"},
		{DiskType{Console: "serial"}, "root=UUID=rootuuid rw console=tty0 console=ttyS0,115200"},
		{DiskType{Console: "serial console", KernelCmdline: "console=ttyS1"}, "root=UUID=rootuuid rw console=ttyS1"},
		{DiskType{Console: "console"}, "root=UUID=rootuuid rw"},
	} {
		if got := kernelCmdline(c.t, ids); got != c.want {
			t.Errorf("%+v: %q, want %q", c.t, got, c.want)
		}
	}
}

func TestBootPlaceAndMenu(t *testing.T) {
	kernel := &boot.Kernel{Version: "6.1.0-9-amd64", Image: "boot/vmlinuz-6.1.0-9-amd64", Initrd: "boot/initrd.img-6.1.0-9-amd64"}
	for _, c := range []struct {
		t     DiskType
		place bootPlace
		lines []string
	}{
		{DiskType{Filesystem: "ext4", DisplayName: "Tiny", BootTimeout: 3},
			bootPlace{UUID: "rootuuid", KernelDir: "/boot", GrubDir: "/boot/grub"},
			[]string{"set timeout=3", "menuentry 'Tiny' {", "search --no-floppy --fs-uuid --set=root rootuuid",
				"linux /boot/vmlinuz-6.1.0-9-amd64 root=UUID=rootuuid rw", "initrd /boot/initrd.img-6.1.0-9-amd64"}},
		{DiskType{Filesystem: "ext4", BootPartition: true, Console: "serial", BootTimeout: -1},
			bootPlace{UUID: "bootuuid", KernelDir: "/", GrubDir: "/grub"},
			[]string{"set timeout=-1", "terminal_output serial", "search --no-floppy --fs-uuid --set=root bootuuid",
				"linux /vmlinuz-6.1.0-9-amd64 root=UUID=rootuuid rw console=tty0 console=ttyS0,115200", "initrd /initrd.img-6.1.0-9-amd64"}},
	} {
		_, l, err := planDisk(c.t, planTree)
		if err != nil {
			t.Fatal(err)
		}
		ids := fixedIdentities(l)
		place := bootPlaceOf(l, ids, "grub")
		if place != c.place {
			t.Errorf("boot place %+v, want %+v", place, c.place)
		}
		cfg := grubMenu(c.t, kernel, ids, place).Config()
		for _, line := range c.lines {
			if !strings.Contains(cfg, line+"\n") {
				t.Errorf("grub.cfg lacks %q:\n%s", line, cfg)
			}
		}
	}
}

// TestBootFilesGrubConfigWithoutMkconfig: a root without grub-mkconfig
// gets kiwi's menu; a root without dracut fails before any grub.cfg.
func TestBootFilesGrubConfigWithoutMkconfig(t *testing.T) {
	o := Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	dt := DiskType{Filesystem: "ext4", DisplayName: "Tiny", OEMResize: true}
	_, l, err := planDisk(dt, planTree)
	if err != nil {
		t.Fatal(err)
	}
	ids := fixedIdentities(l)
	kernel := &boot.Kernel{Version: "6.1", Image: "boot/vmlinuz-6.1", Initrd: "boot/initrd.img-6.1"}
	place := bootPlaceOf(l, ids, "grub")

	o.Root = t.TempDir()
	if err := os.MkdirAll(filepath.Join(o.Root, "boot/grub"), 0o755); err != nil {
		t.Fatal(err)
	}
	err = bootFiles(context.Background(), o, dt, l, ids, kernel, place, boot.GrubOf(o.Root), t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "no dracut in the image") {
		t.Fatalf("bootFiles without dracut: %v", err)
	}
	if _, err := os.Stat(filepath.Join(o.Root, "boot/grub/grub.cfg")); err == nil {
		t.Error("grub.cfg written although the initrd failed")
	}

	menu := grubMenu(dt, kernel, ids, place)
	if err := writeGrubConfig(context.Background(), o, dt, l, ids, menu, boot.GrubOf(o.Root), t.TempDir()); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(o.Root, "boot/grub/grub.cfg"))
	if err != nil || string(got) != menu.Config() {
		t.Errorf("grub.cfg %q, %v; want kiwi's menu %q", got, err, menu.Config())
	}
}
