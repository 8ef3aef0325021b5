package oci

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/opencontainers/umoci/oci/layer"
	"go.podman.io/image/v5/image"
	"go.podman.io/image/v5/pkg/blobinfocache/none"
	"go.podman.io/image/v5/pkg/compression"
	"go.podman.io/image/v5/types"

	"github.com/kiwi-go/kiwi/oci/layerfs"
)

// WriteLayer writes an uncompressed OCI layer (tar) holding changes, read
// from root, to w: added and modified paths as entries, deleted ones as
// whiteouts. With epoch set, newer mtimes are clamped to it
// (SOURCE_DATE_EPOCH).
func WriteLayer(w io.Writer, root string, changes []Change, epoch *time.Time) error {
	rc, err := layer.GenerateLayer(root, changes, &layer.RepackOptions{SourceDateEpoch: epoch})
	if err != nil {
		return fmt.Errorf("generate layer from %s: %w", root, err)
	}
	defer rc.Close()
	if _, err := io.Copy(w, rc); err != nil {
		return fmt.Errorf("generate layer from %s: %w", root, err)
	}
	return nil
}

// ApplyImage applies the layers of the image at ref, in order, into dir.
// Every blob is checked against its digest; a mismatch is an error naming
// the blob.
func ApplyImage(ctx context.Context, ref types.ImageReference, dir string, o CopyOptions) error {
	return ApplyImageUnion(ctx, ref, dir, o, nil)
}

// ApplyImageUnion is ApplyImage for one image of a stack: u keeps what
// earlier images put into dir (see layerfs.Union).
func ApplyImageUnion(ctx context.Context, ref types.ImageReference, dir string, o CopyOptions, u *layerfs.Union) error {
	sys := o.SystemContext(ref)
	src, err := ref.NewImageSource(ctx, sys)
	if err != nil {
		return fmt.Errorf("open image %s: %w", transportName(ref), err)
	}
	defer src.Close()
	img, err := image.FromUnparsedImage(ctx, sys, image.UnparsedInstance(src, nil))
	if err != nil {
		return fmt.Errorf("read image %s: %w", transportName(ref), err)
	}
	infos, err := img.LayerInfosForCopy(ctx)
	if err != nil {
		return fmt.Errorf("read layers of %s: %w", transportName(ref), err)
	}
	if infos == nil {
		infos = img.LayerInfos()
	}
	for i, info := range infos {
		if err := applyBlob(ctx, src, info, dir, u); err != nil {
			return fmt.Errorf("layer %d of %s: %w", i+1, transportName(ref), err)
		}
	}
	return nil
}

func applyBlob(ctx context.Context, src types.ImageSource, info types.BlobInfo, dir string, u *layerfs.Union) error {
	if err := info.Digest.Validate(); err != nil {
		return fmt.Errorf("blob digest %q: %w", info.Digest, err)
	}
	rc, _, err := src.GetBlob(ctx, info, none.NoCache)
	if err != nil {
		return fmt.Errorf("fetch blob %s: %w", info.Digest, err)
	}
	defer rc.Close()
	verifier := info.Digest.Verifier()
	// A blob from local storage is a plain stream that does not watch
	// ctx: check it on every read, so SIGINT stops a big layer at once.
	raw := io.TeeReader(ContextReader(ctx, rc), verifier)
	plain, _, err := compression.AutoDecompress(raw)
	if err != nil {
		return fmt.Errorf("blob %s: %w", info.Digest, err)
	}
	defer plain.Close()
	if err := layerfs.ApplyUnion(dir, plain, u); err != nil {
		return fmt.Errorf("blob %s: %w", info.Digest, err)
	}
	// The tar may end before the blob does (padding, compression
	// trailers): read it all so the digest covers every byte.
	if _, err := io.Copy(io.Discard, raw); err != nil {
		return fmt.Errorf("read blob %s: %w", info.Digest, err)
	}
	if !verifier.Verified() {
		return fmt.Errorf("blob %s: content does not match its digest", info.Digest)
	}
	return nil
}

// ConfigDigest is the digest of the image's config: its identity (the
// image ID in local storage), which changes whenever any layer does.
func ConfigDigest(ctx context.Context, ref types.ImageReference, o CopyOptions) (string, error) {
	sys := o.SystemContext(ref)
	src, err := ref.NewImageSource(ctx, sys)
	if err != nil {
		return "", fmt.Errorf("open image %s: %w", transportName(ref), err)
	}
	defer src.Close()
	img, err := image.FromUnparsedImage(ctx, sys, image.UnparsedInstance(src, nil))
	if err != nil {
		return "", fmt.Errorf("read image %s: %w", transportName(ref), err)
	}
	d := img.ConfigInfo().Digest
	if err := d.Validate(); err != nil {
		return "", fmt.Errorf("image %s: config digest %q: %w", transportName(ref), d, err)
	}
	return d.String(), nil
}

// ContextReader reads r and fails once ctx is done: a blob from local
// storage does not watch ctx itself, so a cancelled run stops reading.
func ContextReader(ctx context.Context, r io.Reader) io.Reader { return ctxReader{ctx, r} }

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
