// Package checksum hashes files: result files of a build, cached boxes,
// the files of a root tree a stash compares.
package checksum

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

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
	zeros := make([]byte, 1<<20)
	hashZeros := func(n int64) {
		for n > 0 {
			k := min(n, int64(len(zeros)))
			h.Write(zeros[:k])
			n -= k
		}
	}
	var pos int64
	for pos < fi.Size() {
		data, err := unix.Seek(int(f.Fd()), pos, unix.SEEK_DATA)
		if errors.Is(err, unix.ENXIO) {
			break // only a hole is left
		}
		if errors.Is(err, unix.EINVAL) && pos == 0 {
			// A filesystem that cannot tell holes: read it all.
			if _, err := io.Copy(h, f); err != nil {
				return "", fmt.Errorf("hash %s: %w", p, err)
			}
			return hex.EncodeToString(h.Sum(nil)), nil
		}
		if err != nil {
			return "", fmt.Errorf("hash %s: %w", p, err)
		}
		hole, err := unix.Seek(int(f.Fd()), data, unix.SEEK_HOLE)
		if err != nil {
			return "", fmt.Errorf("hash %s: %w", p, err)
		}
		hashZeros(data - pos)
		if _, err := f.Seek(data, io.SeekStart); err != nil {
			return "", fmt.Errorf("hash %s: %w", p, err)
		}
		if _, err := io.CopyN(h, f, hole-data); err != nil {
			return "", fmt.Errorf("hash %s: %w", p, err)
		}
		pos = hole
	}
	hashZeros(fi.Size() - pos)
	return hex.EncodeToString(h.Sum(nil)), nil
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
