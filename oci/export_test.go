package oci

import (
	"archive/tar"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.podman.io/image/v5/oci/layout"

	"github.com/kiwi-go/kiwi/internal/fstest"
)

// TestProvideFindsAndFetchesBases: a stash name, a containers-storage:
// reference and a name in storage resolve to the image there; an oci:
// layout is copied into storage with its layers unchanged; what does not
// exist, and schemes that are no transport, fail naming the fix.
func TestProvideFindsAndFetchesBases(t *testing.T) {
	base, store := vfsStore(t)
	ctx := context.Background()
	layer := fstest.Tar(fstest.TarEntry{Name: "etc", Type: tar.TypeDir}, fstest.TarEntry{Name: "etc/os-release", Type: tar.TypeReg, Body: "ID=test\n"})
	out, err := store.AppendLayer(ctx, Append{Name: "localhost/base:1", TempDir: base, Created: time.Now(),
		Layer: func(w io.Writer) error { _, err := w.Write(layer); return err }})
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"base:1", "containers-storage:localhost/base:1", "localhost/base:1"} {
		if id, err := store.Provide(ctx, ref, CopyOptions{}); err != nil || id != out.ImageID {
			t.Errorf("Provide(%s) = %s, %v; want %s", ref, id, err, out.ImageID)
		}
	}
	dir := filepath.Join(base, "layout")
	toLayout(t, store, out.ImageID, dir+":v1")
	id, err := store.Provide(ctx, "oci:"+dir+":v1", CopyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := store.ImageConfig(ctx, id)
	if err != nil || len(cfg.RootFS.DiffIDs) != 1 || cfg.RootFS.DiffIDs[0] != out.Layer.Digest {
		t.Errorf("the fetched layout's layers %v (%v), want %s", cfg.RootFS.DiffIDs, err, out.Layer.Digest)
	}
	for ref, want := range map[string]string{
		"nope:1":               "not in local storage",
		"obs://p/r/i":          "registry.opensuse.org",
		"file:///tmp/x.tar":    "oci-archive:FILE",
		"oci:" + dir + ":none": "fetch image",
	} {
		if _, err := store.Provide(ctx, ref, CopyOptions{}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Provide(%s): %v, want an error saying %q", ref, err, want)
		}
	}
}

// TestProvideReadsAnUnchangedLayoutOnce: an OCI layout provided again
// while its manifest is the one copied before is not copied again (here
// its config blob is gone, which a copy reads); a layout whose tag names
// another manifest now is copied.
func TestProvideReadsAnUnchangedLayoutOnce(t *testing.T) {
	base, store := vfsStore(t)
	ctx := context.Background()
	dir := filepath.Join(base, "layout")
	ref := "oci:" + dir + ":v1"
	newImage := func(name, body string) string {
		layer := fstest.Tar(fstest.TarEntry{Name: "etc", Type: tar.TypeDir}, fstest.TarEntry{Name: "etc/os-release", Type: tar.TypeReg, Body: body})
		out, err := store.AppendLayer(ctx, Append{Name: name, TempDir: base, Created: time.Now(),
			Layer: func(w io.Writer) error { _, err := w.Write(layer); return err }})
		if err != nil {
			t.Fatal(err)
		}
		toLayout(t, store, out.ImageID, dir+":v1")
		return out.ImageID
	}
	first := newImage("localhost/a:1", "ID=a\n")
	idA, err := store.Provide(ctx, ref, CopyOptions{})
	if err != nil || idA != first {
		t.Fatalf("Provide(%s) = %s, %v; want %s", ref, idA, err, first)
	}
	second := newImage("localhost/b:1", "ID=b\n")
	idB, err := store.Provide(ctx, ref, CopyOptions{})
	if err != nil || idB != second || idB == idA {
		t.Fatalf("Provide(%s) of the changed layout = %s, %v; want %s", ref, idB, err, second)
	}
	if err := os.Remove(filepath.Join(dir, "blobs", "sha256", idB)); err != nil {
		t.Fatal(err)
	}
	if id, err := store.Provide(ctx, ref, CopyOptions{}); err != nil || id != idB {
		t.Errorf("Provide(%s) of the unchanged layout = %s, %v; want %s from storage, without a copy", ref, id, err, idB)
	}
}

// toLayout copies the local image id to the OCI layout reference
// DIR:TAG.
func toLayout(t *testing.T, store *Store, id, ref string) {
	t.Helper()
	dst, err := layout.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	src, err := store.ImageReference(id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Copy(context.Background(), src, dst, CopyOptions{}); err != nil {
		t.Fatal(err)
	}
}
