package stack

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"

	"go.podman.io/image/v5/image"
	"go.podman.io/image/v5/pkg/blobinfocache/none"
	"go.podman.io/image/v5/pkg/compression"
	"golang.org/x/sys/unix"

	"github.com/kiwi-go/kiwi/build/create"
	"github.com/kiwi-go/kiwi/build/description"
	"github.com/kiwi-go/kiwi/internal/arch"
	"github.com/kiwi-go/kiwi/oci"
	"github.com/kiwi-go/kiwi/stash"
)

// ErrNoDescription: a stack is to be built without a description of its
// own, and none of its images carries one (image/config.xml).
var ErrNoDescription = errors.New("the stack carries no image description to build")

// noDescription is ErrNoDescription naming the images.
func noDescription(stashes []string) error {
	q := make([]string, len(stashes))
	for i, s := range stashes {
		q[i] = fmt.Sprintf("%q", s)
	}
	return fmt.Errorf("no image of the stack %s has image/config.xml: %w", strings.Join(q, ", "), ErrNoDescription)
}

// carried is the description a stack carries, found before composing.
type carried struct {
	// Image is the image (as given) it was found in.
	Image string
	// Dir is its directory in the layer directory that holds it, when it
	// is known to be the one the composed root gets (every image above
	// Image was looked at in its layer directories): it can be planned
	// before composing. "" otherwise.
	Dir string
}

// findDescription tells, before composing, whether the composed root will
// have image/config.xml: whether some image of the stack carries a
// description (a later image deletes nothing of an earlier one, so any
// image's counts). It returns ErrNoDescription when none does, and nil,
// nil when that cannot be known without fetching a registry's layers (a
// docker:// image without kiwi's label); the composed root is checked then.
//
// Cheapest first, top-most image first:
//   - an image in storage with unpacked layers: a few stats in its layer
//     directories, top layer first, honouring whiteouts and opaque
//     directories (exact, and the description found can be planned);
//   - else its config: kiwi's stash label names a maintainer only when the
//     stashed root had image/config.xml (from its <author>);
//   - else, for images not in a registry, the headers of its layer tars
//     (all of its data is read, once, but nothing is written).
func findDescription(ctx context.Context, store *oci.Store, refs []oci.ImageRef, o Options) (*carried, error) {
	scan := make([]bool, len(refs))
	dirsAbove := true // every image above i was looked at in its layer dirs
	for i := len(refs) - 1; i >= 0; i-- {
		dirs, ok, err := store.LayerDirs(refs[i])
		if err != nil {
			return nil, fmt.Errorf("stack %s: %w", o.Stashes[i], err)
		}
		if ok {
			top, err := descriptionLayer(dirs)
			if err != nil {
				return nil, fmt.Errorf("stack %s: %w", o.Stashes[i], err)
			}
			if top != "" {
				c := &carried{Image: o.Stashes[i]}
				if dirsAbove {
					c.Dir = filepath.Join(top, "image")
				}
				return c, nil
			}
			continue
		}
		dirsAbove = false
		labels, err := imageLabels(ctx, refs[i], o.Copy)
		if err != nil {
			return nil, fmt.Errorf("stack %s: %w", o.Stashes[i], err)
		}
		if labels[stash.LabelMaintainer] != "" {
			return &carried{Image: o.Stashes[i]}, nil
		}
		scan[i] = true
	}
	unknown := false
	for i := len(refs) - 1; i >= 0; i-- {
		if !scan[i] {
			continue
		}
		if refs[i].Transport().Name() == "docker" {
			// Fetching a registry's layers twice (here and to compose)
			// costs more than composing first and checking the root.
			unknown = true
			continue
		}
		if o.Log != nil {
			o.Log.Info("looking for image/config.xml in the layers", "stash", o.Stashes[i])
		}
		found, err := layersHaveDescription(ctx, refs[i], o.Copy)
		if err != nil {
			return nil, fmt.Errorf("stack %s: %w", o.Stashes[i], err)
		}
		if found {
			return &carried{Image: o.Stashes[i]}, nil
		}
	}
	if unknown {
		return nil, nil
	}
	return nil, noDescription(o.Stashes)
}

// descriptionLayer returns the layer directory (of dirs, one image's
// layers bottom first, as overlayfs keeps them) whose image/config.xml is
// the one the image shows, or "" when the image has none: a whiteout or
// opaque directory in a higher layer hides a lower layer's.
func descriptionLayer(dirs []string) (string, error) {
	for i := len(dirs) - 1; i >= 0; i-- {
		layer := dirs[i]
		st, err := lstat(filepath.Join(layer, "image", "config.xml"))
		if err != nil {
			return "", err
		}
		switch {
		case st == nil:
		case st.Mode&unix.S_IFMT == unix.S_IFREG:
			return layer, nil
		default: // a whiteout, or something no description is
			return "", nil
		}
		if hidden, err := exists(filepath.Join(layer, "image", ".wh.config.xml")); hidden || err != nil {
			return "", err
		}
		if hidden, err := exists(filepath.Join(layer, ".wh.image")); hidden || err != nil {
			return "", err
		}
		st, err = lstat(filepath.Join(layer, "image"))
		if err != nil {
			return "", err
		}
		switch {
		case st == nil:
			continue
		case st.Mode&unix.S_IFMT != unix.S_IFDIR: // a whiteout, or not a directory
			return "", nil
		}
		if opaque, err := opaqueDir(filepath.Join(layer, "image")); opaque || err != nil {
			return "", err
		}
	}
	return "", nil
}

func lstat(p string) (*unix.Stat_t, error) {
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
			return nil, nil
		}
		return nil, &fs.PathError{Op: "lstat", Path: p, Err: err}
	}
	return &st, nil
}

func exists(p string) (bool, error) {
	st, err := lstat(p)
	return st != nil, err
}

// opaqueDir tells whether dir of a layer hides what lower layers have
// there: overlayfs's opaque xattr, or fuse-overlayfs's AUFS marker.
func opaqueDir(dir string) (bool, error) {
	if ok, err := exists(filepath.Join(dir, ".wh..wh..opq")); ok || err != nil {
		return ok, err
	}
	buf := make([]byte, 8)
	for _, name := range []string{"trusted.overlay.opaque", "user.overlay.opaque"} {
		n, err := unix.Lgetxattr(dir, name, buf)
		if err == nil && string(buf[:n]) == "y" {
			return true, nil
		}
		if err != nil && !errors.Is(err, unix.ENODATA) && !errors.Is(err, unix.ENOTSUP) {
			return false, fmt.Errorf("read xattrs of %s: %w", dir, err)
		}
	}
	return false, nil
}

// imageLabels reads the labels of the image's config.
func imageLabels(ctx context.Context, ref oci.ImageRef, o oci.CopyOptions) (map[string]string, error) {
	img, err := ref.NewImage(ctx, o.SystemContext(ref))
	if err != nil {
		return nil, fmt.Errorf("open image: %w", err)
	}
	defer img.Close()
	cfg, err := img.OCIConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("read image config: %w", err)
	}
	return cfg.Config.Labels, nil
}

// layersHaveDescription reads the headers of the image's layer tars,
// bottom first, and tells whether the image ends up with
// image/config.xml: a layer's whiteout of it, of image, or an opaque
// image directory hides what lower layers had. Blobs are not checked
// against their digests here; composing does that.
func layersHaveDescription(ctx context.Context, ref oci.ImageRef, o oci.CopyOptions) (bool, error) {
	sys := o.SystemContext(ref)
	src, err := ref.NewImageSource(ctx, sys)
	if err != nil {
		return false, fmt.Errorf("open image: %w", err)
	}
	defer src.Close()
	img, err := image.FromUnparsedImage(ctx, sys, image.UnparsedInstance(src, nil))
	if err != nil {
		return false, fmt.Errorf("read image: %w", err)
	}
	infos, err := img.LayerInfosForCopy(ctx)
	if err != nil {
		return false, fmt.Errorf("read layers: %w", err)
	}
	if infos == nil {
		infos = img.LayerInfos()
	}
	has := false
	for i, info := range infos {
		rc, _, err := src.GetBlob(ctx, info, none.NoCache)
		if err != nil {
			return false, fmt.Errorf("layer %d: fetch blob %s: %w", i+1, info.Digest, err)
		}
		has, err = layerDescription(oci.ContextReader(ctx, rc), has)
		rc.Close()
		if err != nil {
			return false, fmt.Errorf("layer %d (blob %s): %w", i+1, info.Digest, err)
		}
	}
	return has, nil
}

// layerDescription reads one layer tar and tells whether image/config.xml
// is there after it, given whether it was before.
func layerDescription(r io.Reader, had bool) (bool, error) {
	plain, _, err := compression.AutoDecompress(r)
	if err != nil {
		return false, err
	}
	defer plain.Close()
	tr := tar.NewReader(plain)
	hidden, added := false, false
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return false, err
		}
		switch path.Clean("/" + h.Name) {
		case "/image/config.xml":
			added = h.Typeflag == tar.TypeReg
			if !added {
				hidden = true
			}
		case "/image/.wh.config.xml", "/image/.wh..wh..opq", "/.wh.image":
			hidden = true
		case "/image":
			if h.Typeflag != tar.TypeDir {
				hidden, added = true, false
			}
		}
	}
	return added || had && !hidden, nil
}

// planCarried plans the description found in a layer directory before
// composing, so that a type or setting kiwi cannot build is refused
// before a byte is written. A description that cannot be read there (an
// include from another layer, say) is left to the plan after composing,
// which build.Create makes before any work (build.PlanRoot) and which
// also checks the composed root for what the image needs.
func planCarried(c *carried, lo description.LoadOptions, log *slog.Logger) error {
	if c == nil || c.Dir == "" {
		return nil
	}
	lo.KiwiFile = "" // the root's description is always image/config.xml
	lo.Warn = nil    // said once, when the composed root's is read
	d, err := description.Load(c.Dir, lo)
	if err != nil {
		log.Debug("the stack's description is planned after composing", "stash", c.Image, "error", err)
		return nil
	}
	// create.Plan, not build.Plan: its warnings are logged once, after
	// composing.
	if _, err := create.Plan(d); err != nil {
		return fmt.Errorf("the description stash %s carries: %w", c.Image, err)
	}
	if err := arch.CanRun(d.TargetArch); err != nil {
		return fmt.Errorf("the description stash %s carries: %w", c.Image, err)
	}
	return nil
}

// hasDescription tells whether the composed root has image/config.xml.
func hasDescription(root string) (bool, error) {
	_, err := os.Lstat(filepath.Join(root, "image", "config.xml"))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}
