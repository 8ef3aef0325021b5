package create

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kiwi-go/kiwi/boot"
	"github.com/kiwi-go/kiwi/disk"
)

// identities are the UUIDs of every filesystem of the disk, the
// directory hash seeds of its ext filesystems and its GPT GUIDs.
type identities struct {
	fsUUID   map[disk.Role]string
	labels   map[disk.Role]string
	hashSeed map[disk.Role]string
	partGUID map[disk.Role]string
	diskGUID string
}

// newIdentities gives l's filesystems random identities.
func newIdentities(l *disk.Layout) identities {
	return identitiesOf(l, func(string) string { return disk.NewUUID() })
}

// identitiesOf gives l's filesystems the identities id makes of a name
// (a role, or a role and what the id is for).
func identitiesOf(l *disk.Layout, id func(name string) string) identities {
	ids := identities{fsUUID: map[disk.Role]string{}, labels: map[disk.Role]string{}, hashSeed: map[disk.Role]string{},
		partGUID: map[disk.Role]string{}, diskGUID: id("disk")}
	for _, p := range l.Partitions {
		r := string(p.Role)
		switch {
		case p.Filesystem == "fat":
			u := strings.ToUpper(id(r)[:8])
			ids.fsUUID[p.Role] = u[:4] + "-" + u[4:]
		case p.Filesystem != "" || p.Role == disk.RoleSwap:
			ids.fsUUID[p.Role] = id(r)
		}
		ids.hashSeed[p.Role] = id(r + "-hashseed")
		ids.partGUID[p.Role] = id(r + "-partition")
		ids.labels[p.Role] = p.Label
	}
	return ids
}

// filesystem is fsys of role with the epoch's settings: with
// SOURCE_DATE_EPOCH (epoch) the filesystem is made reproducible with
// the role's hash seed.
func (ids identities) filesystem(r disk.Role, fsys disk.Filesystem, epoch *time.Time) disk.Filesystem {
	fsys.Epoch, fsys.HashSeed = epoch, ids.hashSeed[r]
	return fsys
}

func (ids identities) device(r disk.Role, byLabel bool) string {
	if byLabel && ids.labels[r] != "" {
		return "LABEL=" + ids.labels[r]
	}
	return "UUID=" + ids.fsUUID[r]
}

// bootPlace is where grub finds its files and the kernels: the boot
// partition when the disk has one, else the root filesystem.
type bootPlace struct {
	UUID      string // the filesystem grub searches for
	KernelDir string // the kernels' directory in it
	GrubDir   string // grub's directory in it
}

// bootPlaceOf is the boot place of layout l for a root whose grub
// directory is /boot/<grubDir> (boot.Grub's Dir).
func bootPlaceOf(l *disk.Layout, ids identities, grubDir string) bootPlace {
	if l.Find(disk.RoleBoot) != nil {
		return bootPlace{UUID: ids.fsUUID[disk.RoleBoot], KernelDir: "/", GrubDir: "/" + grubDir}
	}
	return bootPlace{UUID: ids.fsUUID[disk.RoleRoot], KernelDir: "/boot", GrubDir: "/boot/" + grubDir}
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

// grubMenu is kiwi's boot menu for the disk: one entry booting kernel
// from place with kernelCmdline.
func grubMenu(t DiskType, kernel *boot.Kernel, ids identities, place bootPlace) boot.Menu {
	return boot.Menu{
		Title: t.DisplayName, BootUUID: place.UUID, KernelDir: place.KernelDir, Kernel: kernel,
		Cmdline: kernelCmdline(t, ids), Timeout: t.BootTimeout,
		Serial: strings.Contains(t.Console, "serial"), Console: t.Console,
	}
}

// rootFiles writes into the root tree what it needs to mount the planned
// disk's filesystems: etc/fstab (replaced; by UUID, or by label with
// devicepersistency="by-label"; the spare at spare_part_mountpoint), the
// boot/efi mount point when the disk has an ESP, and boot/<grubDir>
// (grub or grub2, as boot.GrubOf names it) for bootFiles. It runs nothing and writes nothing outside the root.
//
// After an error the root may have boot/efi but still its old fstab (or
// none); nothing else changed.
func rootFiles(root string, t DiskType, l *disk.Layout, ids identities, grubDir string) error {
	if err := writeFstab(root, l, ids, t); err != nil {
		return err
	}
	return os.MkdirAll(filepath.Join(root, "boot", grubDir), 0o755)
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

// bootFiles writes what the root needs to boot from place, after
// rootFiles: the initrd (kernel.Initrd, built by the root's dracut in a
// private mount namespace; with <oem-resize> kiwi's dracut module
// kiwi-resize is installed under usr/lib/dracut/modules.d and added),
// then grub.cfg (boot/grub or boot/grub2), last because the root's own
// grub-mkconfig lists the kernels and initrds it finds in /boot (it also
// writes KIWI's settings to etc/default/grub); a root without grub-mkconfig gets
// kiwi's one-entry menu (grubMenu). Its scratch files go to work.
//
// After an error the root may have a new initrd and no grub.cfg, or a
// partly written one; nothing is mounted and nothing outside the root and
// work changed.
func bootFiles(ctx context.Context, o Options, t DiskType, l *disk.Layout, ids identities, kernel *boot.Kernel, place bootPlace, g boot.Grub, work string) error {
	o.Log.Info("building initrd (dracut)")
	if err := boot.MakeInitrd(ctx, o.Run, o.Root, kernel, boot.InitrdOptions{Resize: t.OEMResize, CacheDir: o.initrdCache()}); err != nil {
		return err
	}
	// KIWI's disk hooks, in its order: edit_boot_config.sh on the host
	// (the root filesystem and the partition grub boots from), then
	// pre_disk_sync.sh and disk.sh in the root. KIWI runs disk.sh in the
	// mounted disk after the sync; with no mounts it runs in the tree
	// the disk is filled from, so its changes stay in the root too. Both
	// come before grub.cfg is made, as in KIWI.
	bootPart := l.Find(disk.RoleBoot)
	if bootPart == nil {
		bootPart = l.Find(disk.RoleRoot)
	}
	if err := runHostScript(ctx, o, "edit_boot_config.sh", t.Filesystem, strconv.Itoa(bootPart.Number)); err != nil {
		return err
	}
	for _, s := range []string{"pre_disk_sync.sh", "disk.sh"} {
		if err := runScript(ctx, o, s); err != nil {
			return err
		}
	}
	return writeGrubConfig(ctx, o, t, l, ids, grubMenu(t, kernel, ids, place), g, work)
}

// writeGrubConfig writes the root's grub.cfg (where g says): with the
// root's own grub-mkconfig when it has one (as KIWI does), else kiwi's
// menu.
func writeGrubConfig(ctx context.Context, o Options, t DiskType, l *disk.Layout, ids identities, menu boot.Menu, g boot.Grub, work string) error {
	cfg := filepath.Join(o.Root, g.ConfigPath())
	if !g.CanMkconfig() {
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
	o.Log.Info("grub.cfg: running the root's "+path.Base(g.Mkconfig), "config", g.ConfigPath())
	distributor := t.DisplayName
	if distributor == "" {
		distributor = t.Name
	}
	return boot.Mkconfig(ctx, o.Run, o.Root, work, g, boot.MkconfigOptions{
		Distributor: distributor, Cmdline: cmdline, Timeout: t.BootTimeout,
		Serial: menu.Serial, Console: menu.Console,
		Root: *volume(disk.RoleRoot), Boot: volume(disk.RoleBoot), Table: l.Table,
	})
}
