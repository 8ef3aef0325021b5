// Package checksum hashes files: result files of a build, cached boxes,
// the files of a root tree a stash compares.
package checksum

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// sparseFrom is the size from which File looks for holes: below it a
// file is read through, which costs fewer system calls than asking.
const sparseFrom = 1 << 20

// File is the hex SHA-256 of the file at p. Holes are fed as zeros
// without reading them: disk images are mostly holes, and reading
// gigabytes of zero pages costs more than hashing them.
func File(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	if fi.Size() < sparseFrom {
		if _, err := io.Copy(h, f); err != nil {
			return "", fmt.Errorf("hash %s: %w", p, err)
		}
		return hex.EncodeToString(h.Sum(nil)), nil
	}
	if err := sparse(f, fi.Size(), h, nil); err != nil {
		return "", fmt.Errorf("hash %s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// sparse feeds the file f of size bytes to h, holes as zeros without
// reading them, and its data to out as well when out is set (at the same
// offsets, so out keeps the holes). A filesystem that cannot tell holes
// has f read through.
func sparse(f *os.File, size int64, h hash.Hash, out *os.File) error {
	w := io.Writer(h)
	if out != nil {
		w = io.MultiWriter(h, out)
	}
	zeros := make([]byte, 1<<20)
	hashZeros := func(n int64) {
		for n > 0 {
			k := min(n, int64(len(zeros)))
			h.Write(zeros[:k])
			n -= k
		}
	}
	var pos int64
	for pos < size {
		data, err := unix.Seek(int(f.Fd()), pos, unix.SEEK_DATA)
		if errors.Is(err, unix.ENXIO) {
			break // only a hole is left
		}
		if errors.Is(err, unix.EINVAL) && pos == 0 {
			_, err := io.Copy(w, f)
			return err
		}
		if err != nil {
			return err
		}
		hole, err := unix.Seek(int(f.Fd()), data, unix.SEEK_HOLE)
		if err != nil {
			return err
		}
		hashZeros(data - pos)
		if _, err := f.Seek(data, io.SeekStart); err != nil {
			return err
		}
		if out != nil {
			if _, err := out.Seek(data, io.SeekStart); err != nil {
				return err
			}
		}
		if _, err := io.CopyN(w, f, hole-data); err != nil {
			return err
		}
		pos = hole
	}
	hashZeros(size - pos)
	return nil
}

// JSON is the hex SHA-256 of the JSON of values: the cache key of
// whatever they describe. Only plain values (no channels or functions)
// may be given.
func JSON(values ...any) string {
	b, err := json.Marshal(values)
	if err != nil {
		panic(err) // a programming error: only plain values are hashed
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// CopyFile copies src to the new file dst and returns the hex SHA-256 of
// dst. Where the filesystem shares data (a reflink: xfs, btrfs), dst
// shares src's blocks and is hashed; else src is read once, copied and
// hashed on the way, its holes staying holes in dst (hashed as zeros, not
// read), so disk images keep their size on disk. dst gets src's mode
// bits; on error it may exist, partly written.
func CopyFile(src, dst string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return "", err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm())
	if err != nil {
		return "", err
	}
	defer out.Close()
	if unix.IoctlFileClone(int(out.Fd()), int(in.Fd())) == nil {
		if err := out.Close(); err != nil {
			return "", err
		}
		return File(dst)
	}
	h := sha256.New()
	if err := sparse(in, fi.Size(), h, out); err != nil {
		return "", fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	if err := out.Truncate(fi.Size()); err != nil {
		return "", err
	}
	if err := out.Close(); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Tree hashes every name, mode, link target and file content under dir:
// any change below it changes the digest (a description directory, the
// parts of a root an initrd depends on).
func Tree(dir string) (string, error) {
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fi, err := e.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%o\x00", rel, fi.Mode())
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "%s\x00", l)
		case fi.Mode().IsRegular():
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			_, err = io.Copy(h, f)
			f.Close()
			if err != nil {
				return err
			}
		}
		return nil
	})
	return hex.EncodeToString(h.Sum(nil)), err
}
