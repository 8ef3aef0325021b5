package oci

import (
	"fmt"
	"net"
	"strings"

	_ "go.podman.io/image/v5/directory" // dir: transport
	_ "go.podman.io/image/v5/docker"    // docker:// transport
	_ "go.podman.io/image/v5/docker/archive"
	"go.podman.io/image/v5/docker/reference"
	_ "go.podman.io/image/v5/oci/archive"
	_ "go.podman.io/image/v5/oci/layout"
	istorage "go.podman.io/image/v5/storage"
	"go.podman.io/image/v5/transports"
	"go.podman.io/image/v5/types"
)

const storagePrefix = "containers-storage:"

// ParseReference turns a user's image reference into a containers/image
// reference. Full transport references (docker://, oci:, oci-archive:,
// docker-archive:, dir:, containers-storage:) are taken as they are; a bare
// name[:tag] means an image in local storage, as podman reads it.
// containers-storage references always use this store, never a global one.
func (s *Store) ParseReference(ref string) (types.ImageReference, error) {
	if ref == "" {
		return nil, fmt.Errorf("empty image reference: give name[:tag] or a transport reference such as docker://host/name:tag")
	}
	if rest, ok := strings.CutPrefix(ref, storagePrefix); ok {
		return s.storageReference(rest)
	}
	if looksLikeTransport(ref) {
		r, err := parseTransport(ref)
		if err != nil {
			return nil, fmt.Errorf("image reference %q: %w (use transport:details, e.g. docker://host/name:tag, oci:dir:tag, oci-archive:file.tar)", ref, err)
		}
		return r, nil
	}
	return s.storageReference(ref)
}

// ParseRegistryReference turns a reference to any OCI content (an
// artifact, not only an image) into a containers/image reference. Unlike
// ParseReference a bare host/name:tag means a registry (docker://), as
// oras and skopeo read it: content that is not an image has no place in
// local storage, so containers-storage: is refused too.
func ParseRegistryReference(ref string) (types.ImageReference, error) {
	if ref == "" {
		return nil, fmt.Errorf("empty reference: give host/name:tag, docker://host/name:tag or oci:DIR:TAG")
	}
	if strings.HasPrefix(ref, storagePrefix) {
		return nil, fmt.Errorf("reference %q: local container storage holds images only; give a registry (host/name:tag) or an OCI layout (oci:DIR:TAG)", ref)
	}
	if scheme, _, ok := strings.Cut(ref, "://"); ok && scheme != "docker" {
		return nil, fmt.Errorf("reference %q: the %s:// scheme is no transport here; give host/name:tag, docker://host/name:tag or oci:DIR:TAG", ref, scheme)
	}
	full := ref
	if !looksLikeTransport(ref) {
		full = "docker://" + ref
	}
	r, err := parseTransport(full)
	if err != nil {
		return nil, fmt.Errorf("reference %q: %w (give host/name:tag, docker://host/name:tag or oci:DIR:TAG)", ref, err)
	}
	return r, nil
}

// LocalReference is the reference of name:tag in local storage under the
// localhost/ domain, where podman puts images that never came from a
// registry (`podman images` shows localhost/name).
func (s *Store) LocalReference(name, tag string) (types.ImageReference, error) {
	return s.storageReference("localhost/" + name + ":" + tag)
}

func (s *Store) storageReference(ref string) (types.ImageReference, error) {
	r, err := istorage.Transport.ParseStoreReference(s.Store, ref)
	if err != nil {
		return nil, fmt.Errorf("local image reference %q: %w", ref, err)
	}
	return r, nil
}

// looksLikeTransport tells "oci:dir" (a transport) from "name:tag" and
// "host:5000/name" (plain names): only known transport names count.
func looksLikeTransport(ref string) bool {
	name, _, ok := strings.Cut(ref, ":")
	if !ok {
		return false
	}
	return transports.Get(name) != nil
}

// parseTransport parses "transport:details" with the transports kiwi
// links in (docker, oci, oci-archive, docker-archive, dir; local storage
// is handled by the caller so it uses kiwi's store).
func parseTransport(ref string) (types.ImageReference, error) {
	name, rest, _ := strings.Cut(ref, ":")
	t := transports.Get(name)
	if t == nil {
		return nil, fmt.Errorf("unknown transport %q", name)
	}
	return t.ParseReference(rest)
}

// IsLoopbackRegistry tells whether a docker:// reference points at a
// registry on this machine; only such registries may be used without TLS
// unless the user asks for it.
func IsLoopbackRegistry(ref types.ImageReference) bool {
	if ref.Transport().Name() != "docker" {
		return false
	}
	named := ref.DockerReference()
	if named == nil {
		return false
	}
	host := reference.Domain(named)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ImageRef is a reference to an image in any transport.
type ImageRef = types.ImageReference

// ImageReference is the local storage reference of the image with id.
func (s *Store) ImageReference(id string) (ImageRef, error) {
	r, err := istorage.Transport.NewStoreReference(s.Store, nil, id)
	if err != nil {
		return nil, fmt.Errorf("local image %s: %w", id, err)
	}
	return r, nil
}
