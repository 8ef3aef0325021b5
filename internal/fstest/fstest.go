// Package fstest builds sample root trees with every kind of file an image
// holds and compares trees with all their metadata. Tests use it to prove
// that stashing, stacking and unpacking lose nothing.
package fstest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/kiwi-go/kiwi/internal/xattr"
	"golang.org/x/sys/unix"
)

// Entry is what Scan records of one path.
type Entry struct {
	Mode   os.FileMode
	UID    uint32
	GID    uint32
	Size   int64
	Mtime  int64 // seconds: layers keep whole seconds, like tar and mtree
	Rdev   uint64
	Link   string
	Digest string
	Xattrs map[string]string
	// Inode groups hardlinks: paths that share one carry the same group
	// name (the first path of the group), others carry "".
	Inode string
}

// Tree maps a slash path relative to the root to its entry.
type Tree map[string]Entry

// Scan reads root. Paths below any of skip (relative directories) are left
// out, but the directories themselves are kept. The root directory's own
// metadata is recorded under ".".
func Scan(root string, skip ...string) (Tree, error) {
	t := Tree{}
	type key struct{ dev, ino uint64 }
	first := map[key]string{}
	counted := map[key]int{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		for _, s := range skip {
			if strings.HasPrefix(rel, s+"/") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		e := Entry{Mode: fi.Mode(), UID: st.Uid, GID: st.Gid, Mtime: st.Mtim.Sec, Rdev: st.Rdev}
		if !fi.IsDir() {
			e.Size = fi.Size()
		}
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			e.Link, err = os.Readlink(p)
			if err != nil {
				return err
			}
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h := sha256.Sum256(b)
			e.Digest = hex.EncodeToString(h[:])
			if st.Nlink > 1 {
				k := key{st.Dev, st.Ino}
				if _, ok := first[k]; !ok {
					first[k] = rel
				}
				counted[k]++
				e.Inode = first[k]
			}
		}
		e.Xattrs, err = xattrs(p)
		if err != nil {
			return err
		}
		t[rel] = e
		return nil
	})
	if err != nil {
		return nil, err
	}
	// A hardlink whose other names are all outside the scanned set is a
	// plain file for the comparison.
	for p, e := range t {
		if e.Inode != "" {
			var n int
			for _, o := range t {
				if o.Inode == e.Inode {
					n++
				}
			}
			if n < 2 {
				e.Inode = ""
				t[p] = e
			}
		}
	}
	return t, nil
}

func xattrs(p string) (map[string]string, error) {
	names, err := xattr.List(p)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, name := range names {
		if name == "" || name == "security.selinux" {
			continue
		}
		v, err := xattr.Get(p, name)
		if err != nil {
			return nil, fmt.Errorf("%s: xattr %s: %w", p, name, err)
		}
		out[name] = string(v)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// Diff lists the differences between want and got, one line each, sorted;
// empty when the trees are equal. ignoreMtime lists paths whose mtime may
// differ (directories a tool recreated).
func Diff(want, got Tree, ignoreMtime ...string) []string {
	ign := map[string]bool{}
	for _, p := range ignoreMtime {
		ign[p] = true
	}
	var out []string
	for p, w := range want {
		g, ok := got[p]
		if !ok {
			out = append(out, "missing: "+p)
			continue
		}
		if ign[p] {
			g.Mtime = w.Mtime
		}
		if d := entryDiff(w, g); d != "" {
			out = append(out, p+": "+d)
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			out = append(out, "unexpected: "+p)
		}
	}
	sort.Strings(out)
	return out
}

func entryDiff(w, g Entry) string {
	var b bytes.Buffer
	if w.Mode != g.Mode {
		fmt.Fprintf(&b, "mode %v != %v; ", w.Mode, g.Mode)
	}
	if w.UID != g.UID || w.GID != g.GID {
		fmt.Fprintf(&b, "owner %d:%d != %d:%d; ", w.UID, w.GID, g.UID, g.GID)
	}
	if w.Size != g.Size || w.Digest != g.Digest {
		fmt.Fprintf(&b, "content differs; ")
	}
	if w.Mtime != g.Mtime {
		fmt.Fprintf(&b, "mtime %d != %d; ", w.Mtime, g.Mtime)
	}
	if w.Rdev != g.Rdev {
		fmt.Fprintf(&b, "device %x != %x; ", w.Rdev, g.Rdev)
	}
	if w.Link != g.Link {
		fmt.Fprintf(&b, "link %q != %q; ", w.Link, g.Link)
	}
	if fmt.Sprint(w.Xattrs) != fmt.Sprint(g.Xattrs) {
		fmt.Fprintf(&b, "xattrs %v != %v; ", w.Xattrs, g.Xattrs)
	}
	if w.Inode != g.Inode {
		fmt.Fprintf(&b, "hardlink group %q != %q; ", w.Inode, g.Inode)
	}
	return strings.TrimSuffix(b.String(), "; ")
}

// SampleRoot fills dir with every file kind a root tree may hold: files
// with odd modes (setuid, setgid), a sticky directory, owners other than
// root, symlinks (relative, absolute, dangling), hardlinks, character and
// block devices, a fifo, user./trusted./security.capability xattrs, an
// empty file, a sparse-ish large file, names with spaces and unicode,
// and /dev, /proc, /sys with contents that stashes must leave out.
// It needs root (mknod, chown, trusted.* xattrs).
func SampleRoot(dir string) error {
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	var err error
	func() {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("sample root: %v", r)
			}
		}()
		mk := func(p string, mode os.FileMode) string {
			full := filepath.Join(dir, p)
			must(os.MkdirAll(full, 0o755))
			must(os.Chmod(full, mode))
			return full
		}
		file := func(p, content string, mode os.FileMode) string {
			full := filepath.Join(dir, p)
			must(os.MkdirAll(filepath.Dir(full), 0o755))
			must(os.WriteFile(full, []byte(content), 0o600))
			must(os.Chmod(full, mode))
			return full
		}
		for _, d := range []string{"etc", "usr/bin", "usr/lib", "var/lib/empty", "home/user", "dev", "proc", "sys", "image"} {
			mk(d, 0o755)
		}
		mk("tmp", 0o777|os.ModeSticky)
		file("etc/os-release", "ID=sample\n", 0o644)
		file("etc/shadow", "root:*:1::::::\n", 0o640)
		must(os.Chown(filepath.Join(dir, "etc/shadow"), 0, 42))
		su := file("usr/bin/su", "#!/bin/sh\necho su\n", 0o755)
		must(os.Chmod(su, 0o755|os.ModeSetuid))
		sg := file("usr/bin/wall", "#!/bin/sh\necho wall\n", 0o755)
		must(os.Chmod(sg, 0o755|os.ModeSetgid))
		must(os.Chown(sg, 0, 5))
		ping := file("usr/bin/ping", "ELF-ish", 0o755)
		// security.capability v2: cap_net_raw+ep.
		capv := []byte{0, 0, 0, 2, 0, 0x20, 0, 0, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
		must(unix.Lsetxattr(ping, "security.capability", capv, 0))
		lib := file("usr/lib/libx.so.1", strings.Repeat("lib", 1000), 0o644)
		must(unix.Lsetxattr(lib, "user.comment", []byte("a user xattr"), 0))
		must(unix.Lsetxattr(lib, "trusted.overlay-ish", []byte("trusted value"), 0))
		must(os.Symlink("libx.so.1", filepath.Join(dir, "usr/lib/libx.so")))
		must(os.Symlink("/usr/bin/su", filepath.Join(dir, "usr/bin/su-abs")))
		must(os.Symlink("../nowhere/at/all", filepath.Join(dir, "usr/lib/dangling")))
		must(os.Link(filepath.Join(dir, "usr/bin/su"), filepath.Join(dir, "usr/bin/su-hard")))
		must(os.Link(filepath.Join(dir, "etc/os-release"), filepath.Join(dir, "usr/lib/os-release")))
		must(unix.Mknod(filepath.Join(dir, "var/lib/null-copy"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
		must(unix.Mknod(filepath.Join(dir, "var/lib/loop-copy"), unix.S_IFBLK|0o660, int(unix.Mkdev(7, 0))))
		must(unix.Mkfifo(filepath.Join(dir, "var/lib/fifo"), 0o620))
		file("var/lib/empty-file", "", 0o600)
		big := make([]byte, 3<<20)
		for i := range big {
			big[i] = byte(i * 7)
		}
		must(os.WriteFile(filepath.Join(dir, "var/lib/big.bin"), big, 0o644))
		h := file("home/user/with space ünïcode.txt", "hi\n", 0o600)
		must(os.Chown(h, 1000, 1000))
		must(os.Chown(filepath.Join(dir, "home/user"), 1000, 1000))
		file("image/config.xml", `<?xml version="1.0" encoding="utf-8"?>
<image schemaversion="7.4" name="sample-root">
  <description type="system"><author>Sample Author</author><contact>a@example.org</contact><specification>x</specification></description>
  <preferences><version>1.0.0</version><packagemanager>apt</packagemanager></preferences>
</image>
`, 0o644)
		// Host views that never belong in an image.
		must(unix.Mknod(filepath.Join(dir, "dev/null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
		mk("dev/pts", 0o755)
		file("proc/cpuinfo", "fake", 0o444)
		file("sys/kernel", "fake", 0o444)
		// Fixed, distinct mtimes (after content and links are in place).
		t0 := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
		i := 0
		must(filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			i++
			ts := []unix.Timespec{unix.NsecToTimespec(t0.Add(time.Duration(i) * time.Minute).UnixNano()), unix.NsecToTimespec(t0.Add(time.Duration(i) * time.Minute).UnixNano())}
			return unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW)
		}))
		// Directories last, deepest first, so their mtimes stick.
		var dirs []string
		must(filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if d.IsDir() {
				dirs = append(dirs, p)
			}
			return err
		}))
		for j := len(dirs) - 1; j >= 0; j-- {
			ts := t0.Add(time.Duration(j) * time.Hour)
			must(os.Chtimes(dirs[j], ts, ts))
		}
	}()
	return err
}

// IsRoot tells whether the test runs with the privileges SampleRoot needs.
func IsRoot() bool { return syscall.Geteuid() == 0 }
