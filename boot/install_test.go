package boot

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestInstallModule: kiwi-install's files are valid shell, its settings
// file reads back as given (a filter with a quote in it too), and values
// that could break the settings file are refused.
func TestInstallModule(t *testing.T) {
	root := t.TempDir()
	i := Install{VolumeID: "INSTALL", Image: "x.raw.squashfs", Raw: "x.raw", Checksum: "ab12", Size: 1 << 30,
		DeviceFilter: `/dev/sd[bc]|it's`, SkipVerify: true, Shutdown: true}
	name, err := installModule(root, i)
	if err != nil || name != InstallModule {
		t.Fatalf("%s %v", name, err)
	}
	dir := filepath.Join(root, "usr/lib/dracut/modules.d/95kiwi-install")
	for _, f := range []string{"module-setup.sh", "kiwi-install-root.sh", "kiwi-install.sh"} {
		shell := "sh"
		if f == "module-setup.sh" {
			shell = "bash"
		}
		if out, err := exec.Command(shell, "-n", filepath.Join(dir, f)).CombinedOutput(); err != nil {
			t.Errorf("%s: %v %s", f, err, out)
		}
	}
	out, err := exec.Command("sh", "-c", `. "$1"; printf '%s|%s|%s|%s|%s|%s|%s|%s' "$volid" "$image" "$rawname" "$checksum" "$size" "$filter" "$verify" "$shutdown"`,
		"sh", filepath.Join(dir, "kiwi-install.conf")).Output()
	if want := `INSTALL|x.raw.squashfs|x.raw|ab12|1073741824|/dev/sd[bc]|it's|0|1`; err != nil || string(out) != want {
		t.Errorf("settings read back as %q (%v), want %q", out, err, want)
	}
	i.Raw = "it's.raw"
	if _, err := installModule(t.TempDir(), i); err == nil || !strings.Contains(err.Error(), "not a plain word") {
		t.Errorf("a quote in a name: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "kiwi-install.conf")); err != nil {
		t.Error(err)
	}
}
