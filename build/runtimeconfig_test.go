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
