package oci

import (
	"bytes"
	"context"
	"fmt"
	"github.com/opencontainers/go-digest"
	"io"
	"os"
	"runtime"
	"time"

	ispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/opencontainers/umoci/oci/cas/dir"
	"github.com/opencontainers/umoci/oci/casext"
	"go.podman.io/image/v5/image"
	"go.podman.io/image/v5/manifest"
	"go.podman.io/image/v5/oci/layout"
	"go.podman.io/image/v5/types"

	"github.com/kiwi-go/kiwi/internal/journal"
)

// Append describes a new local image made of a local parent image plus
// one layer.
type Append struct {
	// ParentID is the local image the layer goes on; "" starts from
	// scratch.
	ParentID string
	// Name is the new image's name in local storage (localhost/name:tag).
	Name string
	// Layer writes the new layer's uncompressed tar. It is called twice
	// and must write the same bytes both times (umoci's generator does).
	Layer func(w io.Writer) error
	// Configure edits the image configuration (labels, command, author)
	// after the layer and history entry are added.
	Configure func(*ispec.Image)
	// History describes the new layer; its Created is set from Created.
	History ispec.History
	// Created is the image and history timestamp.
	Created time.Time
	// TempDir holds the staging layout; it is removed afterwards.
	TempDir string
	// Progress shows a bar for the layer write (a terminal, or nil).
	Progress io.Writer
	// Arch is the OCI architecture (amd64, arm64, ...) of an image started
	// from scratch; "" means the host's. On a parent, the parent's counts.
	Arch string
}

// Appended is what AppendLayer made.
type Appended struct {
	ImageID    string
	Layer      ispec.Descriptor
	LayerCount int
}

// AppendLayer adds one layer on top of a local image and names the result.
//
// The layer is streamed straight into storage, so its bytes are written
// once, as files: a first pass over Layer only computes its digest, which
// gives the layer the ID containers/image expects (the chain ID of parent
// and diff ID); the second pass is applied under that ID. The image itself
// (config, manifest, name) is then committed by copying a staging OCI
// layout that holds only config and manifest into containers-storage:
// every layer, old and new, is found in storage by digest and reused.
// If the tree changes between the passes the layer is refused and removed.
// The name moves to the new image only when it is complete.
func (s *Store) AppendLayer(ctx context.Context, a Append) (*Appended, error) {
	cfg, layers, parentTop, err := s.parentImage(ctx, a.ParentID, a.Arch)
	if err != nil {
		return nil, err
	}
	diffID, size, err := layerDigest(a.Layer)
	if err != nil {
		return nil, fmt.Errorf("write layer: %w", err)
	}
	layerID := chainID(parentTop, diffID)
	bar := newProgressBar(a.Progress, "writing layer", size)
	created, err := s.putLayer(ctx, layerID, parentTop, diffID, func(w io.Writer) error {
		return a.Layer(bar.Writer(w))
	})
	bar.Done(err == nil)
	if err != nil {
		return nil, err
	}
	committed := false
	defer func() {
		if created && !committed {
			_ = s.DeleteLayer(layerID)
		}
	}()
	layerDesc := ispec.Descriptor{MediaType: ispec.MediaTypeImageLayer, Digest: diffID, Size: size}
	layers = append(layers, layerDesc)

	when := a.Created.UTC()
	cfg.Created = &when
	cfg.RootFS.Type = "layers"
	cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, diffID)
	h := a.History
	h.Created = &when
	cfg.History = append(cfg.History, h)
	if a.Configure != nil {
		a.Configure(cfg)
	}
	dest, err := s.storageReference(a.Name)
	if err != nil {
		return nil, err
	}
	if err := commitImage(ctx, a.TempDir, cfg, layers, dest); err != nil {
		return nil, err
	}
	committed = true
	img, err := s.Image(a.Name)
	if err != nil {
		return nil, fmt.Errorf("find new image %s: %w", a.Name, err)
	}
	return &Appended{ImageID: img.ID, Layer: layerDesc, LayerCount: len(layers)}, nil
}

// layerDigest runs the layer writer once to learn its diff ID and size.
func layerDigest(write func(io.Writer) error) (digest.Digest, int64, error) {
	d := digest.Canonical.Digester()
	n := &countWriter{}
	if err := write(io.MultiWriter(d.Hash(), n)); err != nil {
		return "", 0, err
	}
	return d.Digest(), n.n, nil
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// chainID is the storage layer ID containers/image gives a layer with
// this parent and diff ID; a layer stored under it is reused on commit.
func chainID(parent string, diffID digest.Digest) string {
	if parent == "" {
		return diffID.Encoded()
	}
	return digest.Canonical.FromString(parent + "+" + diffID.Encoded()).Encoded()
}

// putLayer applies the layer under id unless storage has it already, and
// reports whether it made it.
func (s *Store) putLayer(ctx context.Context, id, parent string, diffID digest.Digest, write func(io.Writer) error) (bool, error) {
	if l, err := s.Layer(id); err == nil && l.UncompressedDigest == diffID {
		return false, nil
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(write(pw)) }()
	stop := context.AfterFunc(ctx, func() { pr.CloseWithError(ctx.Err()) })
	defer stop()
	layer, _, err := s.PutLayer(id, parent, nil, "", false, nil, pr)
	pr.CloseWithError(io.ErrClosedPipe)
	if err != nil {
		return false, fmt.Errorf("store layer: %w", err)
	}
	if layer.UncompressedDigest != diffID {
		_ = s.DeleteLayer(id)
		return false, fmt.Errorf("the tree changed while its layer was written (digest %s, then %s): stash it again when nothing writes to it", diffID, layer.UncompressedDigest)
	}
	return true, nil
}

// commitImage writes config and manifest into a staging OCI layout (umoci's
// CAS) and copies that to dest, which has every layer already.
func commitImage(ctx context.Context, tempDir string, cfg *ispec.Image, layers []ispec.Descriptor, dest types.ImageReference) error {
	staging, err := os.MkdirTemp(tempDir, journal.TempPattern("kiwi-layout-"))
	if err != nil {
		return fmt.Errorf("create staging directory in %s: %w", tempDir, err)
	}
	defer os.RemoveAll(staging)
	layoutDir := staging + "/layout"
	if err := dir.Create(layoutDir); err != nil {
		return fmt.Errorf("create staging layout: %w", err)
	}
	engine, err := dir.Open(layoutDir)
	if err != nil {
		return fmt.Errorf("open staging layout: %w", err)
	}
	defer engine.Close()
	cas := casext.NewEngine(engine)
	configBlob, err := jsonBlob(cfg)
	if err != nil {
		return err
	}
	configDigest, configSize, err := cas.PutBlob(ctx, bytes.NewReader(configBlob))
	if err != nil {
		return fmt.Errorf("write image config: %w", err)
	}
	m := manifest.OCI1FromComponents(ispec.Descriptor{
		MediaType: ispec.MediaTypeImageConfig, Digest: configDigest, Size: configSize,
	}, layers)
	mblob, err := m.Serialize()
	if err != nil {
		return fmt.Errorf("serialize manifest: %w", err)
	}
	mdigest, msize, err := cas.PutBlob(ctx, bytes.NewReader(mblob))
	if err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	if err := cas.UpdateReference(ctx, "kiwi", ispec.Descriptor{
		MediaType: ispec.MediaTypeImageManifest, Digest: mdigest, Size: msize,
	}); err != nil {
		return fmt.Errorf("tag staging image: %w", err)
	}
	src, err := layout.ParseReference(layoutDir + ":kiwi")
	if err != nil {
		return fmt.Errorf("staging reference: %w", err)
	}
	_, err = Copy(ctx, src, dest, CopyOptions{})
	return err
}

// parentImage reads the parent's configuration, layer list and top storage
// layer, or gives an empty Linux image of arch (the host's when "") without
// a parent.
func (s *Store) parentImage(ctx context.Context, id, arch string) (*ispec.Image, []ispec.Descriptor, string, error) {
	if id == "" {
		if arch == "" {
			arch = runtime.GOARCH
		}
		return &ispec.Image{Platform: ispec.Platform{OS: "linux", Architecture: arch}}, nil, "", nil
	}
	simg, err := s.Image(id)
	if err != nil {
		return nil, nil, "", fmt.Errorf("find parent image %s: %w", id, err)
	}
	ref, err := s.ImageReference(id)
	if err != nil {
		return nil, nil, "", err
	}
	var sys *types.SystemContext
	src, err := ref.NewImageSource(ctx, sys)
	if err != nil {
		return nil, nil, "", fmt.Errorf("open parent image %s: %w", id, err)
	}
	defer src.Close()
	img, err := image.FromUnparsedImage(ctx, sys, image.UnparsedInstance(src, nil))
	if err != nil {
		return nil, nil, "", fmt.Errorf("read parent image %s: %w", id, err)
	}
	cfg, err := img.OCIConfig(ctx)
	if err != nil {
		return nil, nil, "", fmt.Errorf("read parent image config %s: %w", id, err)
	}
	var layers []ispec.Descriptor
	for _, l := range img.LayerInfos() {
		layers = append(layers, ispec.Descriptor{MediaType: ociLayerType(l.MediaType), Digest: l.Digest, Size: l.Size})
	}
	return cfg, layers, simg.TopLayer, nil
}

// ociLayerType maps Docker layer media types to their OCI equivalents so a
// stash on top of a pulled Docker image is a valid OCI manifest.
func ociLayerType(mt string) string {
	switch mt {
	case manifest.DockerV2Schema2LayerMediaType, "":
		return ispec.MediaTypeImageLayerGzip
	case manifest.DockerV2Schema2ForeignLayerMediaType, manifest.DockerV2Schema2ForeignLayerMediaTypeGzip:
		return ispec.MediaTypeImageLayerNonDistributableGzip //nolint:staticcheck // the only OCI name for foreign layers
	}
	return mt
}
