// Package artifact keeps any set of files as an OCI 1.1 artifact: an OCI
// image manifest with an artifactType, the empty config and one layer
// per file, titled with the file's name as ORAS does, so `oras pull`
// restores the same files. It writes and reads with containers/image, so
// every transport kiwi links in works: registries (docker://, or a bare
// host/name:tag), OCI layouts (oci:DIR:TAG), and the like.
package artifact

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/pkg/blobinfocache/none"
	"go.podman.io/image/v5/types"

	"github.com/kiwi-go/kiwi/internal/checksum"
	"github.com/kiwi-go/kiwi/internal/journal"
	"github.com/kiwi-go/kiwi/oci"
)

// TitleAnnotation names a layer's file (ORAS's convention, from the
// image spec's annotation for a human-readable title).
const TitleAnnotation = imgspecv1.AnnotationTitle

// DefaultMediaType is a file's media type when File gives none.
const DefaultMediaType = "application/octet-stream"

// emptyConfig is the OCI 1.1 empty descriptor's content: artifacts have
// no image config, and the spec's guidance is this two-byte blob.
var emptyConfig = []byte("{}")

// Artifact is a set of files of one kind.
type Artifact struct {
	// Type is the manifest's artifactType: what kind of files these are.
	Type string
	// Files are the layers, in this order.
	Files []File
	// Annotations go on the manifest.
	Annotations map[string]string
}

// File is one file of an artifact.
type File struct {
	// Name is the plain file name it is restored as (its title).
	Name string
	// Path is where Push reads it from.
	Path string
	// MediaType is its layer's media type; "" is DefaultMediaType.
	MediaType string
	// Annotations go on its layer, beside the title.
	Annotations map[string]string
}

// Pulled is a file Pull restored.
type Pulled struct {
	// Name is its title, Path where it is now (in the pull's dir).
	Name, Path string
	// Digest and Size are the layer's, which the file was checked against.
	Digest    digest.Digest
	Size      int64
	MediaType string
	// Annotations are the layer's, the title among them.
	Annotations map[string]string
}

// checkName refuses a title that is no plain file name: names come from
// the user (push) or the manifest (pull), and a restored file must land
// in the pull's dir and nowhere else.
func checkName(name string) error {
	switch {
	case name == "":
		return errors.New("empty file name")
	case name == "." || name == "..":
		return fmt.Errorf("file name %q is no file", name)
	case strings.ContainsAny(name, `/\`) || strings.ContainsRune(name, 0):
		return fmt.Errorf("file name %q is a path: artifact files are restored by their plain name", name)
	}
	return nil
}

// checkNames checks every name and that no two are the same (the second
// would overwrite the first on restore).
func checkNames(names []string) error {
	seen := map[string]bool{}
	for _, n := range names {
		if err := checkName(n); err != nil {
			return err
		}
		if seen[n] {
			return fmt.Errorf("file name %q twice: every file needs its own name", n)
		}
		seen[n] = true
	}
	return nil
}

// Push writes a as an OCI artifact to ref (host/name:tag, docker://...,
// oci:DIR:TAG, ...) and returns its manifest's digest. The files are
// checked and hashed before anything is written: one pass to learn each
// digest (which the registry needs before the upload), a second to
// upload, which fails if a file changed in between.
func Push(ctx context.Context, ref string, a Artifact, o oci.CopyOptions) (digest.Digest, error) {
	if a.Type == "" {
		return "", fmt.Errorf("push %s: the artifact has no type (artifactType)", ref)
	}
	if len(a.Files) == 0 {
		return "", fmt.Errorf("push %s: no files to push", ref)
	}
	names := make([]string, len(a.Files))
	for i, f := range a.Files {
		names[i] = f.Name
	}
	if err := checkNames(names); err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	r, err := oci.ParseRegistryReference(ref)
	if err != nil {
		return "", err
	}
	if r.Transport().Name() == "docker-archive" {
		// Its destination is made (the archive file written) before it
		// can say that it takes Docker images only.
		return "", fmt.Errorf("push %s: a docker-archive holds Docker images, not OCI artifacts: push to a registry (host/name:tag), an OCI layout (oci:DIR:TAG) or an oci-archive:FILE", ref)
	}

	layers := make([]imgspecv1.Descriptor, len(a.Files))
	for i, f := range a.Files {
		d, n, err := hashFile(ctx, f.Path)
		if err != nil {
			return "", fmt.Errorf("push %s: file %s: %w", ref, f.Name, err)
		}
		mt := f.MediaType
		if mt == "" {
			mt = DefaultMediaType
		}
		ann := map[string]string{}
		for k, v := range f.Annotations {
			ann[k] = v
		}
		ann[TitleAnnotation] = f.Name
		layers[i] = imgspecv1.Descriptor{MediaType: mt, Digest: d, Size: n, Annotations: ann}
	}
	config := imgspecv1.DescriptorEmptyJSON
	m := imgspecv1.Manifest{
		Versioned:    specs.Versioned{SchemaVersion: 2},
		MediaType:    imgspecv1.MediaTypeImageManifest,
		ArtifactType: a.Type,
		Config:       imgspecv1.Descriptor{MediaType: config.MediaType, Digest: config.Digest, Size: config.Size},
		Layers:       layers,
		Annotations:  a.Annotations,
	}
	manifest, err := json.Marshal(m)
	if err != nil {
		return "", err
	}

	dest, err := r.NewImageDestination(ctx, o.SystemContext(r))
	if err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	defer dest.Close()
	if mts := dest.SupportedManifestMIMETypes(); len(mts) > 0 && !slices.Contains(mts, imgspecv1.MediaTypeImageManifest) {
		return "", fmt.Errorf("push %s: the %s transport cannot hold OCI artifacts (it takes %s): push to a registry (host/name:tag), an OCI layout (oci:DIR:TAG) or an oci-archive:FILE",
			ref, r.Transport().Name(), strings.Join(mts, ", "))
	}
	cache := none.NoCache
	if err := putBlob(ctx, dest, bytes.NewReader(emptyConfig), m.Config, cache, true); err != nil {
		return "", fmt.Errorf("push %s: the empty config: %w", ref, err)
	}
	for i, f := range a.Files {
		if err := putFile(ctx, dest, f.Path, layers[i], cache); err != nil {
			return "", fmt.Errorf("push %s: file %s: %w", ref, f.Name, err)
		}
	}
	if err := dest.PutManifest(ctx, manifest, nil); err != nil {
		return "", fmt.Errorf("push %s: manifest: %w", ref, err)
	}
	if err := dest.Commit(ctx, pushed{ref: r, manifest: manifest}); err != nil {
		return "", fmt.Errorf("push %s: commit: %w", ref, err)
	}
	return digest.FromBytes(manifest), nil
}

// hashFile is the first pass over a file: its sha256 and size. It
// streams the file and skips holes (results are disks of many GB, mostly
// holes), as build/create hashes them.
func hashFile(ctx context.Context, path string) (digest.Digest, int64, error) {
	if err := ctx.Err(); err != nil {
		return "", 0, err
	}
	st, err := os.Stat(path)
	if err != nil {
		return "", 0, err
	}
	if !st.Mode().IsRegular() {
		return "", 0, fmt.Errorf("%s is no regular file", path)
	}
	sum, err := checksum.File(path)
	if err != nil {
		return "", 0, err
	}
	// A size that changed since the stat shows in the upload, which
	// checks both.
	return digest.NewDigestFromEncoded(digest.SHA256, sum), st.Size(), nil
}

func putFile(ctx context.Context, dest types.ImageDestination, path string, desc imgspecv1.Descriptor, cache types.BlobInfoCache) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return putBlob(ctx, dest, f, desc, cache, false)
}

// putBlob uploads one blob whose digest and size are known, unless the
// destination has it already. The stream is checked against both on the
// way: destinations trust a given digest (an OCI layout files the blob
// under it unchecked), so a file that changed since it was hashed must
// fail here, at the end of its stream, which makes PutBlob drop it.
func putBlob(ctx context.Context, dest types.ImageDestination, r io.Reader, desc imgspecv1.Descriptor, cache types.BlobInfoCache, isConfig bool) error {
	info := types.BlobInfo{Digest: desc.Digest, Size: desc.Size, MediaType: desc.MediaType}
	if !isConfig {
		reused, _, err := dest.TryReusingBlob(ctx, info, cache, false)
		if err != nil {
			return err
		}
		if reused {
			return nil
		}
	}
	v := &verifyingReader{r: ctxReader{ctx, r}, v: desc.Digest.Verifier(), want: desc}
	got, err := dest.PutBlob(ctx, v, info, cache, isConfig)
	if err != nil {
		return err
	}
	if got.Digest != desc.Digest || got.Size != desc.Size {
		return fmt.Errorf("stored as %s (%d bytes), not %s (%d bytes)", got.Digest, got.Size, desc.Digest, desc.Size)
	}
	return nil
}

// verifyingReader passes r on and, at its end, fails unless it had
// want's size and digest.
type verifyingReader struct {
	r    io.Reader
	v    digest.Verifier
	want imgspecv1.Descriptor
	n    int64
}

func (r *verifyingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.n += int64(n)
	r.v.Write(p[:n]) //nolint:errcheck // a hash never fails to write
	if r.n > r.want.Size {
		return n, fmt.Errorf("changed since it was hashed: more than %d bytes", r.want.Size)
	}
	if errors.Is(err, io.EOF) {
		if r.n != r.want.Size {
			return n, fmt.Errorf("changed since it was hashed: %d bytes, not %d", r.n, r.want.Size)
		}
		if !r.v.Verified() {
			return n, fmt.Errorf("changed since it was hashed: its content is no longer %s", r.want.Digest)
		}
	}
	return n, err
}

// ctxReader stops a long copy when ctx is done (an interrupt during a
// many-GB upload or download).
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

// pushed is the manifest just written, for Commit: containers/image's
// own UnparsedImage (image.UnparsedInstance) reads an ImageSource, and a
// push has none. Destinations use it to look up the top-level manifest.
type pushed struct {
	ref      types.ImageReference
	manifest []byte
}

func (p pushed) Reference() types.ImageReference { return p.ref }
func (p pushed) Manifest(context.Context) ([]byte, string, error) {
	return p.manifest, imgspecv1.MediaTypeImageManifest, nil
}
func (p pushed) Signatures(context.Context) ([][]byte, error) { return nil, nil }

// Pull restores the files of the artifact at ref, which must be of type
// wantType, into dir (made if missing) and returns them in layer order.
// Every name is checked, and dir must have none of them yet, before
// anything is downloaded; each file is checked against its layer's size
// and digest before it gets its name. On error the files this call wrote
// are removed again.
func Pull(ctx context.Context, ref, dir, wantType string, o oci.CopyOptions) (_ []Pulled, retErr error) {
	r, err := oci.ParseRegistryReference(ref)
	if err != nil {
		return nil, err
	}
	src, err := r.NewImageSource(ctx, o.SystemContext(r))
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", ref, err)
	}
	defer src.Close()
	raw, mt, err := src.GetManifest(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("pull %s: manifest: %w", ref, err)
	}
	m, err := parseManifest(raw, mt, wantType)
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", ref, err)
	}
	if err := oci.CheckPolicy(ctx, src); err != nil {
		return nil, fmt.Errorf("pull %s: %w", ref, err)
	}

	made := false
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		made = true
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("pull %s: %w", ref, err)
	}
	var written []string
	defer func() {
		if retErr == nil {
			return
		}
		for _, p := range written {
			os.Remove(p)
		}
		if made {
			os.Remove(dir) // only when empty: it may hold the user's files
		}
	}()
	for _, l := range m.Layers {
		p := filepath.Join(dir, l.Annotations[TitleAnnotation])
		if _, err := os.Lstat(p); err == nil {
			return nil, fmt.Errorf("pull %s: %s exists already: pull into an empty or new dir", ref, p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("pull %s: %w", ref, err)
		}
	}

	pulled := make([]Pulled, 0, len(m.Layers))
	for _, l := range m.Layers {
		name := l.Annotations[TitleAnnotation]
		p := filepath.Join(dir, name)
		if err := pullBlob(ctx, src, l, p); err != nil {
			return nil, fmt.Errorf("pull %s: file %s: %w", ref, name, err)
		}
		written = append(written, p)
		pulled = append(pulled, Pulled{Name: name, Path: p, Digest: l.Digest, Size: l.Size, MediaType: l.MediaType, Annotations: l.Annotations})
	}
	return pulled, nil
}

// parseManifest reads an artifact manifest of wantType and checks what
// Pull relies on: its layers' titles and digests. The errors say what
// ref holds instead.
func parseManifest(raw []byte, mimeType, wantType string) (*imgspecv1.Manifest, error) {
	notOurs := func(what string) error {
		return fmt.Errorf("it holds %s, not a kiwi artifact of type %s", what, wantType)
	}
	if mimeType != imgspecv1.MediaTypeImageManifest {
		switch mimeType {
		case imgspecv1.MediaTypeImageIndex, "application/vnd.docker.distribution.manifest.list.v2+json":
			return nil, notOurs("an image index (a multi-platform image)")
		case "application/vnd.docker.distribution.manifest.v2+json", "application/vnd.docker.distribution.manifest.v1+prettyjws", "application/vnd.docker.distribution.manifest.v1+json":
			return nil, notOurs("a Docker container image")
		}
		return nil, notOurs("a manifest of type " + mimeType)
	}
	var m imgspecv1.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("its manifest: %w", err)
	}
	kind := m.ArtifactType
	if kind == "" && m.Config.MediaType != imgspecv1.MediaTypeEmptyJSON {
		// The spec's rule for artifacts made before artifactType.
		kind = m.Config.MediaType
	}
	switch {
	case kind == imgspecv1.MediaTypeImageConfig:
		return nil, notOurs("a container image")
	case kind == "":
		return nil, notOurs("an artifact without a type")
	case kind != wantType:
		return nil, notOurs("an artifact of type " + kind)
	}
	names := make([]string, len(m.Layers))
	for i, l := range m.Layers {
		name, ok := l.Annotations[TitleAnnotation]
		if !ok {
			return nil, fmt.Errorf("layer %d (%s) has no %s: it names no file to restore", i, l.Digest, TitleAnnotation)
		}
		if err := l.Digest.Validate(); err != nil {
			return nil, fmt.Errorf("layer %d (%s): digest: %w", i, name, err)
		}
		if l.Size < 0 {
			return nil, fmt.Errorf("layer %d (%s): size %d", i, name, l.Size)
		}
		names[i] = name
	}
	if err := checkNames(names); err != nil {
		return nil, fmt.Errorf("its layers: %w", err)
	}
	return &m, nil
}

// pullBlob downloads one layer to a temp file beside dst and gives it
// dst's name only when its size and digest are the layer's.
func pullBlob(ctx context.Context, src types.ImageSource, l imgspecv1.Descriptor, dst string) (retErr error) {
	rc, _, err := src.GetBlob(ctx, types.BlobInfo{Digest: l.Digest, Size: l.Size, MediaType: l.MediaType}, none.NoCache)
	if err != nil {
		return err
	}
	defer rc.Close()
	// A name `kiwi system cleanup` knows: a pull killed with -9 leaves it.
	tmp, err := os.CreateTemp(filepath.Dir(dst), journal.TempPattern(".kiwi-pull-"))
	if err != nil {
		return err
	}
	name := tmp.Name()
	defer func() {
		if tmp != nil {
			tmp.Close()
		}
		if retErr != nil {
			os.Remove(name)
		}
	}()
	v := l.Digest.Verifier()
	// One byte more than the layer's size tells a longer blob apart.
	n, err := io.Copy(io.MultiWriter(tmp, v), io.LimitReader(ctxReader{ctx, rc}, l.Size+1))
	if err != nil {
		return fmt.Errorf("download: %w", err)
	}
	if n != l.Size {
		return fmt.Errorf("the blob has %s bytes, its layer says %d: the artifact is damaged", sizeWord(n, l.Size), l.Size)
	}
	if !v.Verified() {
		return fmt.Errorf("the blob's content does not match its digest %s: the artifact is damaged or was tampered with", l.Digest)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	tmp = nil
	return placeNew(name, dst)
}

func sizeWord(n, want int64) string {
	if n > want {
		return fmt.Sprintf("more than %d", want)
	}
	return fmt.Sprint(n)
}

// placeNew names tmp dst unless dst exists: a hard link fails rather
// than replacing a file that appeared since Pull looked (rename would
// replace it); where links are not possible, rename after a last look.
func placeNew(tmp, dst string) error {
	err := os.Link(tmp, dst)
	switch {
	case err == nil:
		if err := os.Remove(tmp); err != nil {
			os.Remove(dst)
			return err
		}
		return nil
	case errors.Is(err, fs.ErrExist):
		return fmt.Errorf("%s appeared while pulling: pull into an empty or new dir", dst)
	}
	if _, err := os.Lstat(dst); err == nil {
		return fmt.Errorf("%s appeared while pulling: pull into an empty or new dir", dst)
	}
	return os.Rename(tmp, dst)
}
