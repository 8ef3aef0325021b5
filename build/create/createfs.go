package create

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kiwi-go/kiwi/build/description"
	"github.com/kiwi-go/kiwi/disk"
	"github.com/kiwi-go/kiwi/result"
)

// FSType is a plain filesystem image type (image="ext4", "squashfs", ...).
type FSType struct {
	Name, Version, Arch string
	Filesystem          string
	Label               string
	CreateOptions       []string
	Compression         string // squashfs
	Size                int64  // 0: what the tree needs
	// SizeAdditive adds Size to what the tree needs (<size additive>).
	SizeAdditive bool
}

// FS writes the root tree as one filesystem image,
// <base>.<filesystem>, plus .packages, .verified, checksums and
// kiwi.result.json. Like OEM it mounts nothing (xfs excepted) and
// publishes only complete results.
func FS(ctx context.Context, t FSType, o Options) ([]Result, error) {
	o, work, err := begin(ctx, o)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	base := fmt.Sprintf("%s.%s-%s", t.Name, t.Arch, t.Version)
	size := t.Size
	if size == 0 || t.SizeAdditive {
		used, err := treeSize(o.Root)
		if err != nil {
			return nil, err
		}
		size = rootFSSize(used) + t.Size
	}
	label := t.Label
	if label == "" {
		label = "ROOT"
	}
	name := base + "." + t.Filesystem
	// The package list and verification read the tree only: they run
	// while the filesystem is made.
	packages := startPackageResults(ctx, o, work, base)
	defer packages()
	o.Log.Info("making filesystem image", "fs", t.Filesystem, "size_mib", size/disk.MiB)
	fsys := o.filesystem(base, "root", disk.Filesystem{Type: t.Filesystem, Label: label, UUID: o.fsUUID(base, "root"), Size: size,
		CreateOptions: t.CreateOptions, Compression: t.Compression})
	if err := disk.Make(ctx, o.Run, fsys, o.Root, filepath.Join(work, name), 0); err != nil {
		return nil, err
	}
	extra, err := packages()
	if err != nil {
		return nil, err
	}
	results := []Result{{Key: "filesystem_image", File: result.File{Filename: name, Shasum: true, Bundle: true, Compress: o.bundleCompress(true)}}}
	return publish(o, work, append(results, extra...))
}

// fsImageTypes are the image types that are one filesystem.
var fsImageTypes = map[string]bool{"ext2": true, "ext3": true, "ext4": true, "btrfs": true, "xfs": true, "squashfs": true, "erofs": true}

// FSTypeOf reads a plain filesystem type from a description.
func FSTypeOf(d *description.Description) (FSType, bool) {
	t := d.Type
	if !fsImageTypes[t.Image] {
		return FSType{}, false
	}
	ft := FSType{Name: d.Name, Version: d.Version, Arch: d.TargetArch, Filesystem: t.Image, Label: t.RootFSLabel,
		Compression: t.SquashfsCompression, CreateOptions: strings.Fields(t.FSCreateOptions)}
	if ft.Version == "" {
		ft.Version = "1.0.0"
	}
	if t.Size != nil {
		ft.Size, ft.SizeAdditive = t.Size.Bytes(), t.Size.Additive
	}
	return ft, true
}
