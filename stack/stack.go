// Package stack composes root trees from stacks of images (KIWI's
// stackbuild): the layers of each image are applied in order into one
// root, later images overwriting earlier ones without deleting anything of
// theirs, and the result is handed to create or to a description.
package stack

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kiwi-go/kiwi/oci"
	"github.com/kiwi-go/kiwi/oci/layerfs"
)

// Options describe one stack.
type Options struct {
	// Stashes are NAME[:TAG] (local storage, or below FromRegistry) or
	// full transport references, bottom first.
	Stashes []string
	// FromRegistry is a registry location (host[:port][/path]) the
	// stashes are pulled from.
	FromRegistry string
	// Root is where the stack is composed; it must not exist.
	Root string
	Copy oci.CopyOptions
	Log  *slog.Logger
}

// Report tells what composing did.
type Report struct {
	Images []string `json:"images"`
	// Overwritten are the files a later image replaced.
	Overwritten []string `json:"overwritten"`
	// Data is how the root got its file data: shared by reflink or
	// copied, and why (the copy out of the stack cache, on that path).
	Data layerfs.Data `json:"-"`
}

// StashError is an error about one image of a stack as given
// (Options.Stashes): it names no image that can be stacked. Its text names
// the image as given; callers add how they took it (a command-line flag).
type StashError struct {
	Stash string
	// NotStored: a NAME[:TAG] that is not in local storage (an image of a
	// registry needs the registry given).
	NotStored bool
	Err       error
}

func (e *StashError) Error() string { return e.Err.Error() }
func (e *StashError) Unwrap() error { return e.Err }

// ErrRootExists: the root to compose into exists already.
var ErrRootExists = errors.New("already exists")

// Resolve turns an image of a stack as given (NAME[:TAG] or a full
// transport reference) into an image reference in local storage, so every
// stack is composed from storage's layer directories: an image elsewhere
// (a registry, an OCI layout or archive, a docker archive, a dir) is
// copied into storage first, as podman pull or skopeo copy would, and
// layers storage holds already are not fetched again. With a registry,
// exactly that image of the registry is stacked, under its registry name
// (so a second stack of it needs no network, and a local stash of the
// same short name is never taken for it); else the stash in local storage.
//
// The one exception: a store that keeps no layer directories kiwi can read
// (another driver than overlay) would only extract every layer once more.
// There an image of another transport is read from where it is, its layer
// blobs applied by kiwi's guarded extractor (see composeRefs).
func Resolve(ctx context.Context, store *oci.Store, stash, registry string, o oci.CopyOptions) (oci.ImageRef, error) {
	if strings.HasPrefix(stash, "containers-storage:") {
		ref, err := store.ParseReference(stash)
		if err != nil {
			return nil, &StashError{Stash: stash, Err: err}
		}
		return ref, nil
	}
	if strings.Contains(stash, ":/") || strings.HasPrefix(stash, "oci:") || strings.HasPrefix(stash, "oci-archive:") ||
		strings.HasPrefix(stash, "docker-archive:") || strings.HasPrefix(stash, "dir:") {
		ref, err := store.ParseReference(stash)
		if err != nil {
			return nil, &StashError{Stash: stash, Err: err}
		}
		if keeps, _, err := store.KeepsLayerDirs(); err != nil || !keeps {
			return ref, err
		}
		id, err := store.Provide(ctx, stash, o)
		if err != nil {
			return nil, &StashError{Stash: stash, Err: fmt.Errorf("copy %s into local storage: %w", stash, err)}
		}
		return store.ImageReference(id)
	}
	name, tag, _ := strings.Cut(stash, ":")
	if tag == "" {
		tag = "latest"
	}
	if name == "" || strings.ContainsAny(name, " \t") {
		return nil, &StashError{Stash: stash, Err: fmt.Errorf("stash %q: give NAME[:TAG] or a transport reference (docker://, oci:, oci-archive:, containers-storage:)", stash)}
	}
	if registry != "" {
		registry = strings.TrimSuffix(strings.TrimPrefix(registry, "docker://"), "/")
		remote, err := store.ParseReference("docker://" + registry + "/" + name + ":" + tag)
		if err != nil {
			return nil, &StashError{Stash: stash, Err: fmt.Errorf("stash %q in registry %q: %w", stash, registry, err)}
		}
		// Pulled under the registry's name: this image, not a local stash
		// of the same short name (KIWI's defect), is what gets stacked.
		local, err := store.ParseReference("containers-storage:" + registry + "/" + name + ":" + tag)
		if err != nil {
			return nil, &StashError{Stash: stash, Err: fmt.Errorf("stash %q in registry %q: %w", stash, registry, err)}
		}
		if _, err := oci.Copy(ctx, remote, local, o); err != nil {
			return nil, fmt.Errorf("pull %s/%s:%s: %w", registry, name, tag, err)
		}
		return local, nil
	}
	for _, candidate := range []string{"localhost/" + name + ":" + tag, name + ":" + tag} {
		if _, err := store.Image(candidate); err == nil {
			return store.ParseReference("containers-storage:" + candidate)
		}
	}
	return nil, &StashError{Stash: stash, NotStored: true,
		Err: fmt.Errorf("stash %q: no image localhost/%s:%s in local storage (kiwi system stash --list shows the stashes)", stash, name, tag)}
}

// CheckNewRoot fails when root exists: a stack is composed into a new
// root only, and an existing one is never touched.
func CheckNewRoot(root string) error {
	if _, err := os.Lstat(root); err == nil {
		return fmt.Errorf("%s %w: a stack is composed into a new root only; remove it or choose another target dir", root, ErrRootExists)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// Compose applies the images into o.Root, which must not exist. On
// failure the partly composed root is removed again (it was new).
func Compose(ctx context.Context, store *oci.Store, o Options) (*Report, error) {
	if len(o.Stashes) == 0 {
		return nil, errors.New("no images to stack")
	}
	if err := CheckNewRoot(o.Root); err != nil {
		return nil, err
	}
	refs, err := resolveAll(ctx, store, o)
	if err != nil {
		return nil, err
	}
	return composeRefs(ctx, store, o, refs)
}

// resolveAll resolves every image of the stack (Resolve), pulling those
// of a registry.
func resolveAll(ctx context.Context, store *oci.Store, o Options) ([]oci.ImageRef, error) {
	refs := make([]oci.ImageRef, len(o.Stashes))
	for i, s := range o.Stashes {
		if o.FromRegistry != "" && o.Log != nil {
			o.Log.Info("pulling", "stash", s, "registry", o.FromRegistry)
		}
		ref, err := Resolve(ctx, store, s, o.FromRegistry, o.Copy)
		if err != nil {
			return nil, err
		}
		refs[i] = ref
	}
	return refs, nil
}

// composeRefs composes the resolved images refs into o.Root: from
// storage's layer directories, or, where storage keeps none kiwi can read
// (Resolve), from the layer blobs through kiwi's guarded extractor. The
// log says which.
func composeRefs(ctx context.Context, store *oci.Store, o Options, refs []oci.ImageRef) (*Report, error) {
	if err := os.MkdirAll(filepath.Dir(o.Root), 0o755); err != nil {
		return nil, err
	}
	if images, ok, err := layerDirs(store, refs); err != nil {
		return nil, err
	} else if ok {
		return composeDirs(ctx, o, images)
	}
	if o.Log != nil {
		_, driver, _ := store.KeepsLayerDirs()
		o.Log.Info("composing from layer blobs: local storage keeps no layer directories kiwi can read (overlay driver as root or in a user namespace)", "driver", driver)
	}
	return compose(ctx, o, refs, o.Root)
}

// compose applies the images refs into root, which it creates. On
// failure the partly composed root is removed again.
func compose(ctx context.Context, o Options, refs []oci.ImageRef, root string) (*Report, error) {
	if err := os.Mkdir(root, 0o755); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(root)
		}
	}()
	rep := &Report{}
	var u layerfs.Union
	for i, ref := range refs {
		u.NextImage()
		if o.Log != nil {
			o.Log.Info("stacking", "image", i+1, "ref", ref.Transport().Name()+":"+ref.StringWithinTransport())
		}
		if err := oci.ApplyImageUnion(ctx, ref, root, o.Copy, &u); err != nil {
			return nil, fmt.Errorf("stack %s: %w", o.Stashes[i], err)
		}
		rep.Images = append(rep.Images, o.Stashes[i])
	}
	rep.Overwritten = u.Overwritten
	ok = true
	return rep, nil
}

// layerDirs returns the layer directories of every image when all of them
// are in local storage with unpacked layers (see oci.Store.LayerDirs).
func layerDirs(store *oci.Store, refs []oci.ImageRef) ([][]string, bool, error) {
	images := make([][]string, len(refs))
	for i, ref := range refs {
		dirs, ok, err := store.LayerDirs(ref)
		if err != nil || !ok {
			return nil, false, err
		}
		images[i] = dirs
	}
	return images, true, nil
}

// composeDirs composes straight from storage's unpacked layers: the whole
// stack is planned first, then each path of the result is copied once.
// Storage already is the cache of extracted layers by digest, so this
// needs no cache of its own: every run copies, none extracts.
func composeDirs(ctx context.Context, o Options, images [][]string) (*Report, error) {
	var t layerfs.Tree
	start := time.Now()
	for i, dirs := range images {
		if o.Log != nil {
			o.Log.Info("stacking", "image", i+1, "stash", o.Stashes[i], "layers", len(dirs))
		}
		if err := t.AddImage(ctx, dirs); err != nil {
			return nil, fmt.Errorf("stack %s: %w", o.Stashes[i], err)
		}
	}
	planned := time.Now()
	if o.Log != nil {
		o.Log.Info("writing the composed root", "root", o.Root)
	}
	if err := writeRoot(ctx, &t, o.Root); err != nil {
		return nil, fmt.Errorf("compose %s: %w", o.Root, err)
	}
	if o.Log != nil {
		o.Log.Debug("composed from layer directories", "plan", planned.Sub(start).Round(time.Millisecond), "write", time.Since(planned).Round(time.Millisecond))
	}
	return &Report{Images: o.Stashes, Overwritten: t.Overwritten, Data: t.Data}, nil
}

// writeRoot writes a planned tree into root, a new directory; a failed
// write leaves no root behind.
func writeRoot(ctx context.Context, t *layerfs.Tree, root string) error {
	if err := os.Mkdir(root, 0o755); err != nil {
		return err
	}
	if err := t.Write(ctx, root); err != nil {
		os.RemoveAll(root)
		return err
	}
	return nil
}
