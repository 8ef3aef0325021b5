package oci

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestChangesCarryParentDirectories: a file added below directories that
// did not change (root, var, var/lib), and one deleted, come with those
// directories, so whoever applies the layer keeps their mode instead of
// making them 0755; a directory that changed is listed once, and nothing
// beside the changes is.
func TestChangesCarryParentDirectories(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"root/.config", "var/lib/private", "etc"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"var/lib/private/gone", "etc/keep"} {
		if err := os.WriteFile(filepath.Join(root, f), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	before, err := TakeSnapshot(root, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "root/.config/new"), []byte("y"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(root, "var/lib/private/gone")); err != nil {
		t.Fatal(err)
	}
	after, err := TakeSnapshot(root, nil, before)
	if err != nil {
		t.Fatal(err)
	}
	changes, err := after.Changes(before)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range changes {
		got = append(got, c.Path())
	}
	slices.Sort(got)
	for _, want := range []string{"root", "root/.config", "root/.config/new", "var", "var/lib", "var/lib/private", "var/lib/private/gone"} {
		if !slices.Contains(got, want) {
			t.Errorf("changes %v lack %s", got, want)
		}
	}
	for _, p := range got {
		if p == "etc" || p == "etc/keep" {
			t.Errorf("changes %v hold the unchanged %s", got, p)
		}
	}
	seen := map[string]bool{}
	for _, p := range got {
		if seen[p] {
			t.Errorf("%s is listed twice: %v", p, got)
		}
		seen[p] = true
	}
}
