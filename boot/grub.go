package boot

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kiwi-go/kiwi/internal/runner"
)

// Menu is what grub's configuration says.
type Menu struct {
	Title string
	// BootUUID is the UUID of the filesystem holding the kernel (the boot
	// partition if there is one, else root); KernelDir is the kernel's
	// directory on it ("/boot" on root, "/" on a boot partition).
	BootUUID  string
	KernelDir string
	Kernel    *Kernel
	// Cmdline is the whole kernel command line (root=..., options).
	Cmdline string
	// Timeout in seconds; negative waits forever.
	Timeout int
	// Serial adds grub's serial terminal (ttyS0, 115200 8N1).
	Serial bool
	// Console: "serial", "console" or both ("serial console" default
	// when Serial).
	Console string
	// MarkerFile, when set, finds the boot filesystem by a file only it
	// has (live media, whose ISO 9660 filesystem has no UUID to search
	// for) instead of by BootUUID.
	MarkerFile string
	// MediaCheck adds a second entry that has dracut check the media's
	// implanted MD5 before booting (rd.live.check).
	MediaCheck bool
}

// Config renders grub.cfg.
func (m Menu) Config() string {
	var b strings.Builder
	b.WriteString("# Written by kiwi: the boot menu of this image.\n")
	fmt.Fprintf(&b, "set timeout=%d\n", m.Timeout)
	if m.Serial {
		b.WriteString("serial --unit=0 --speed=115200 --word=8 --parity=no --stop=1\n")
		consoles := m.Console
		if consoles == "" {
			consoles = "serial console"
		}
		fmt.Fprintf(&b, "terminal_input %s\nterminal_output %s\n", consoles, consoles)
	}
	title := m.Title
	if title == "" {
		title = "Linux"
	}
	dir := strings.TrimSuffix(m.KernelDir, "/")
	entry := func(title, cmdline string) {
		fmt.Fprintf(&b, "menuentry '%s' {\n", strings.ReplaceAll(title, "'", ""))
		fmt.Fprintf(&b, "\t%s\n", searchCommand(m.BootUUID, m.MarkerFile))
		fmt.Fprintf(&b, "\techo 'Loading %s ...'\n", filepath.Base(m.Kernel.Image))
		fmt.Fprintf(&b, "\tlinux %s/%s %s\n", dir, filepath.Base(m.Kernel.Image), cmdline)
		fmt.Fprintf(&b, "\tinitrd %s/%s\n", dir, filepath.Base(m.Kernel.Initrd))
		b.WriteString("}\n")
	}
	entry(title, m.Cmdline)
	if m.MediaCheck {
		entry("Check the medium, then boot "+title, m.Cmdline+" rd.live.check")
	}
	return b.String()
}

// earlyConfig is embedded into grub's images: find the boot filesystem by
// UUID and read the real configuration from it.
func earlyConfig(bootUUID, grubDir string) string {
	return earlyConfigFor(searchCommand(bootUUID, ""), grubDir)
}

// earlyConfigFor is the early configuration for any search command.
func earlyConfigFor(search, grubDir string) string {
	return fmt.Sprintf("%s\nset prefix=($root)%s\nconfigfile ($root)%s/grub.cfg\n", search, grubDir, grubDir)
}

// searchCommand is grub's command that sets $root to the boot
// filesystem: the one holding marker when it is set, else the one with
// the UUID.
func searchCommand(uuid, marker string) string {
	if marker != "" {
		return "search --no-floppy --file --set=root " + marker
	}
	return "search --no-floppy --fs-uuid --set=root " + uuid
}

// grubModules are built into every image, so booting never needs to load
// a module from the disk (whose grub may differ from the one used here).
var grubModules = []string{
	"part_gpt", "part_msdos", "ext2", "btrfs", "xfs", "fat", "normal", "linux", "search",
	"search_fs_uuid", "search_label", "configfile", "serial", "terminal", "echo", "test", "gzio",
	"all_video", "boot", "cat", "ls", "minicmd", "sleep",
}

// grubModuleDir is where the grub modules for platform are: the image's
// own when it has them (so the image boots with its own grub; in
// moduleDirs' order), else the host's.
func grubModuleDir(root, platform string) (string, error) {
	var dirs []string
	for _, d := range moduleDirs {
		dirs = append(dirs, filepath.Join(root, d, platform))
	}
	for _, d := range append(dirs, filepath.Join("/usr/lib/grub", platform)) {
		if _, err := os.Stat(filepath.Join(d, "kernel.img")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("no grub modules for %s in the image (/usr/share/grub2, /usr/lib/grub) or on the host: install grub2-i386-pc / grub2-x86_64-efi (openSUSE), grub2-pc-modules / grub2-efi-x64-modules (Fedora) or grub-pc-bin / grub-efi-amd64-bin (Debian) in the image", platform)
}

// MakeImage builds a grub image for platform (i386-pc, x86_64-efi) that
// finds the boot filesystem by UUID, into out.
func MakeImage(ctx context.Context, r runner.Runner, root, platform, bootUUID, grubDir, out string) error {
	return makeImage(ctx, r, root, grubImage{platform: platform, format: platform, early: earlyConfig(bootUUID, grubDir), grubDir: grubDir}, out)
}

// grubImage says what grub-mkimage builds: the module platform
// (i386-pc, x86_64-efi), the image format (the platform, or
// i386-pc-eltorito for CD boot), the early configuration, the prefix
// and modules beyond grubModules.
type grubImage struct {
	platform, format, early, grubDir string
	extra                            []string
}

func makeImage(ctx context.Context, r runner.Runner, root string, g grubImage, out string) error {
	dir, err := grubModuleDir(root, g.platform)
	if err != nil {
		return err
	}
	early := out + ".early.cfg"
	if err := os.WriteFile(early, []byte(g.early), 0o644); err != nil {
		return err
	}
	defer os.Remove(early)
	mods := append(append([]string{}, grubModules...), g.extra...)
	if g.platform == "i386-pc" {
		mods = append([]string{"biosdisk"}, mods...)
	}
	args := append([]string{"-O", g.format, "-d", dir, "-c", early, "-p", g.grubDir, "-o", out}, mods...)
	_, err = r.Run(ctx, runner.Cmd{Name: "grub-mkimage", Args: args})
	return err
}

// InstallBIOS writes grub's boot sector into the disk image's MBR and its
// core image at sector coreLBA (the bios_grub partition, or the gap after
// the MBR). It does what grub-bios-setup does, which cannot work on an
// image file: boot.img into bytes 0-439 (disk signature and partition
// table stay), the core image's address into boot.img, and the core
// image's block list pointing at its own sectors.
func InstallBIOS(disk *os.File, root, coreImg string, coreLBA, maxSectors int64) error {
	dir, err := grubModuleDir(root, "i386-pc")
	if err != nil {
		return err
	}
	bootImg, err := os.ReadFile(filepath.Join(dir, "boot.img"))
	if err != nil {
		return err
	}
	if len(bootImg) != 512 {
		return fmt.Errorf("%s/boot.img is %d bytes, want 512", dir, len(bootImg))
	}
	core, err := os.ReadFile(coreImg)
	if err != nil {
		return err
	}
	sectors := (int64(len(core)) + 511) / 512
	if sectors > maxSectors {
		return fmt.Errorf("grub core image has %d sectors, only %d fit before the first partition", sectors, maxSectors)
	}
	core = append(core, bytes.Repeat([]byte{0}, int(sectors*512)-len(core))...)
	// The first sector of core.img (diskboot.img) ends with a block list:
	// u64 start sector, u16 sector count, u16 load segment.
	binary.LittleEndian.PutUint64(core[500:], uint64(coreLBA+1))
	binary.LittleEndian.PutUint16(core[508:], uint16(sectors-1))
	if _, err := disk.WriteAt(core, coreLBA*512); err != nil {
		return fmt.Errorf("write grub core image: %w", err)
	}
	mbr := make([]byte, 512)
	if _, err := disk.ReadAt(mbr, 0); err != nil {
		return err
	}
	copy(mbr[:440], bootImg[:440])
	binary.LittleEndian.PutUint64(mbr[0x5c:], uint64(coreLBA))
	// Skip the floppy check: this is a hard disk.
	mbr[0x66], mbr[0x67] = 0x90, 0x90
	if _, err := disk.WriteAt(mbr, 0); err != nil {
		return fmt.Errorf("write boot sector: %w", err)
	}
	return nil
}
