package create

import (
	"os"
	"path/filepath"
	"testing"

	"go.podman.io/storage/pkg/reexec"

	"github.com/kiwi-go/kiwi/build/description"
)

// TestMain lets containers-storage re-execute the test binary to apply
// layers (the container builder's tests), as it does with kiwi itself.
func TestMain(m *testing.M) {
	if reexec.Init() {
		return
	}
	os.Exit(m.Run())
}

// desc wraps body (sections after <description>) into a description.
func desc(body string) string {
	return `<?xml version="1.0" encoding="utf-8"?>
<image schemaversion="7.5" name="test">
    <description type="system">
        <author>a</author>
        <contact>c</contact>
        <specification>s</specification>
    </description>
` + body + `
</image>
`
}

// load writes content as config.xml into a new directory and loads it for
// x86_64 unless o says otherwise; warnings are returned, not logged.
func load(t *testing.T, content string, o description.LoadOptions) (*description.Description, error, []description.Problem) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.xml"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	var warnings []description.Problem
	o.Warn = func(p description.Problem) { warnings = append(warnings, p) }
	if o.TargetArch == "" {
		o.TargetArch = "x86_64"
	}
	d, err := description.Load(dir, o)
	return d, err, warnings
}
