package oci

import (
	"fmt"
	"os"

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
	if ref.Transport().Name() != istorage.Transport.Name() || os.Geteuid() != 0 {
		return nil, false, nil
	}
	driver, err := s.GraphDriver()
	if err != nil {
		return nil, false, fmt.Errorf("storage driver: %w", err)
	}
	if driver.String() != "overlay" {
		return nil, false, nil
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
