package create

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/kiwi-go/kiwi/build/description"
	"github.com/kiwi-go/kiwi/disk"
	"github.com/kiwi-go/kiwi/internal/checksum"
	"github.com/kiwi-go/kiwi/internal/journal"
)

// Resize is image resize: the oem disk d's create made in target grows
// to size bytes (disk.Grow: the file, and a GPT's backup at the new
// end, no loop device), its format= image is made again from it, and
// both get new .sha256 files, as KIWI's image resize does (its
// checksums would be stale). The root partition grows at the disk's
// next boot (oem-resize). A type other than oem, a missing raw disk or a
// size not larger than the disk is an error before any change; after a
// later error the raw disk is put back as it was. It returns the files
// it wrote.
func Resize(ctx context.Context, d *description.Description, target string, size int64, o Options) ([]string, error) {
	if d.Type.Image != "oem" {
		return nil, fmt.Errorf("%s: <type image=%q>: image resize grows oem disks only", d.File, d.Type.Image)
	}
	t, err := DiskTypeOf(d)
	if err != nil {
		return nil, err
	}
	base := fmt.Sprintf("%s.%s-%s", t.Name, t.Arch, t.Version)
	raw := filepath.Join(target, base+".raw")
	fi, err := os.Stat(raw)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no raw disk %s in the build results: is %s the --target-dir of that build?", raw, target)
	}
	if err != nil {
		return nil, err
	}
	if size <= fi.Size() {
		return nil, fmt.Errorf("--size %d: the disk %s is %d bytes already; image resize only grows a disk", size, raw, fi.Size())
	}
	work, err := os.MkdirTemp(target, journal.TempPattern(".kiwi-resize-"))
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	o.Log.Info("resizing raw disk", "file", raw, "bytes", size)
	_, undo, err := disk.Grow(raw, size)
	if err != nil {
		return nil, err
	}
	written, err := resized(ctx, o, t, raw, work, base, target)
	if err != nil {
		if uerr := undo(); uerr != nil {
			return nil, fmt.Errorf("%w (and putting %s back failed: %v)", err, raw, uerr)
		}
		return nil, err
	}
	return written, nil
}

// resized makes the format image of the grown raw disk in work and puts
// it, and both checksums, into target.
func resized(ctx context.Context, o Options, t DiskType, raw, work, base, target string) ([]string, error) {
	files := []string{base + ".raw"}
	if t.Format != "" {
		o.Log.Info("creating the disk format from the resized raw disk", "format", t.Format)
		name, err := convert(ctx, o.Run, t, raw, work, base, o.Epoch)
		if err != nil {
			return nil, err
		}
		if err := os.Rename(filepath.Join(work, name), filepath.Join(target, name)); err != nil {
			return nil, err
		}
		files = append(files, name)
	}
	var written []string
	for _, f := range files {
		sum, err := checksum.File(filepath.Join(target, f))
		if err != nil {
			return nil, err
		}
		p := filepath.Join(target, f)
		if err := os.WriteFile(p+".sha256", []byte(sum+"  "+f+"\n"), 0o644); err != nil {
			return nil, err
		}
		written = append(written, p, p+".sha256")
	}
	return written, nil
}
