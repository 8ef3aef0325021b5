package oci

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	"go.podman.io/image/v5/oci/layout"

	"github.com/kiwi-go/kiwi/internal/fstest"
)

// ociImage writes layers into an OCI layout (tag "test").
func ociImage(t *testing.T, layers ...[]byte) (string, []digest.Digest) {
	t.Helper()
	return fstest.OCILayout(t, filepath.Join(t.TempDir(), "layout"), "test", layers...)
}

func TestApplyImageRefusesHostileLayers(t *testing.T) {
	if !fstest.IsRoot() {
		t.Skip("needs root")
	}
	for _, c := range fstest.HostileLayers() {
		t.Run(c.Name, func(t *testing.T) {
			box, target, before := fstest.Sandbox(t)
			path, _ := ociImage(t, fstest.Tar(fstest.TarEntry{Name: "ok", Type: tar.TypeReg, Body: "fine"}), fstest.Tar(c.Entries...))
			ref, err := layout.ParseReference(path + ":test")
			if err != nil {
				t.Fatal(err)
			}
			err = ApplyImage(context.Background(), ref, target, CopyOptions{})
			if err == nil || !strings.Contains(err.Error(), c.Want) || !strings.Contains(err.Error(), "layer 2") {
				t.Fatalf("error %v, want one naming layer 2 and %q", err, c.Want)
			}
			fstest.AssertUntouched(t, box, before)
		})
	}
}

func TestApplyImageChecksDigests(t *testing.T) {
	_, target, _ := fstest.Sandbox(t)
	path, diffIDs := ociImage(t, fstest.Tar(fstest.TarEntry{Name: "f", Type: tar.TypeReg, Body: "original"}))
	blob := filepath.Join(path, "blobs", "sha256", diffIDs[0].Encoded())
	b, err := os.ReadFile(blob)
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.Replace(b, []byte("original"), []byte("tampered"), 1)
	if err := os.WriteFile(blob, b, 0o644); err != nil {
		t.Fatal(err)
	}
	ref, err := layout.ParseReference(path + ":test")
	if err != nil {
		t.Fatal(err)
	}
	err = ApplyImage(context.Background(), ref, target, CopyOptions{})
	if err == nil || !strings.Contains(err.Error(), diffIDs[0].String()) {
		t.Fatalf("error %v, want one naming blob %s", err, diffIDs[0])
	}
}
