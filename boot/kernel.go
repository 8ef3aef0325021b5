// Package boot makes a root tree bootable: it finds the kernel, builds the
// initrd inside the root, writes grub's configuration and builds grub's
// BIOS and EFI images, all without mounting anything on the host.
package boot

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Kernel is a kernel found in a root tree. Paths are relative to the root.
type Kernel struct {
	Version string
	Image   string // boot/vmlinuz-<version>
	// Initrd is where the initrd goes (Debian's name; dracut's elsewhere).
	Initrd string
}

// FindKernel returns the newest kernel in root's /boot.
func FindKernel(root string) (*Kernel, error) {
	matches, err := filepath.Glob(filepath.Join(root, "boot", "vmlinu[xz]-*"))
	if err != nil {
		return nil, err
	}
	var versions []string
	names := map[string]string{}
	for _, m := range matches {
		base := filepath.Base(m)
		v := base[strings.Index(base, "-")+1:]
		if _, err := os.Stat(filepath.Join(root, "lib", "modules", v)); err != nil {
			if _, err := os.Stat(filepath.Join(root, "usr", "lib", "modules", v)); err != nil {
				continue // a kernel without modules is a leftover
			}
		}
		versions = append(versions, v)
		names[v] = base
	}
	if len(versions) == 0 {
		return nil, fmt.Errorf("no kernel in %s/boot (vmlinuz-<version> with modules): install a kernel package in the image", root)
	}
	sort.Slice(versions, func(i, j int) bool { return versionLess(versions[i], versions[j]) })
	v := versions[len(versions)-1]
	return &Kernel{Version: v, Image: "boot/" + names[v], Initrd: "boot/initrd.img-" + v}, nil
}

// versionLess orders kernel versions by their numeric fields.
func versionLess(a, b string) bool {
	fa, fb := fields(a), fields(b)
	for i := 0; i < len(fa) && i < len(fb); i++ {
		na, ea := strconv.Atoi(fa[i])
		nb, eb := strconv.Atoi(fb[i])
		if ea == nil && eb == nil {
			if na != nb {
				return na < nb
			}
			continue
		}
		if fa[i] != fb[i] {
			return fa[i] < fb[i]
		}
	}
	return len(fa) < len(fb)
}

func fields(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == '.' || r == '-' || r == '_' || r == '+' })
}

// HasDracut fails when root has no dracut, which kiwi runs inside the
// root to build every initrd.
func HasDracut(root string) error {
	if _, err := os.Stat(filepath.Join(root, "usr/bin/dracut")); err != nil {
		return fmt.Errorf("no dracut in the image %s (usr/bin/dracut): install the dracut package (and a kernel) in it", root)
	}
	return nil
}
