package disk

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kiwi-go/kiwi/internal/runner"
	"github.com/kiwi-go/kiwi/internal/timing"
)

// Filesystem is a filesystem to make from a directory.
type Filesystem struct {
	Type  string // ext2, ext3, ext4, btrfs, xfs, fat
	Label string
	UUID  string // filesystem UUID (FAT: 8 hex digits volume id)
	Size  int64
	// CreateOptions are extra mkfs options (fscreateoptions).
	CreateOptions []string
	// Compression is squashfs's compressor (zstd by default).
	Compression string
}

// NewUUID returns a random RFC 4122 version 4 UUID.
func NewUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// InPlace tells whether Make writes type t straight into the disk image at
// an offset (ext*), rather than into a file that is copied there.
func InPlace(t string) bool { return strings.HasPrefix(t, "ext") }

// Make fills a new filesystem from dir (nil dir: empty) into file at
// offset. Only ext* can start at a non-zero offset; the others are made
// as files of their own (offset 0). Nothing is mounted.
func Make(ctx context.Context, r runner.Runner, fs Filesystem, dir, file string, offset int64) error {
	defer timing.Start(ctx, "filesystem")()
	if offset != 0 && !InPlace(fs.Type) {
		return fmt.Errorf("%s filesystems cannot be made at an offset of a file", fs.Type)
	}
	switch fs.Type {
	case "ext2", "ext3", "ext4":
		// -b 4096: without it the block count below would be read as
		// 1 KiB blocks.
		args := []string{"-F", "-q", "-t", fs.Type, "-b", "4096", "-L", fs.Label, "-U", fs.UUID, "-E", "offset=" + strconv.FormatInt(offset, 10)}
		if dir != "" {
			args = append(args, "-d", dir)
		}
		args = append(args, fs.CreateOptions...)
		args = append(args, file, strconv.FormatInt(fs.Size/4096, 10))
		_, err := r.Run(ctx, runner.Cmd{Name: "mkfs." + fs.Type, Args: args})
		return err
	case "btrfs":
		if err := sized(file, fs.Size); err != nil {
			return err
		}
		// With --rootdir, btrfs-progs 6.2 extends the file when the tree
		// needs more room than the estimate gave; the caller reads the
		// size back.
		args := []string{"-q", "-f", "-L", fs.Label, "-U", fs.UUID}
		if dir != "" {
			args = append(args, "--rootdir", dir)
		}
		args = append(args, fs.CreateOptions...)
		args = append(args, file)
		_, err := r.Run(ctx, runner.Cmd{Name: "mkfs.btrfs", Args: args})
		return err
	case "fat", "vfat", "fat32", "fat16":
		if err := os.Remove(file); err != nil && !os.IsNotExist(err) {
			return err
		}
		args := []string{"-C", "-n", fs.Label}
		if fs.UUID != "" {
			args = append(args, "-i", fs.UUID)
		}
		args = append(args, fs.CreateOptions...)
		args = append(args, file, strconv.FormatInt(fs.Size/1024, 10))
		if _, err := r.Run(ctx, runner.Cmd{Name: "mkfs.fat", Args: args}); err != nil {
			return err
		}
		if dir == "" {
			return nil
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		if len(entries) == 0 {
			return nil
		}
		// mtools writes into the image file: no vfat driver, no mount.
		cargs := []string{"-i", file, "-s", "-p", "-Q"}
		for _, e := range entries {
			cargs = append(cargs, filepath.Join(dir, e.Name()))
		}
		cargs = append(cargs, "::/")
		_, err = r.Run(ctx, runner.Cmd{Name: "mcopy", Args: cargs, Env: []string{"MTOOLS_SKIP_CHECK=1"}})
		return err
	case "xfs":
		return makeXFS(ctx, r, fs, dir, file)
	case "squashfs":
		if err := os.Remove(file); err != nil && !os.IsNotExist(err) {
			return err
		}
		comp := fs.Compression
		if comp == "" {
			comp = "zstd"
		}
		args := []string{dir, file, "-noappend", "-quiet", "-no-progress"}
		if comp == "uncompressed" {
			// squashfs-tools 4.5 has no "-comp none": one switch per part.
			args = append(args, "-noI", "-noId", "-noD", "-noF", "-noX")
		} else {
			args = append(args, "-comp", comp)
		}
		args = append(args, fs.CreateOptions...)
		_, err := r.Run(ctx, runner.Cmd{Name: "mksquashfs", Args: args})
		return err
	case "erofs":
		args := []string{"-L", fs.Label, "-U", fs.UUID}
		args = append(args, fs.CreateOptions...)
		args = append(args, file, dir)
		_, err := r.Run(ctx, runner.Cmd{Name: "mkfs.erofs", Args: args})
		return err
	}
	return fmt.Errorf("unsupported filesystem %q: use ext2, ext3, ext4, btrfs, xfs, squashfs, erofs or fat", fs.Type)
}

// sized creates file as a sparse file of size bytes.
func sized(file string, size int64) error {
	f, err := os.OpenFile(file, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// makeXFS is the one filesystem made with a mount: xfsprogs 6.1 (Debian
// 12) cannot fill an image from a directory (its protofiles lose
// hardlinks, xattrs and the sticky bit). So, as root only, the image is
// loop-mounted in a private mount namespace and the tree copied in. The
// mount exists only inside that namespace, and the loop device is set up
// with autoclear, so both go away with the process however it ends.
func makeXFS(ctx context.Context, r runner.Runner, fs Filesystem, dir, file string) error {
	if err := sized(file, fs.Size); err != nil {
		return err
	}
	args := []string{"-q", "-f", "-L", fs.Label, "-m", "uuid=" + fs.UUID}
	args = append(args, fs.CreateOptions...)
	args = append(args, file)
	if _, err := r.Run(ctx, runner.Cmd{Name: "mkfs.xfs", Args: args}); err != nil {
		return err
	}
	if dir == "" {
		return nil
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("filling an xfs filesystem needs root (a loop mount: xfsprogs cannot fill an image from a directory); run as root or use ext4 or btrfs")
	}
	mnt, err := os.MkdirTemp(filepath.Dir(file), ".xfs-mnt-")
	if err != nil {
		return err
	}
	defer os.Remove(mnt)
	script := `set -e
mount -t xfs -o loop "$1" "$2"
cp -a "$3/." "$2/"
umount "$2"`
	_, err = r.Run(ctx, runner.Cmd{Name: "unshare", Args: []string{"--mount", "--propagation", "private", "--fork", "--kill-child",
		"sh", "-c", script, "sh", file, mnt, dir}})
	if err != nil {
		return fmt.Errorf("fill xfs filesystem (loop mount): %w", err)
	}
	return nil
}
