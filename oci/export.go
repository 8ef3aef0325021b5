package oci

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	dockerarchive "go.podman.io/image/v5/docker/archive"
	"go.podman.io/image/v5/docker/reference"
	"go.podman.io/image/v5/manifest"
	ociarchive "go.podman.io/image/v5/oci/archive"
	"go.podman.io/image/v5/types"
	"go.podman.io/storage"
)

// Archive formats Export writes.
const (
	DockerArchive = "docker"
	OCIArchive    = "oci"
)

// Export writes the local image id to path: a docker-archive (what
// `docker save` and `podman save` write) whose RepoTags are names, or an
// oci-archive (a tarred OCI layout) whose one image is named names[0].
// Names are name:tag references. path may be a FIFO: both archives are
// written front to back, so a compressor can read them as they come.
func (s *Store) Export(ctx context.Context, id, format, path string, names []string) error {
	if len(names) == 0 {
		return errors.New("export: no image name")
	}
	src, err := s.ImageReference(id)
	if err != nil {
		return err
	}
	var o CopyOptions
	var dst ImageRef
	switch format {
	case DockerArchive:
		tags := make([]reference.NamedTagged, 0, len(names))
		for _, n := range names {
			t, err := ParseTagged(n)
			if err != nil {
				return err
			}
			tags = append(tags, t)
		}
		dst, err = dockerarchive.NewReference(path, tags[0])
		o.ArchiveTags = tags[1:]
	case OCIArchive:
		dst, err = ociarchive.NewReference(path, names[0])
	default:
		return fmt.Errorf("export: unknown archive format %q (docker or oci)", format)
	}
	if err != nil {
		return fmt.Errorf("export %s to %s: %w", names[0], path, err)
	}
	_, err = Copy(ctx, src, dst, o)
	return err
}

// ParseTagged reads a name:tag image reference (a registry host and
// path are allowed: registry.example.com/ns/name:tag). A missing tag or a
// name podman would not take is an error that says what is wrong.
func ParseTagged(ref string) (reference.NamedTagged, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return nil, fmt.Errorf("image name %q: %w (names are lower-case letters, digits and . _ - separated by /, tags up to 128 letters, digits, . _ -)", ref, err)
	}
	t, ok := named.(reference.NamedTagged)
	if !ok {
		return nil, fmt.Errorf("image name %q has no tag (name:tag)", ref)
	}
	if _, digested := named.(reference.Digested); digested {
		return nil, fmt.Errorf("image name %q: a digest cannot name a new image; use name:tag", ref)
	}
	return t, nil
}

// Provide finds the image ref names in local storage, copying it there
// first when it is elsewhere, and returns its ID. ref is a transport
// reference (docker://host/name:tag, oci:dir:tag, oci-archive:file,
// docker-archive:file, dir:path), containers-storage:name, or a bare
// name[:tag]: a stash (localhost/name) or any image already in local
// storage. Registry images keep their name in storage, as podman pull
// names them; others are named localhost/kiwi-import:<hash of ref>. An
// image that lost its name to a newer copy of the same reference (an OCI
// layout that changed) and has no other name is removed: its layers
// stay where the new image shares them.
func (s *Store) Provide(ctx context.Context, ref string, o CopyOptions) (string, error) {
	if err := CheckReference(ref); err != nil {
		return "", fmt.Errorf("image %q: %w", ref, err)
	}
	if rest, ok := strings.CutPrefix(ref, storagePrefix); ok {
		return s.localImage(ref, rest)
	}
	if !looksLikeTransport(ref) {
		return s.localImage(ref, ref)
	}
	src, err := s.ParseReference(ref)
	if err != nil {
		return "", err
	}
	name := ""
	if named := src.DockerReference(); named != nil && src.Transport().Name() == "docker" {
		name = reference.TagNameOnly(named).String()
	} else {
		h := sha256.Sum256([]byte(ref))
		name = "localhost/kiwi-import:" + hex.EncodeToString(h[:8])
	}
	dst, err := s.storageReference(name)
	if err != nil {
		return "", err
	}
	old, _ := s.Image(name)
	if old != nil && s.holdsLocal(ctx, src, old, o) {
		return old.ID, nil
	}
	if _, err := Copy(ctx, src, dst, o); err != nil {
		return "", fmt.Errorf("fetch image %s: %w", ref, err)
	}
	img, err := s.Image(name)
	if err != nil {
		return "", fmt.Errorf("find fetched image %s: %w", name, err)
	}
	if old != nil && old.ID != img.ID {
		if prev, err := s.Image(old.ID); err == nil && len(prev.Names) == 0 {
			_, _ = s.DeleteImage(old.ID, true)
		}
	}
	return img.ID, nil
}

// holdsLocal tells whether img, the image an earlier Provide copied from
// src, is what src holds now: src is a directory (an OCI layout, a dir:
// copy) whose manifest, read as it is, has a digest img has. The manifest
// names the config and every layer by digest, so the copy would write
// nothing new; only the reading of each layer's record would be done
// again. Archives are not looked into (opening one unpacks it), and
// registries are asked by the copy, as podman pull asks.
func (s *Store) holdsLocal(ctx context.Context, src types.ImageReference, img *storage.Image, o CopyOptions) bool {
	switch src.Transport().Name() {
	case "oci", "dir":
	default:
		return false
	}
	is, err := src.NewImageSource(ctx, o.SystemContext(src))
	if err != nil {
		return false
	}
	defer is.Close()
	raw, _, err := is.GetManifest(ctx, nil)
	if err != nil {
		return false
	}
	d, err := manifest.Digest(raw)
	if err != nil {
		return false
	}
	return slices.Contains(img.Digests, d)
}

// localImage finds a bare name in local storage: the stash
// localhost/name first, then the name as podman reads it.
func (s *Store) localImage(ref, name string) (string, error) {
	var tries []string
	if !strings.Contains(name, "/") {
		n := name
		if !strings.Contains(n, ":") && !strings.Contains(n, "@") {
			n += ":latest"
		}
		tries = append(tries, "localhost/"+n)
	}
	tries = append(tries, name)
	if named, err := reference.ParseNormalizedNamed(name); err == nil {
		if full := reference.TagNameOnly(named).String(); full != name {
			tries = append(tries, full)
		}
	}
	for _, t := range tries {
		img, err := s.Image(t)
		if err == nil {
			return img.ID, nil
		}
		if !errors.Is(err, storage.ErrImageUnknown) {
			return "", fmt.Errorf("look up image %s: %w", t, err)
		}
	}
	return "", fmt.Errorf("image %q is not in local storage (looked for %s): stash or pull it first, or give a transport reference such as docker://registry/name:tag", ref, strings.Join(tries, ", "))
}

// CheckReference checks that ref can name an image for Provide, without
// looking it up.
func CheckReference(ref string) error {
	if scheme, _, ok := strings.Cut(ref, "://"); ok && scheme != "docker" {
		if scheme == "obs" {
			return fmt.Errorf("obs:// images are fetched by the Open Build Service; outside of it give the image's registry reference, e.g. docker://registry.opensuse.org/PROJECT/REPO/NAME:TAG")
		}
		return fmt.Errorf("the %s:// scheme is not an image transport here; use docker://registry/name:tag, oci:DIR:TAG, oci-archive:FILE, docker-archive:FILE, containers-storage:NAME or a stash name", scheme)
	}
	if rest, ok := strings.CutPrefix(ref, storagePrefix); ok {
		ref = rest
	} else if looksLikeTransport(ref) {
		_, err := parseTransport(ref)
		return err
	}
	if _, err := reference.ParseNormalizedNamed(ref); err != nil {
		if _, err2 := reference.ParseAnyReference(ref); err2 != nil {
			return fmt.Errorf("%w (give name:tag, or a transport reference such as docker://registry/name:tag)", err)
		}
	}
	return nil
}
