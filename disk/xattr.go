package disk

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/kiwi-go/kiwi/internal/xattr"
)

// sortXattrs gives every entry of the tree at dir whose extended
// attributes are not listed in name order its attributes again, set in
// name order. mke2fs 1.47 (and mksquashfs, mkfs.erofs) write an inode's
// attributes in the order the source lists them, and a filesystem lists
// them in the order they were set: /var/log/journal, whose POSIX ACLs
// systemd-tmpfiles set access first, lists them so in a root that ran
// its phases, but either way once restored from a layer (tar extractors
// apply a header's attributes from a map). The same files then made
// other bytes (an inode's attribute entries and checksum); sorted first,
// they make the same. Only entries out of order are touched.
func sortXattrs(dir string) error {
	return filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		names, err := xattr.List(p)
		if err != nil {
			return fmt.Errorf("list extended attributes of %s: %w", p, err)
		}
		if slices.IsSorted(names) {
			return nil
		}
		values := make([][]byte, len(names))
		for i, name := range names {
			if values[i], err = xattr.Get(p, name); err != nil {
				return fmt.Errorf("read extended attribute %s of %s: %w", name, p, err)
			}
		}
		order := slices.Clone(names)
		slices.Sort(order)
		// Removed and set again one by one in name order: each goes to
		// the end of the list, so the list ends sorted, and at no time
		// is more than one attribute missing.
		for _, name := range order {
			v := values[slices.Index(names, name)]
			if err := unix.Lremovexattr(p, name); err != nil {
				return fmt.Errorf("sort extended attributes of %s: remove %s: %w", p, name, err)
			}
			if err := unix.Lsetxattr(p, name, v, 0); err != nil {
				return fmt.Errorf("sort extended attributes of %s: set %s again: %w", p, name, err)
			}
		}
		return nil
	})
}
