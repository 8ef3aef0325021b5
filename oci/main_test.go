package oci

import (
	"os"
	"path/filepath"
	"testing"

	"go.podman.io/storage/pkg/reexec"

	"github.com/kiwi-go/kiwi/internal/fstest"
)

// TestMain lets containers-storage re-execute the test binary to apply
// layers in a chroot, as it does with kiwi itself.
func TestMain(m *testing.M) {
	if reexec.Init() {
		return
	}
	os.Exit(m.Run())
}

// vfsStore is a private vfs store in a temp dir (also returned), closed
// when the test ends; tests that need one skip without root.
func vfsStore(t *testing.T) (string, *Store) {
	t.Helper()
	if !fstest.IsRoot() {
		t.Skip("needs root (containers storage)")
	}
	base := t.TempDir()
	store, err := OpenStore(StoreOptions{GraphRoot: filepath.Join(base, "graph"), RunRoot: filepath.Join(base, "run"), Driver: "vfs"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return base, store
}
