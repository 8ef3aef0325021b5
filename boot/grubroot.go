package boot

import (
	"os"
	"path"
	"path/filepath"

	securejoin "github.com/cyphar/filepath-securejoin"
)

// Grub is how a root names grub's tools and directories. Distributions
// differ: Debian, Ubuntu and Arch have grub-mkconfig, /boot/grub and
// modules in /usr/lib/grub; openSUSE/SLES have grub2-mkconfig,
// /boot/grub2 and modules in /usr/share/grub2; Fedora/RHEL have
// grub2-mkconfig and /boot/grub2 with modules in /usr/lib/grub. Each is
// found on its own, in KIWI's order, instead of guessing a distribution.
type Grub struct {
	// Dir is grub's directory under /boot: "grub2" when the root has
	// grub2-install (KIWI's test), else "grub".
	Dir string
	// Mkconfig is the root's grub-mkconfig (grub2-mkconfig first), its
	// path in the root; "" when it has none.
	Mkconfig string
	// Probe and Mkrelpath are the root's grub-probe and grub-mkrelpath
	// (either naming, symlinks resolved in the root), the tools
	// Mkconfig's scripts ask about the block devices.
	Probe, Mkrelpath []string
}

// toolDirs are where a root's grub tools are looked for, in the order of
// a root user's PATH.
var toolDirs = []string{"/usr/sbin", "/usr/bin", "/sbin", "/bin"}

// GrubOf reads root's grub naming.
func GrubOf(root string) Grub {
	g := Grub{Dir: "grub"}
	if len(rootTools(root, "grub2-install")) > 0 {
		g.Dir = "grub2"
	}
	for _, n := range []string{"grub2-mkconfig", "grub-mkconfig"} {
		if t := rootTools(root, n); len(t) > 0 {
			g.Mkconfig = t[0]
			break
		}
	}
	g.Probe = rootTools(root, "grub2-probe", "grub-probe")
	g.Mkrelpath = rootTools(root, "grub2-mkrelpath", "grub-mkrelpath")
	return g
}

// CanMkconfig tells whether the root brings a grub-mkconfig with the
// grub-probe and grub-mkrelpath it calls.
func (g Grub) CanMkconfig() bool {
	return g.Mkconfig != "" && len(g.Probe) > 0 && len(g.Mkrelpath) > 0
}

// ConfigPath is grub.cfg's path in the root.
func (g Grub) ConfigPath() string { return "/boot/" + g.Dir + "/grub.cfg" }

// rootTools returns the regular files named names in root's tool
// directories, as paths in the root with symlinks resolved inside it
// (a link to /usr/sbin/x names the root's file, never the host's), each
// once.
func rootTools(root string, names ...string) []string {
	var out []string
	seen := map[string]bool{}
	for _, n := range names {
		for _, d := range toolDirs {
			full, err := securejoin.SecureJoin(root, path.Join(d, n))
			if err != nil {
				continue
			}
			fi, err := os.Stat(full)
			if err != nil || !fi.Mode().IsRegular() {
				continue
			}
			rel, err := filepath.Rel(filepath.Clean(root), full)
			if err != nil {
				continue
			}
			in := "/" + filepath.ToSlash(rel)
			if !seen[in] {
				seen[in] = true
				out = append(out, in)
			}
		}
	}
	return out
}

// moduleDirs are where a root's grub modules are looked for, in KIWI's
// order (its Defaults.get_grub_path).
var moduleDirs = []string{"usr/share/grub2", "usr/lib/grub2", "usr/share/grub", "usr/lib/grub"}
