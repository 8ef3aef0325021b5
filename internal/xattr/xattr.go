// Package xattr reads extended attributes of any size: the names and
// values of a path (never following a symlink) or of an open file.
package xattr

import (
	"errors"
	"strings"

	"golang.org/x/sys/unix"
)

// Names splits what list (Llistxattr, Flistxattr into the buffer given)
// reports into names, growing the buffer until they fit. A filesystem
// without extended attributes has none.
func Names(list func([]byte) (int, error)) ([]string, error) {
	buf := make([]byte, 1024)
	for {
		n, err := list(buf)
		if errors.Is(err, unix.ERANGE) {
			buf = make([]byte, 4*len(buf))
			continue
		}
		if errors.Is(err, unix.ENOTSUP) || (err == nil && n == 0) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return strings.Split(strings.TrimSuffix(string(buf[:n]), "\x00"), "\x00"), nil
	}
}

// Value reads one value through get (Lgetxattr, Fgetxattr into the
// buffer given), growing the buffer until it fits.
func Value(get func([]byte) (int, error)) ([]byte, error) {
	buf := make([]byte, 256)
	for {
		n, err := get(buf)
		if errors.Is(err, unix.ERANGE) {
			buf = make([]byte, 4*len(buf))
			continue
		}
		if err != nil {
			return nil, err
		}
		return buf[:n], nil
	}
}

// List is the names of p's extended attributes.
func List(p string) ([]string, error) {
	return Names(func(b []byte) (int, error) { return unix.Llistxattr(p, b) })
}

// Get is the value of p's extended attribute name.
func Get(p, name string) ([]byte, error) {
	return Value(func(b []byte) (int, error) { return unix.Lgetxattr(p, name, b) })
}
