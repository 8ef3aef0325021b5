package tests

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kiwi-go/kiwi/internal/chroot"
	"github.com/kiwi-go/kiwi/internal/runner"
)

// TestKconfigFunctions runs a check of every function of the script
// library (/.kconfig) in a copy of the boot root, the way a description's
// script runs (chroot.Script: the library at /.kconfig, bash, set -euo
// pipefail in each check): services enabled with the root's systemctl,
// the kernel tree stripped to the drivers asked for with its modprobe and
// depmod, and so on (tests/testdata/kconfig/check.sh). Every function the
// library defines must have a check that passes; the library is gone
// from the root afterwards.
func TestKconfigFunctions(t *testing.T) {
	pooled(t, 29)
	root := overlayRoot(t, "bookworm-boot")
	writeDescription(t, root, mustRead(t, filepath.Join(s.repo, "tests", "testdata", "debian-oem", "config.xml")))
	check, err := os.ReadFile(filepath.Join(s.repo, "tests", "testdata", "kconfig", "check.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "image", "check.sh"), check, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := chroot.Script(context.Background(), runner.Runner{}, root, "check.sh", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(root, ".kconfig")); err == nil {
		t.Error("/.kconfig left in the root after the script")
	}
	b, err := os.ReadFile(filepath.Join(root, "tmp", "kconfig-results"))
	if err != nil {
		t.Fatal(err)
	}
	results := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		status, rest, _ := strings.Cut(line, " ")
		name, detail, _ := strings.Cut(rest, ":")
		results[name] = status + ":" + strings.TrimSpace(detail)
	}
	for _, name := range libraryFunctions(t) {
		t.Run(name, func(t *testing.T) {
			status, detail, _ := strings.Cut(results[name], ":")
			switch status {
			case "ok":
			case "skip":
				t.Skip(detail)
			case "FAIL":
				t.Error(strings.ReplaceAll(detail, "|", "\n"))
			default:
				t.Errorf("no check t_%s in tests/testdata/kconfig/check.sh", name)
			}
		})
	}
	if t.Failed() {
		t.Logf("results:\n%s", b)
	}
}

// overlayRoot is the cached root of kind (hack/debian-root.sh) as the
// lower layer of an overlay mount in a temp dir of t: a private writable
// root without copying a gigabyte (the checks strip and delete much of
// it). The mount is the test's, not kiwi's.
func overlayRoot(t *testing.T, kind string) string {
	t.Helper()
	out, err := exec.Command(filepath.Join(s.repo, "hack", "debian-root.sh"), kind).Output()
	if err != nil {
		t.Fatalf("Debian root %s: %v", kind, err)
	}
	dir := t.TempDir()
	upper, work, merged := filepath.Join(dir, "upper"), filepath.Join(dir, "work"), filepath.Join(dir, "root")
	for _, d := range []string{upper, work, merged} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	opts := "lowerdir=" + strings.TrimSpace(string(out)) + ",upperdir=" + upper + ",workdir=" + work
	if b, err := exec.Command("mount", "-t", "overlay", "overlay", "-o", opts, merged).CombinedOutput(); err != nil {
		t.Fatalf("overlay mount: %v %s", err, b)
	}
	t.Cleanup(func() {
		if b, err := exec.Command("umount", merged).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", merged, err, b)
		}
	})
	return merged
}

// libraryFunctions are the functions the script library defines.
func libraryFunctions(t *testing.T) []string {
	t.Helper()
	var names []string
	for _, m := range regexp.MustCompile(`(?m)^function ([A-Za-z]+)`).FindAllSubmatch(chroot.Functions, -1) {
		names = append(names, string(m[1]))
	}
	if len(names) < 50 {
		t.Fatalf("only %d functions found in the library", len(names))
	}
	return names
}
