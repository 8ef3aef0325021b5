// Package layerfs applies OCI layer tarballs to directories without
// letting any entry reach outside the directory.
package layerfs

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/opencontainers/umoci/oci/layer"
)

// Apply unpacks one uncompressed layer into dir, honouring whiteouts
// and opaque directories. Entries that try to leave dir are refused before
// anything of them is written: absolute names, names with "..", hardlinks
// to such names, and names below a symlink that points out of dir. On
// error dir holds the entries before the refused one.
func Apply(dir string, r io.Reader) error {
	return ApplyUnion(dir, r, nil)
}

// Union applies several images into one directory the way KIWI's
// stackbuild copies stashes over each other (rsync without --delete):
// a later image overwrites files of earlier ones but deletes nothing of
// theirs. Whiteouts inside one image still work on what that image's own
// earlier layers wrote. Between images, call NextImage.
type Union struct {
	// Overwritten records paths a later image replaced (not directories).
	Overwritten []string
	image       int
	own         map[string]bool // paths written by the current image
}

// NextImage starts the next image of the stack.
func (u *Union) NextImage() {
	u.image++
	u.own = map[string]bool{}
}

// entry decides about one entry of the current image: whether to apply
// it, noting overwrites of earlier images' files.
func (u *Union) entry(dir string, hdr *tar.Header) bool {
	name := strings.TrimPrefix(path.Clean("/"+hdr.Name), "/")
	base := path.Base(name)
	if strings.HasPrefix(base, whiteoutPrefix) {
		if u.image <= 1 {
			return true
		}
		target := path.Join(path.Dir(name), strings.TrimPrefix(base, whiteoutPrefix))
		if base == whiteoutOpaque {
			target = path.Dir(name)
		}
		// Only what this image wrote may go; an opaque directory of a
		// later image never empties what earlier images put there.
		return base != whiteoutOpaque && u.own[target]
	}
	if u.image > 1 && !u.own[name] && hdr.Typeflag != tar.TypeDir {
		if fi, err := os.Lstat(filepath.Join(dir, name)); err == nil && !fi.IsDir() {
			u.Overwritten = append(u.Overwritten, name)
		}
	}
	if u.own == nil {
		u.own = map[string]bool{}
	}
	u.own[name] = true
	return true
}

const (
	whiteoutPrefix = ".wh."
	whiteoutOpaque = ".wh..wh..opq"
)

// ApplyUnion is Apply with u deciding which whiteouts apply (nil: all).
func ApplyUnion(dir string, r io.Reader, u *Union) error {
	dir = filepath.Clean(dir)
	te := layer.NewTarExtractor(&layer.UnpackOptions{})
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read layer: %w", err)
		}
		if err := checkEntry(dir, hdr); err != nil {
			return fmt.Errorf("refusing layer entry %q: %w", hdr.Name, err)
		}
		if u != nil && !u.entry(dir, hdr) {
			continue
		}
		if err := te.UnpackEntry(dir, hdr, tr); err != nil {
			return fmt.Errorf("unpack layer entry %q: %w", hdr.Name, err)
		}
	}
}

// checkEntry refuses entries that name a place outside root.
func checkEntry(root string, hdr *tar.Header) error {
	if err := checkName(hdr.Name); err != nil {
		return err
	}
	if hdr.Typeflag == tar.TypeLink {
		if err := checkName(hdr.Linkname); err != nil {
			return fmt.Errorf("hardlink target %q: %w", hdr.Linkname, err)
		}
	}
	parent := path.Dir(strings.TrimPrefix(path.Clean("/"+hdr.Name), "/"))
	if parent != "." {
		if err := checkParents(root, parent); err != nil {
			return err
		}
	}
	if hdr.Typeflag == tar.TypeLink {
		if p := path.Dir(path.Clean(hdr.Linkname)); p != "." {
			return checkParents(root, p)
		}
	}
	return nil
}

func checkName(name string) error {
	if strings.HasPrefix(name, "/") {
		return errors.New("absolute path")
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return errors.New(`path with ".."`)
		}
	}
	return nil
}

// checkParents follows the directories of rel inside root and fails when one
// of them is a symlink that leads out of root (an absolute target, or a
// relative one with more ".." than there are levels). Symlinks that stay
// inside, like Debian's bin -> usr/bin, are followed.
func checkParents(root, rel string) error {
	const maxLinks = 40
	links := 0
	parts := strings.Split(rel, "/")
	var cur []string
	for len(parts) > 0 {
		p := parts[0]
		parts = parts[1:]
		switch p {
		case "", ".":
			continue
		case "..":
			if len(cur) == 0 {
				return errors.New("parent directory leads out of the root")
			}
			cur = cur[:len(cur)-1]
			continue
		}
		next := append(cur, p)
		fi, err := os.Lstat(filepath.Join(root, filepath.Join(next...)))
		if err != nil {
			// Not there yet: the extractor creates it as a directory.
			cur = next
			continue
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			cur = next
			continue
		}
		links++
		if links > maxLinks {
			return errors.New("too many symlinks in parent directories")
		}
		target, err := os.Readlink(filepath.Join(root, filepath.Join(next...)))
		if err != nil {
			return err
		}
		if strings.HasPrefix(target, "/") {
			return fmt.Errorf("parent %s is a symlink to the absolute path %s", strings.Join(next, "/"), target)
		}
		// Resolve the link relative to its directory and go on from there.
		parts = append(strings.Split(target, "/"), parts...)
	}
	return nil
}
