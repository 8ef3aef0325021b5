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

// TestInstallModuleRemote: the PXE variant needs no media settings and
// says remote=1, which makes module-setup depend on the network.
func TestInstallModuleRemote(t *testing.T) {
	root := t.TempDir()
	if _, err := installModule(root, Install{Remote: true, DeviceFilter: "/dev/vdb"}); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "usr/lib/dracut/modules.d/95kiwi-install")
	out, err := exec.Command("bash", "-c", `moddir=$1; . "$moddir/module-setup.sh"; depends; . "$moddir/kiwi-install.conf"; echo "$remote $filter"`, "bash", dir).Output()
	if want := "udev-rules network url-lib\n1 /dev/vdb\n"; err != nil || string(out) != want {
		t.Errorf("depends and settings: %q (%v), want %q", out, err, want)
	}
	if _, err := installModule(t.TempDir(), Install{}); err == nil {
		t.Error("an ISO installer without its media settings was written")
	}
}

func TestPXEToolsNamesWhatIsMissing(t *testing.T) {
	full := append([]string{"usr/lib/dracut/modules.d/40network/module-setup.sh", "usr/lib/dracut/modules.d/45url-lib/module-setup.sh",
		"usr/bin/curl", "usr/bin/xz"}, debianMerged...)
	if err := PXETools(fakeRoot(t, full...)); err != nil {
		t.Fatal(err)
	}
	err := PXETools(fakeRoot(t, append([]string{"usr/lib/dracut/modules.d/40network/module-setup.sh", "usr/bin/xz"}, debianMerged...)...))
	for _, want := range []string{"installpxe", "url-lib", "dracut-network", "curl (package curl)", "leave installpxe out"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "xz (") || strings.Contains(err.Error(), "dracut's network module") {
		t.Errorf("error names what is there: %v", err)
	}
}
