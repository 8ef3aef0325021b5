package build

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiwi-go/kiwi/build/description"
)

// writeDescription writes a description with the given <type> and
// package manager into a new directory.
func writeDescription(t *testing.T, typ, pm string) string {
	t.Helper()
	dir := t.TempDir()
	xml := `<?xml version="1.0" encoding="utf-8"?>
<image schemaversion="7.4" name="t">
    <description type="system"><author>a</author><contact>c</contact><specification>s</specification></description>
    <preferences>
        <version>1.0.0</version>
        <packagemanager>` + pm + `</packagemanager>
        ` + typ + `
    </preferences>
    <repository type="apt-deb" distribution="bookworm" components="main"><source path="file:///nonexistent"/></repository>
    <packages type="image"><package name="x"/></packages>
</image>
`
	if err := os.WriteFile(filepath.Join(dir, "config.xml"), []byte(xml), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func load(t *testing.T, dir string) *description.Description {
	t.Helper()
	d, err := Load(dir, description.LoadOptions{TargetArch: "x86_64"}, description.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// entries lists what dir holds, recursively, as relative paths.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	_ = filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err == nil && p != dir {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

func TestBuildRefusesBeforeAnyWork(t *testing.T) {
	d := load(t, writeDescription(t, `<type image="oem" filesystem="ext4" luks="secret"/>`, "apt"))
	target := filepath.Join(t.TempDir(), "out")
	_, err := Build(context.Background(), d, Options{TargetDir: target})
	if err == nil || !strings.Contains(err.Error(), "luks") || strings.Contains(err.Error(), "secret") {
		t.Fatalf("Build with luks: %v", err)
	}
	if _, err := os.Stat(target); err == nil {
		t.Error("a refused build made its target dir")
	}
}

func TestBuildLeavesTheTargetAsItWasWhenPrepareFails(t *testing.T) {
	// prepare refuses a package manager it does not have before it makes
	// the root: what Build made for the root must go, the user's file
	// stays.
	d := load(t, writeDescription(t, `<type image="oem" filesystem="ext4"/>`, "zypper"))
	target := filepath.Join(t.TempDir(), "out")
	if err := os.MkdirAll(target, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(target, "keep"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Build(context.Background(), d, Options{TargetDir: target})
	if err == nil || !strings.Contains(err.Error(), "zypper") {
		t.Fatalf("Build with zypper: %v", err)
	}
	if got := entries(t, target); len(got) != 1 || got[0] != "keep" {
		t.Errorf("target dir after a failed prepare holds %v, want only keep", got)
	}
	// A target that did not exist is gone again.
	fresh := filepath.Join(t.TempDir(), "a", "b")
	if _, err := Build(context.Background(), d, Options{TargetDir: fresh}); err == nil {
		t.Fatal("want the prepare error")
	}
	if _, err := os.Stat(filepath.Dir(fresh)); err == nil {
		t.Errorf("%s made for the build is left", filepath.Dir(fresh))
	}
}

func TestMkdirNewAndRemoveEmpty(t *testing.T) {
	base := t.TempDir()
	made, err := MkdirNew(filepath.Join(base, "a", "b", "c"))
	if err != nil {
		t.Fatal(err)
	}
	if len(made) != 3 || made[0] != filepath.Join(base, "a") {
		t.Fatalf("MkdirNew made %v", made)
	}
	if err := os.WriteFile(filepath.Join(base, "a", "b", "user-file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	RemoveEmpty(made)
	if got := entries(t, base); strings.Join(got, ",") != "a,a/b,a/b/user-file" {
		t.Errorf("after RemoveEmpty: %v (the empty c goes, what holds a file stays)", got)
	}
	if made, err := MkdirNew(base); err != nil || len(made) != 0 {
		t.Errorf("MkdirNew of an existing dir: %v %v", made, err)
	}
}

func TestLoadNamesTheCommandLineChanges(t *testing.T) {
	dir := writeDescription(t, `<type image="oem" filesystem="ext4"/>`, "apt")
	_, err := Load(dir, description.LoadOptions{TargetArch: "x86_64"}, description.Overrides{TypeAttrs: []string{"nonsense"}})
	if err == nil || !strings.Contains(err.Error(), "changes to "+dir) || !strings.Contains(err.Error(), "nonsense") {
		t.Errorf("Load with a bad type attribute: %v", err)
	}
	if _, err := Load("", description.LoadOptions{}, description.Overrides{}); err == nil {
		t.Error("Load without a directory succeeded")
	}
}

func TestPlanRootChecksTheRootBeforeAnyWork(t *testing.T) {
	if _, err := PlanRoot(filepath.Join(t.TempDir(), "none"), Options{}); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("PlanRoot of a missing root: %v", err)
	}
	// A root with a description but no kernel: refused, nothing written.
	root := t.TempDir()
	desc := writeDescription(t, `<type image="oem" filesystem="ext4"/>`, "apt")
	if err := os.MkdirAll(filepath.Join(root, "image"), 0o755); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(desc, "config.xml"))
	if err := os.WriteFile(filepath.Join(root, "image", "config.xml"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	before := entries(t, root)
	_, err := PlanRoot(root, Options{Load: description.LoadOptions{TargetArch: "x86_64"}})
	if err == nil || !strings.Contains(err.Error(), "kernel") {
		t.Errorf("PlanRoot of a root without a kernel: %v", err)
	}
	if after := entries(t, root); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Errorf("PlanRoot wrote into the root: %v -> %v", before, after)
	}
}
