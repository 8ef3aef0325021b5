package oci

import (
	"archive/tar"
	"context"
	"io"
	"runtime"
	"testing"
	"time"

	ispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiwi-go/kiwi/internal/fstest"
)

// TestAppendLayerArch: an image started from scratch carries the arch it
// is given (a root prepared for aarch64 on x86_64), else the host's; an
// image on a parent keeps the parent's.
func TestAppendLayerArch(t *testing.T) {
	base, store := vfsStore(t)
	ctx := context.Background()
	layer := fstest.Tar(fstest.TarEntry{Name: "etc", Type: tar.TypeDir}, fstest.TarEntry{Name: "etc/hostname", Type: tar.TypeReg, Body: "x\n"})
	add := func(name, parent, arch string) string {
		t.Helper()
		out, err := store.AppendLayer(ctx, Append{
			ParentID: parent, Name: name, Arch: arch, TempDir: base, Created: time.Now(),
			Layer:   func(w io.Writer) error { _, err := w.Write(layer); return err },
			History: ispec.History{CreatedBy: "test"},
		})
		if err != nil {
			t.Fatal(err)
		}
		return out.ImageID
	}
	archOf := func(id string) string {
		t.Helper()
		cfg, err := store.ImageConfig(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return cfg.Architecture
	}
	arm := add("localhost/arm:1", "", "arm64")
	host := add("localhost/host:1", "", "")
	onArm := add("localhost/on-arm:1", arm, "")
	for id, want := range map[string]string{arm: "arm64", host: runtime.GOARCH, onArm: "arm64"} {
		if got := archOf(id); got != want {
			t.Errorf("image %s: architecture %q, want %q", id[:12], got, want)
		}
	}
}
