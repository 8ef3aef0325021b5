package fstest

import (
	"bytes"
	"context"
	"testing"

	"github.com/opencontainers/go-digest"
	ispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/opencontainers/umoci/oci/cas/dir"
	"github.com/opencontainers/umoci/oci/casext"
)

// OCILayout writes an image of the given uncompressed layers into a new
// OCI layout at path under tag, and returns path and the layers' digests.
// Tests feed hand-made (hostile) layers to kiwi through it, bypassing any
// storage that would sanitise them on import.
func OCILayout(t testing.TB, path, tag string, layers ...[]byte) (string, []digest.Digest) {
	t.Helper()
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
	if err := cas.UpdateReference(ctx, tag, ispec.Descriptor{MediaType: ispec.MediaTypeImageManifest, Digest: md, Size: mn}); err != nil {
		t.Fatal(err)
	}
	return path, diffIDs
}
