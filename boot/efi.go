package boot

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kiwi-go/kiwi/internal/runner"
)

// Signed boot files of a Debian-like root: the shim signed by Microsoft's
// UEFI CA and grub signed by the distribution, which looks for its
// configuration in /EFI/<vendor>/ on the ESP.
const (
	shimPath        = "usr/lib/shim/shimx64.efi.signed"
	signedGrubPath  = "usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed"
	signedGrubVendr = "debian"
)

// ESPOptions say how the EFI boot files are made.
type ESPOptions struct {
	// SecureBoot uses the root's shim and signed grub (firmware="uefi").
	SecureBoot bool
	// BootUUID and GrubDir locate grub.cfg (see MakeImage).
	BootUUID, GrubDir string
	// MarkerFile, when set, locates the boot filesystem instead of
	// BootUUID (live media: see Menu.MarkerFile).
	MarkerFile string
}

// FillESP writes the EFI boot files into esp (a directory that becomes
// the ESP): EFI/BOOT/BOOTX64.EFI, the fallback path every firmware boots.
// With SecureBoot it is the root's shim, which loads the signed grub next
// to it; grub finds grub.cfg through EFI/<vendor>/grub.cfg. Otherwise it
// is a grub image built from the root's modules. It reports whether the
// signed chain was used.
func FillESP(ctx context.Context, r runner.Runner, root, esp string, o ESPOptions) (bool, error) {
	boot := filepath.Join(esp, "EFI", "BOOT")
	if err := os.MkdirAll(boot, 0o755); err != nil {
		return false, err
	}
	if o.SecureBoot {
		shim, grub := filepath.Join(root, shimPath), filepath.Join(root, signedGrubPath)
		_, e1 := os.Stat(shim)
		_, e2 := os.Stat(grub)
		if e1 == nil && e2 == nil {
			for src, dst := range map[string]string{shim: "BOOTX64.EFI", grub: "grubx64.efi"} {
				b, err := os.ReadFile(src)
				if err != nil {
					return false, err
				}
				if err := os.WriteFile(filepath.Join(boot, dst), b, 0o644); err != nil {
					return false, err
				}
			}
			vendor := filepath.Join(esp, "EFI", signedGrubVendr)
			if err := os.MkdirAll(vendor, 0o755); err != nil {
				return false, err
			}
			if err := os.WriteFile(filepath.Join(vendor, "grub.cfg"), []byte(earlyConfigFor(searchCommand(o.BootUUID, o.MarkerFile), o.GrubDir)), 0o644); err != nil {
				return false, err
			}
			return true, nil
		}
	}
	g := grubImage{platform: "x86_64-efi", format: "x86_64-efi", early: earlyConfigFor(searchCommand(o.BootUUID, o.MarkerFile), o.GrubDir), grubDir: o.GrubDir}
	if o.MarkerFile != "" {
		g.extra = liveGrubModules
	}
	if err := makeImage(ctx, r, root, g, filepath.Join(boot, "BOOTX64.EFI")); err != nil {
		return false, fmt.Errorf("EFI boot image: %w", err)
	}
	return false, nil
}
