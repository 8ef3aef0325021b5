package boot

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/kiwi-go/kiwi/internal/runner"
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
// the ESP): first what the root's packages put under /boot/efi (Fedora's
// shim-x64 and grub2-efi-x64 install there), then EFI/BOOT/BOOTX64.EFI,
// the fallback path every firmware boots. With SecureBoot and a shim and
// signed grub in the root (see signedChain) that is the shim, which loads
// the signed grub next to it; grub finds kiwi's early grub.cfg next to
// itself or in the vendor directory it was built for. Otherwise it is a
// grub image built from the root's modules. It reports whether the signed
// chain was used.
func FillESP(ctx context.Context, r runner.Runner, root, esp string, o ESPOptions) (bool, error) {
	boot := filepath.Join(esp, "EFI", "BOOT")
	if err := copyTree(filepath.Join(root, "boot/efi"), esp); err != nil {
		return false, fmt.Errorf("the root's /boot/efi: %w", err)
	}
	if err := os.MkdirAll(boot, 0o755); err != nil {
		return false, err
	}
	early := earlyConfigFor(searchCommand(o.BootUUID, o.MarkerFile), o.GrubDir)
	if o.SecureBoot {
		chain, err := signedChain(root)
		if err != nil {
			return false, err
		}
		if chain != nil {
			for _, f := range chain.files {
				if err := copyFile(filepath.Join(root, f.src), filepath.Join(boot, f.name)); err != nil {
					return false, err
				}
			}
			for _, d := range append([]string{"EFI/BOOT"}, chain.vendorDirs...) {
				if err := os.MkdirAll(filepath.Join(esp, d), 0o755); err != nil {
					return false, err
				}
				if err := os.WriteFile(filepath.Join(esp, d, "grub.cfg"), []byte(early), 0o644); err != nil {
					return false, err
				}
			}
			return true, nil
		}
	}
	g := grubImage{platform: "x86_64-efi", format: "x86_64-efi", early: early, grubDir: o.GrubDir}
	if o.MarkerFile != "" {
		g.extra = liveGrubModules
	}
	if err := makeImage(ctx, r, root, g, filepath.Join(boot, "BOOTX64.EFI")); err != nil {
		return false, fmt.Errorf("EFI boot image: %w", err)
	}
	return false, nil
}

// efiFile is one file of the signed chain: its path in the root and its
// name in EFI/BOOT.
type efiFile struct{ src, name string }

// secureChain is what a secure boot ESP gets from the root.
type secureChain struct {
	files []efiFile
	// vendorDirs also get the early grub.cfg: where the signed grub
	// looks for it (EFI/debian for Debian's, EFI/fedora next to
	// Fedora's shim).
	vendorDirs []string
}

// efiGlob is one place a distribution installs an EFI binary, and the
// name it gets in EFI/BOOT ("" keeps its own).
type efiGlob struct{ glob, name string }

// The places of the signed boot files, in KIWI's order (its Defaults
// get_shim_loader, get_signed_grub_loader and get_mok_manager), x86_64
// only. Each shim is built to load a second stage of one name from its
// own directory: openSUSE's loads grub.efi, Fedora's and Debian's
// grubx64.efi, which is the name each grub gets.
var (
	shimGlobs = []efiGlob{
		{"usr/lib/shim/shim*.efi.signed.latest", "BOOTX64.EFI"}, // Debian, Ubuntu
		{"usr/lib/shim/shim*.efi.signed", "BOOTX64.EFI"},
		{"usr/share/efi/x86_64/shim.efi", "BOOTX64.EFI"}, // openSUSE, SLES
		{"usr/lib64/efi/shim.efi", "BOOTX64.EFI"},        // older SLES
		{"boot/efi/EFI/*/shimx64.efi", "BOOTX64.EFI"},    // Fedora, RHEL
		{"boot/efi/EFI/*/shim.efi", "BOOTX64.EFI"},
	}
	signedGrubGlobs = []efiGlob{
		{"usr/share/efi/x86_64/grub.efi", "grub.efi"},
		{"usr/lib64/efi/grub.efi", "grub.efi"},
		{"boot/efi/EFI/*/grubx64.efi", "grubx64.efi"},
		{"usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed", "grubx64.efi"},
	}
	// Debian's MokManager is mmx64.efi.signed, which KIWI's globs miss.
	mokGlobs = []efiGlob{
		{"usr/share/efi/x86_64/MokManager.efi", ""},
		{"usr/lib64/efi/MokManager.efi", ""},
		{"boot/efi/EFI/*/mmx64.efi", ""},
		{"usr/lib/shim/mmx64.efi.signed", "mmx64.efi"},
		{"usr/lib/shim/mmx64.efi", ""},
	}
)

// firstMatch is the first regular file matching globs in root (within
// one glob the shortest path, as KIWI sorts them), as a path in the root.
func firstMatch(root string, globs []efiGlob) (efiFile, bool) {
	for _, g := range globs {
		m, _ := filepath.Glob(filepath.Join(root, g.glob))
		sort.SliceStable(m, func(i, j int) bool { return len(m[i]) < len(m[j]) })
		for _, f := range m {
			if fi, err := os.Stat(f); err != nil || !fi.Mode().IsRegular() {
				continue
			}
			name := g.name
			if name == "" {
				name = filepath.Base(f)
			}
			return efiFile{src: strings.TrimPrefix(f, filepath.Clean(root)), name: name}, true
		}
	}
	return efiFile{}, false
}

// signedChain finds root's shim, signed grub and MokManager; nil when it
// lacks a shim or a signed grub. The vendor directories are those of the
// root's own ESP shims (boot/efi/EFI/<vendor>/shim*.efi) and the
// /EFI/<vendor> prefix built into the signed grub, as KIWI finds them.
func signedChain(root string) (*secureChain, error) {
	shim, ok1 := firstMatch(root, shimGlobs)
	grub, ok2 := firstMatch(root, signedGrubGlobs)
	if !ok1 || !ok2 {
		return nil, nil
	}
	c := &secureChain{files: []efiFile{shim, grub}}
	if mok, ok := firstMatch(root, mokGlobs); ok {
		c.files = append(c.files, mok)
	}
	seen := map[string]bool{"EFI/BOOT": true}
	add := func(d string) {
		if !seen[d] {
			seen[d] = true
			c.vendorDirs = append(c.vendorDirs, d)
		}
	}
	shims, _ := filepath.Glob(filepath.Join(root, "boot/efi/EFI/*/shim*.efi"))
	for _, s := range shims {
		add("EFI/" + filepath.Base(filepath.Dir(s)))
	}
	b, err := os.ReadFile(filepath.Join(root, grub.src))
	if err != nil {
		return nil, fmt.Errorf("signed grub: %w", err)
	}
	for _, d := range builtinVendorDirs(b) {
		add(d)
	}
	return c, nil
}

// builtinVendorDirs are the "/EFI/<vendor>" C strings in a grub EFI
// binary: the prefix a distribution's signed grub was built with
// (Debian's is /EFI/debian), where it reads grub.cfg from.
func builtinVendorDirs(bin []byte) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range bytes.Split(bin, []byte{0}) {
		name, ok := bytes.CutPrefix(s, []byte("/EFI/"))
		if !ok || len(name) == 0 || len(name) > 64 || bytes.ContainsFunc(name, func(r rune) bool {
			return !(r == '-' || r == '_' || r == '.' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
		}) {
			continue
		}
		if d := "EFI/" + string(name); !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out
}

// copyTree copies the directories and regular files under from (when it
// exists) into to; anything else cannot be on a FAT ESP and is an error.
func copyTree(from, to string) error {
	if _, err := os.Lstat(from); os.IsNotExist(err) {
		return nil
	}
	return filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(from, p)
		if err != nil {
			return err
		}
		dst := filepath.Join(to, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(dst, 0o755)
		case d.Type().IsRegular():
			return copyFile(p, dst)
		default:
			return fmt.Errorf("%s is not a regular file or directory, which a FAT ESP cannot hold", p)
		}
	})
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o644)
}
