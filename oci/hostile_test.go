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
	ispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/opencontainers/umoci/oci/cas/dir"
	"github.com/opencontainers/umoci/oci/casext"
	"go.podman.io/image/v5/oci/layout"

	"github.com/kiwi-go/kiwi/internal/fstest"
)

// ociImage writes layers into an OCI layout and returns its reference.
func ociImage(t *testing.T, layers ...[]byte) (string, []digest.Digest) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "layout")
	if err := dir.Create(path); err != nil {
		t.Fatal(err)
	}
	eng, err := dir.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	cas := casext.NewEngine(eng)
	ctx := context.Background()
	var descs []ispec.Descriptor
	var diffIDs []digest.Digest
	for _, l := range layers {
		d, n, err := cas.PutBlob(ctx, bytes.NewReader(l))
		if err != nil {
			t.Fatal(err)
		}
		descs = append(descs, ispec.Descriptor{MediaType: ispec.MediaTypeImageLayer, Digest: d, Size: n})
		diffIDs = append(diffIDs, d)
	}
	cfg := ispec.Image{Platform: ispec.Platform{OS: "linux", Architecture: "amd64"}, RootFS: ispec.RootFS{Type: "layers", DiffIDs: diffIDs}}
	cd, cn, err := cas.PutBlobJSON(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := ispec.Manifest{MediaType: ispec.MediaTypeImageManifest, Config: ispec.Descriptor{MediaType: ispec.MediaTypeImageConfig, Digest: cd, Size: cn}, Layers: descs}
	m.SchemaVersion = 2
	md, mn, err := cas.PutBlobJSON(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	if err := cas.UpdateReference(ctx, "test", ispec.Descriptor{MediaType: ispec.MediaTypeImageManifest, Digest: md, Size: mn}); err != nil {
		t.Fatal(err)
	}
	return path, diffIDs
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
