package build

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestReadRuntimeConfigSettings: the settings this kiwi reads, KIWI's
// format, the others listed as unused, bad values named.
func TestReadRuntimeConfigSettings(t *testing.T) {
	write := func(content string) string {
		f := filepath.Join(t.TempDir(), "kiwi.yml")
		if err := os.WriteFile(f, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	rc, err := ReadRuntimeConfig(write("container:\n  - compress: none\nbundle:\n  - compress: false\n  - has_package_changes: false\nxz:\n  - options: -0 --threads=0\nobs:\n  - public: false\n"))
	if err != nil {
		t.Fatal(err)
	}
	if rc.ContainerCompress != "none" || rc.BundleCompress == nil || *rc.BundleCompress || !reflect.DeepEqual(rc.XZOptions, []string{"-0", "--threads=0"}) ||
		!rc.NoPackageChanges ||
		!reflect.DeepEqual(rc.Unused, []string{"obs.public"}) {
		t.Errorf("runtime config %+v", rc)
	}
	rc, err = ReadRuntimeConfig("")
	if err != nil || rc.BundleCompress != nil || rc.XZOptions != nil || rc.ContainerCompress != "xz" {
		t.Errorf("defaults %+v, %v", rc, err)
	}
	for content, want := range map[string]string{
		"bundle:\n  - compress: maybe\n": "bundle: compress: maybe: use true or false",
		"xz:\n  - options: [a]\n":        "xz: options",
		"container:\n  - compress: 7\n":  "container: compress: 7: use xz or none",
	} {
		if _, err := ReadRuntimeConfig(write(content)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", content, err, want)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"1048576": 1 << 20, "20G": 20 << 30, "512m": 512 << 20, "64K": 64 << 10} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1G", "1.5G", "20GB", "G", "99999999999999999G"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) took it", in)
		}
	}
}
