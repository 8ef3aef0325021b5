package disk

import (
	"context"
	"crypto/rand"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kiwi-go/kiwi/internal/runner"
	"github.com/kiwi-go/kiwi/internal/timing"
	"github.com/kiwi-go/kiwi/internal/userns"
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
	// Epoch (SOURCE_DATE_EPOCH) makes the filesystem reproducible: the
	// same tree and settings give the same bytes. Times the tools take
	// from the clock are Epoch, file times are clamped to it (ext*:
	// atime and ctime are Epoch, since a copied tree's differ), and ext*'s
	// directory hash seed is HashSeed. btrfs and xfs cannot be made so
	// with Debian 12's tools (they stamp the clock and the source's
	// ctimes); they are made as without it.
	Epoch    *time.Time
	HashSeed string
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
	// The reproducible ones copy each inode's extended attributes in the
	// order the tree lists them, which is not the tree's content
	// (sortXattrs). btrfs and xfs are not reproducible here, FAT has none.
	if fs.Epoch != nil && dir != "" && (InPlace(fs.Type) || fs.Type == "squashfs" || fs.Type == "erofs") {
		if err := sortXattrs(dir); err != nil {
			return err
		}
	}
	switch fs.Type {
	case "ext2", "ext3", "ext4":
		// -b 4096: without it the block count below would be read as
		// 1 KiB blocks.
		ext := "offset=" + strconv.FormatInt(offset, 10)
		var env []string
		if fs.Epoch != nil {
			ext += ",hash_seed=" + fs.HashSeed
			env = fakeTime(*fs.Epoch)
		}
		args := []string{"-F", "-q", "-t", fs.Type, "-b", "4096", "-L", fs.Label, "-U", fs.UUID, "-E", ext}
		if dir != "" {
			args = append(args, "-d", dir)
		}
		args = append(args, fs.CreateOptions...)
		args = append(args, file, strconv.FormatInt(fs.Size/4096, 10))
		if _, err := r.Run(ctx, runner.Cmd{Name: "mkfs." + fs.Type, Args: args, Env: env}); err != nil {
			return err
		}
		if fs.Epoch != nil && dir != "" {
			return clampExtTimes(ctx, r, dir, file, offset, *fs.Epoch)
		}
		return nil
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
		if fs.Epoch != nil {
			// The volume label's entry and the boot sector's fill come
			// from the clock and chance otherwise. Before -i: it also
			// sets the volume id (to 1234-ABCD), and the later option
			// wins, so after -i the fstab's /boot/efi would be missing.
			args = append(args, "--invariant")
		}
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
		// -m keeps the files' times (the clock's otherwise); with an
		// Epoch they are clamped to it first.
		cargs := []string{"-i", file, "-s", "-p", "-Q", "-m"}
		if fs.Epoch != nil {
			if err := clampTreeTimes(dir, *fs.Epoch); err != nil {
				return err
			}
		}
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
		// mksquashfs 4.5 takes its mkfs time from SOURCE_DATE_EPOCH and
		// clamps the files' times to it.
		var env []string
		if fs.Epoch != nil {
			env = []string{"SOURCE_DATE_EPOCH=" + strconv.FormatInt(fs.Epoch.Unix(), 10)}
		}
		_, err := r.Run(ctx, runner.Cmd{Name: "mksquashfs", Args: args, Env: env})
		return err
	case "erofs":
		// erofs-utils 1.5 (Debian 12) has no -L (it refuses the option):
		// the label is set where mkfs.erofs knows it. Its help goes to
		// stderr.
		help, _ := r.Run(ctx, runner.Cmd{Name: "sh", Args: []string{"-c", "exec mkfs.erofs --help 2>&1"}})
		args := []string{"-U" + fs.UUID}
		if strings.Contains(string(help), "\n -L") {
			args = append(args, "-L", fs.Label)
		}
		if fs.Epoch != nil {
			// Every file's time is Epoch (erofs-utils 1.5 cannot clamp).
			args = append(args, "-T"+strconv.FormatInt(fs.Epoch.Unix(), 10))
		}
		args = append(args, fs.CreateOptions...)
		args = append(args, file, dir)
		_, err := r.Run(ctx, runner.Cmd{Name: "mkfs.erofs", Args: args})
		return err
	}
	return fmt.Errorf("unsupported filesystem %q: use ext2, ext3, ext4, btrfs, xfs, squashfs, erofs or fat", fs.Type)
}

// fakeTime is the environment that makes e2fsprogs take t for the
// clock.
func fakeTime(t time.Time) []string {
	return []string{"E2FSPROGS_FAKE_TIME=" + strconv.FormatInt(t.Unix(), 10)}
}

// clampExtTimes sets, in the ext filesystem at offset of file made from
// dir, every inode's atime and ctime to epoch and its mtime to epoch
// when later: mke2fs 1.47.0 copies all three from the tree, and a
// tree's ctimes are when it was written, never the same twice. One
// debugfs run (with the clock at epoch for its own superblock stamp),
// paths as mke2fs made them.
func clampExtTimes(ctx context.Context, r runner.Runner, dir, file string, offset int64, epoch time.Time) error {
	var cmds strings.Builder
	at := "@" + strconv.FormatInt(epoch.Unix(), 10)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if strings.ContainsAny(rel, "\n\"") {
			return fmt.Errorf("%s: a file name with a newline or a double quote cannot be given a reproducible time (unset SOURCE_DATE_EPOCH or rename it)", p)
		}
		q := `"/` + rel + `"`
		if rel == "." {
			q = `"/"`
		}
		fmt.Fprintf(&cmds, "sif %s atime %s\nsif %s ctime %s\n", q, at, q, at)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.ModTime().After(epoch) {
			fmt.Fprintf(&cmds, "sif %s mtime %s\n", q, at)
		}
		return nil
	})
	if err != nil {
		return err
	}
	target := file
	if offset != 0 {
		target += "?offset=" + strconv.FormatInt(offset, 10)
	}
	_, err = r.Run(ctx, runner.Cmd{Name: "debugfs", Args: []string{"-w", "-f", "-", target}, Stdin: strings.NewReader(cmds.String()), Env: fakeTime(epoch)})
	if err != nil {
		return fmt.Errorf("clamp the file times to SOURCE_DATE_EPOCH: %w", err)
	}
	return nil
}

// clampTreeTimes sets the times of dir's files that are later than
// epoch to epoch (for a tree kiwi made itself, like the ESP's).
func clampTreeTimes(dir string, epoch time.Time) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil || !info.ModTime().After(epoch) || d.Type()&fs.ModeSymlink != 0 {
			return err
		}
		return os.Chtimes(p, epoch, epoch)
	})
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
	if !userns.HostRoot() {
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
