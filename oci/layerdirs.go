package oci

import (
	"context"
	"fmt"
	"os"

	"github.com/kiwi-go/kiwi/oci/layerfs"

	istorage "go.podman.io/image/v5/storage"
	"go.podman.io/image/v5/types"
)

// LayerDirs returns the directories that hold the layers of the image at
// ref, bottom first, when ref is an image in this store and the store
// keeps its layers unpacked in overlayfs's format (the overlay driver, as
// root or as root of an ordinary user's namespace, whose owners the layers
// carry): containers-storage then is a cache of extracted layers by digest,
// and a stack can be copied from it without generating and unpacking a
// tar per layer. ok is false (and err nil) for any other reference or
// driver; the caller then reads the layers as blobs.
func (s *Store) LayerDirs(ref types.ImageReference) (dirs []string, ok bool, err error) {
	if !InStorage(ref) {
		return nil, false, nil
	}
	if keeps, _, err := s.KeepsLayerDirs(); err != nil || !keeps {
		return nil, false, err
	}
	driver, err := s.GraphDriver()
	if err != nil {
		return nil, false, fmt.Errorf("storage driver: %w", err)
	}
	_, img, err := istorage.ResolveReference(ref)
	if err != nil {
		return nil, false, fmt.Errorf("image %s: %w", transportName(ref), err)
	}
	// The reference must name an image of this store, whose driver we
	// asked: a reference into another store falls back to blobs.
	if mine, err := s.Image(img.ID); err != nil || mine.TopLayer != img.TopLayer {
		return nil, false, nil
	}
	for id := img.TopLayer; id != ""; {
		l, err := s.Layer(id)
		if err != nil {
			return nil, false, fmt.Errorf("layer %s of %s: %w", id, transportName(ref), err)
		}
		md, err := driver.Metadata(id)
		if err != nil {
			return nil, false, fmt.Errorf("layer %s of %s: %w", id, transportName(ref), err)
		}
		dir := md["UpperDir"]
		if dir == "" {
			return nil, false, nil
		}
		dirs = append(dirs, dir)
		id = l.Parent
	}
	for i, j := 0, len(dirs)-1; i < j; i, j = i+1, j-1 {
		dirs[i], dirs[j] = dirs[j], dirs[i]
	}
	return dirs, true, nil
}

// KeepsLayerDirs tells whether this store keeps layers unpacked in a form
// LayerDirs can hand out (the overlay driver, read by root or by root of
// a user namespace), and names the driver.
func (s *Store) KeepsLayerDirs() (bool, string, error) {
	driver, err := s.GraphDriver()
	if err != nil {
		return false, "", fmt.Errorf("storage driver: %w", err)
	}
	return driver.String() == "overlay" && os.Geteuid() == 0, driver.String(), nil
}

// Unpack writes the tree of image id into dir, which must exist and be
// empty: from the layer directories when the store keeps them (planned as
// one union and each path written once, data shared by reflink where the
// filesystem has them), else by applying the layer blobs. This is the
// fast way back from any image in local storage to a root tree.
func (s *Store) Unpack(ctx context.Context, id, dir string) error {
	ref, err := s.ImageReference(id)
	if err != nil {
		return err
	}
	dirs, ok, err := s.LayerDirs(ref)
	if err != nil {
		return err
	}
	if !ok {
		return ApplyImage(ctx, ref, dir, CopyOptions{})
	}
	var t layerfs.Tree
	if err := t.AddImage(ctx, dirs); err != nil {
		return fmt.Errorf("image %s: %w", id, err)
	}
	if err := t.Write(ctx, dir); err != nil {
		return fmt.Errorf("write image %s into %s: %w", id, dir, err)
	}
	return nil
}

// InStorage tells whether ref names an image in local storage
// (containers-storage:), rather than in a registry, layout or archive.
func InStorage(ref types.ImageReference) bool {
	return ref.Transport().Name() == istorage.Transport.Name()
}

// ImageID is the ID of the image ref names in this store.
func (s *Store) ImageID(ref types.ImageReference) (string, error) {
	if !InStorage(ref) {
		return "", fmt.Errorf("%s is no image in local storage", transportName(ref))
	}
	_, img, err := istorage.ResolveReference(ref)
	if err != nil {
		return "", fmt.Errorf("image %s: %w", transportName(ref), err)
	}
	return img.ID, nil
}
