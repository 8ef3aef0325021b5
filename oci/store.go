// Package oci holds images and layers: it diffs root trees into layers,
// applies layers into directories without letting them escape, and moves
// images between podman's local storage, registries and archives through the
// containers/image transports.
package oci

import (
	"context"
	"fmt"

	ispec "github.com/opencontainers/image-spec/specs-go/v1"

	"go.podman.io/storage"
)

// Store is podman's local image storage (containers-storage), opened with
// the same configuration podman uses, so everything written here is what
// `podman images` shows.
type Store struct {
	storage.Store
}

// StoreOptions selects the storage to open. The zero value means podman's
// configured storage (storage.conf, honouring CONTAINERS_STORAGE_CONF).
type StoreOptions struct {
	// GraphRoot and RunRoot override the configured locations; tests use
	// them to work in a private store.
	GraphRoot, RunRoot string
	// Driver overrides the configured graph driver ("overlay", "vfs").
	Driver string
}

// OpenStore opens local storage. The caller must Close it: the store holds
// locks and, for overlay, mounts that are released only then.
func OpenStore(o StoreOptions) (*Store, error) {
	opts, err := storage.DefaultStoreOptions()
	if err != nil {
		return nil, fmt.Errorf("read containers storage configuration: %w", err)
	}
	if o.GraphRoot != "" {
		opts.GraphRoot = o.GraphRoot
		opts.ImageStore = ""
	}
	if o.RunRoot != "" {
		opts.RunRoot = o.RunRoot
	}
	if o.Driver != "" {
		opts.GraphDriverName = o.Driver
		opts.GraphDriverOptions = nil
	}
	s, err := storage.GetStore(opts)
	if err != nil {
		return nil, fmt.Errorf("open containers storage at %s: %w", opts.GraphRoot, err)
	}
	return &Store{Store: s}, nil
}

// Close releases the store. Unmounting is forced: kiwi never leaves a layer
// of podman's storage mounted behind it.
func (s *Store) Close() error {
	_, err := s.Shutdown(true)
	if err != nil {
		return fmt.Errorf("close containers storage: %w", err)
	}
	return nil
}

// ImageConfig reads the OCI configuration of the local image id.
func (s *Store) ImageConfig(ctx context.Context, id string) (*ispec.Image, error) {
	ref, err := s.ImageReference(id)
	if err != nil {
		return nil, err
	}
	img, err := ref.NewImage(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("open local image %s: %w", id, err)
	}
	defer img.Close()
	cfg, err := img.OCIConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("read config of local image %s: %w", id, err)
	}
	return cfg, nil
}
