package boot

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kiwi-go/kiwi/internal/runner"
)

// liveGrubModules are built into the grub images of live media on top of
// grubModules: the ISO 9660 filesystem and the search for a marker file.
var liveGrubModules = []string{"iso9660", "search_fs_file"}

// MakeCDImage builds grub's El Torito BIOS boot image (format
// i386-pc-eltorito, from the image's i386-pc modules, else the host's)
// into out. It finds the media by the marker file and reads
// grubDir/grub.cfg from it, whether the media is a CD or the same ISO
// written to a disk.
func MakeCDImage(ctx context.Context, r runner.Runner, root, marker, grubDir, out string) error {
	g := grubImage{platform: "i386-pc", format: "i386-pc-eltorito", early: earlyConfigFor(searchCommand("", marker), grubDir),
		grubDir: grubDir, extra: liveGrubModules}
	if err := makeImage(ctx, r, root, g, out); err != nil {
		return fmt.Errorf("grub El Torito image: %w", err)
	}
	return nil
}

// HybridMBR returns the path of grub's boot_hybrid.img (the image's,
// else the host's): the MBR boot code that starts the El Torito image
// when the ISO is booted as a disk.
func HybridMBR(root string) (string, error) {
	dir, err := grubModuleDir(root, "i386-pc")
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, "boot_hybrid.img")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("grub's hybrid MBR: %w (install grub-pc-bin in the image)", err)
	}
	return p, nil
}

// LiveModule is the dracut module that boots a live ISO's squashfs.
const LiveModule = "dmsquash-live"

// LiveModuleStatus tells whether root's dracut has the live module and
// whether that module can read an erofs root image (dracut 059 mounts
// squashfs only).
func LiveModuleStatus(root string) (present, erofs bool) {
	dir := filepath.Join(root, "usr/lib/dracut/modules.d/90"+LiveModule)
	if _, err := os.Stat(filepath.Join(dir, "module-setup.sh")); err != nil {
		return false, false
	}
	script, err := os.ReadFile(filepath.Join(dir, "dmsquash-live-root.sh"))
	return true, err == nil && strings.Contains(string(script), "erofs")
}
