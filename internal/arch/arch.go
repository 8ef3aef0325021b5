// Package arch names architectures as KIWI, Debian, QEMU and OCI spell them,
// and tells whether programs of one run on this host.
package arch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
)

// archNames maps KIWI's architecture names to Debian's (dpkg, debootstrap
// --arch), to the name of QEMU's user-mode emulator (qemu-<name>), which
// is also the name of its binfmt_misc handler, and to OCI's (Go's GOARCH),
// which image configurations carry.
var archNames = map[string]struct{ debian, qemu, oci string }{
	"x86_64":  {"amd64", "x86_64", "amd64"},
	"aarch64": {"arm64", "aarch64", "arm64"},
	"i686":    {"i386", "i386", "386"},
	"i586":    {"i386", "i386", "386"},
	"armv7l":  {"armhf", "arm", "arm"},
	"ppc64le": {"ppc64el", "ppc64le", "ppc64le"},
	"s390x":   {"s390x", "s390x", "s390x"},
	"riscv64": {"riscv64", "riscv64", "riscv64"},
}

// OCI is the OCI architecture name of the KIWI architecture arch
// (aarch64 -> arm64), or "" (the host's) when kiwi knows none.
func OCI(arch string) string {
	return archNames[arch].oci
}

// Debian is the Debian architecture name of the KIWI architecture
// arch (aarch64 -> arm64), or an error naming the ones kiwi knows.
func Debian(arch string) (string, error) {
	n, ok := archNames[arch]
	if !ok {
		return "", fmt.Errorf("architecture %q: kiwi knows no Debian name for it (it knows %s)", arch, knownArches())
	}
	return n.debian, nil
}

func knownArches() string {
	names := make([]string, 0, len(archNames))
	for k := range archNames {
		names = append(names, k)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// binfmtDir is where the kernel lists its binfmt_misc handlers.
const binfmtDir = "/proc/sys/fs/binfmt_misc"

// CanRun tells whether programs of architecture arch run on this host, as
// preparing a root of that arch needs (debootstrap's second stage, the
// root's apt-get and dpkg, config.sh and dracut all run inside it). The
// host's own arch always does; another one needs QEMU's user-mode
// emulator registered with binfmt_misc with the F (fix binary) flag, so
// that it runs in a root that has no emulator of its own. The error says
// what to install and enable.
func CanRun(arch string) error {
	return canRun(binfmtDir, arch)
}

func canRun(dir, arch string) error {
	host := Host()
	if arch == "" || arch == host {
		return nil
	}
	n, ok := archNames[arch]
	if !ok {
		return fmt.Errorf("cannot build for architecture %q on this %s host: kiwi knows %s", arch, host, knownArches())
	}
	handler := "qemu-" + n.qemu
	fix := fmt.Sprintf("install qemu-user-static and binfmt-support (apt-get install qemu-user-static binfmt-support), then "+
		"mount -t binfmt_misc binfmt_misc %s (if it is not mounted) and update-binfmts --enable %s", dir, handler)
	b, err := os.ReadFile(filepath.Join(dir, handler))
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := os.Stat(filepath.Join(dir, "status")); serr != nil {
			return fmt.Errorf("building for %s on this %s host runs %s programs through QEMU, but binfmt_misc is not mounted at %s: %s", arch, host, arch, dir, fix)
		}
		return fmt.Errorf("building for %s on this %s host runs %s programs through QEMU, but binfmt_misc has no %s handler: %s", arch, host, arch, handler, fix)
	}
	if err != nil {
		return fmt.Errorf("binfmt_misc handler %s: %w", handler, err)
	}
	enabled, flags := false, ""
	for _, l := range strings.Split(string(b), "\n") {
		if l == "enabled" {
			enabled = true
		}
		if f, ok := strings.CutPrefix(l, "flags: "); ok {
			flags = f
		}
	}
	if !enabled {
		return fmt.Errorf("building for %s on this %s host: the binfmt_misc handler %s is disabled: update-binfmts --enable %s", arch, host, handler, handler)
	}
	if !strings.Contains(flags, "F") {
		return fmt.Errorf("building for %s on this %s host: the binfmt_misc handler %s lacks the F (fix binary) flag, so it cannot run programs inside a root that has no emulator: use Debian's qemu-user-static (its handlers have it) or register %s with flag F", arch, host, handler, handler)
	}
	return nil
}

// Host maps the Go architecture of this machine to KIWI's name.
func Host() string {
	switch runtime.GOARCH {
	case "amd64":
		return "x86_64"
	case "arm64":
		return "aarch64"
	case "386":
		return "i686"
	case "arm":
		return "armv7l"
	}
	return runtime.GOARCH // ppc64le, s390x, riscv64, ppc64 match already
}
