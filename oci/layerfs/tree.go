package layerfs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/kiwi-go/kiwi/internal/xattr"
	"golang.org/x/sys/unix"
)

// ErrNotPlain marks a layer directory that a plain copy cannot reproduce:
// overlayfs redirects or metacopy (only an overlay mount writes them,
// never containers-storage unpacking a tar), or storage's force_mask
// owner records.
var ErrNotPlain = errors.New("layer directory uses overlay redirects, metacopy or force_mask (only plainly unpacked layers can be copied)")

// Tree is a stack of images planned as one union before anything is
// written: images whose layers are directories in overlayfs's format (how
// containers-storage keeps layers with the overlay driver). Planning first
// means each path of the result is copied once, from the image that wins
// it, instead of once per image that has it (the way mount + rsync, or
// applying tar after tar, does it).
//
// The union follows Union: a later image replaces paths of earlier ones
// but deletes nothing of theirs (whiteouts act within their own image
// only), and a path is replaced, not merged, unless both are directories.
type Tree struct {
	root   *node
	images int
	// Overwritten records non-directory paths a later image replaced
	// (not those it holds from a layer it shares with the earlier one).
	Overwritten []string
	// Data is how Write gave the new tree its file data.
	Data Data
}

// Data counts the bytes of file data a tree got: shared with the layers
// by reflink (xfs, btrfs: the blocks are stored once and copied on write,
// so the tree and storage stay independent) or copied (filesystems
// without reflinks, like ext4).
type Data struct {
	Shared, Copied int64
	// NoReflink is why data was copied when the filesystem refused
	// reflinks: unix.EOPNOTSUPP (it has none), unix.EXDEV (the layers and
	// the new tree are on different filesystems or mounts).
	NoReflink error
}

// node is one path of the plan: the file in a layer directory that
// supplies it and that file's metadata.
type node struct {
	src  string // absolute path in a layer directory
	st   unix.Stat_t
	kids map[string]*node // directories only
	// In a layer as read (before it is laid over the image): a whiteout,
	// and a directory that hides what lower layers had there.
	whiteout, opaque bool
}

func (n *node) isDir() bool { return n.st.Mode&unix.S_IFMT == unix.S_IFDIR }

// Overlay's private xattrs, under trusted. for root and user. with the
// userxattr mount option.
var overlayXattrPrefixes = []string{"trusted.overlay.", "user.overlay."}

// AddImage plans one image from its layer directories, bottom first.
func (t *Tree) AddImage(ctx context.Context, layers []string) error {
	view := &node{kids: map[string]*node{}}
	for _, l := range layers {
		layer, err := readLayer(ctx, l, false)
		if err != nil {
			return fmt.Errorf("layer directory %s: %w", l, err)
		}
		if layer.opaque {
			clear(view.kids)
		}
		overlay(view, layer)
	}
	t.add(view)
	return nil
}

// AddTree plans a plain directory tree (a root, not a layer: nothing in
// it is a whiteout) as the next image.
func (t *Tree) AddTree(ctx context.Context, dir string) error {
	view, err := readLayer(ctx, dir, true)
	if err != nil {
		return fmt.Errorf("tree %s: %w", dir, err)
	}
	t.add(view)
	return nil
}

// add merges the view of the next image into the union.
func (t *Tree) add(view *node) {
	t.images++
	if t.root == nil {
		t.root = &node{kids: map[string]*node{}}
	}
	t.merge(t.root, view, "")
}

// overlay lays a layer as read over view, the image's union so far:
// whiteouts remove, opaque directories hide what lower layers had there.
func overlay(view, layer *node) {
	for name, ln := range layer.kids {
		if ln.whiteout {
			delete(view.kids, name)
			continue
		}
		if !ln.isDir() {
			view.kids[name] = ln
			continue
		}
		n := &node{src: ln.src, st: ln.st, kids: map[string]*node{}}
		if old := view.kids[name]; old != nil && old.isDir() && !ln.opaque {
			n.kids = old.kids
		}
		view.kids[name] = n
		overlay(n, ln)
	}
}

// readLayer reads a layer directory (or, plain, a whole tree) into nodes.
// Subdirectories are read by a few goroutines: on a cold page cache this
// is waiting for inode blocks, and several requests at once finish sooner.
func readLayer(ctx context.Context, dir string, plain bool) (*node, error) {
	r := &layerReader{ctx: ctx, plain: plain, slots: make(chan struct{}, 4*runtime.GOMAXPROCS(0))}
	root := &node{src: dir}
	r.read(root)
	r.wg.Wait()
	if r.err != nil {
		return nil, r.err
	}
	return root, nil
}

type layerReader struct {
	ctx   context.Context
	plain bool
	slots chan struct{} // goroutines that may read at once, besides the caller
	wg    sync.WaitGroup
	mu    sync.Mutex
	err   error // the first error
}

func (r *layerReader) fail(err error) {
	r.mu.Lock()
	if r.err == nil {
		r.err = err
	}
	r.mu.Unlock()
}

// read fills dir.kids. Each goroutine writes only the nodes it reads, and
// a child is complete in its parent before a goroutine reads into it.
func (r *layerReader) read(dir *node) {
	if err := r.ctx.Err(); err != nil {
		r.fail(err)
		return
	}
	names, err := readNames(dir.src)
	if err != nil {
		r.fail(err)
		return
	}
	dir.kids = make(map[string]*node, len(names))
	var subdirs []*node
	for _, name := range names {
		if !r.plain && strings.HasPrefix(name, whiteoutPrefix) {
			// fuse-overlayfs and older storage keep AUFS-style names.
			if name == whiteoutOpaque {
				dir.opaque = true
			} else {
				dir.kids[strings.TrimPrefix(name, whiteoutPrefix)] = &node{whiteout: true}
			}
			continue
		}
		n := &node{src: filepath.Join(dir.src, name)}
		if err := unix.Lstat(n.src, &n.st); err != nil {
			r.fail(err)
			return
		}
		if !r.plain && n.st.Mode&unix.S_IFMT == unix.S_IFCHR && n.st.Rdev == 0 {
			n.whiteout = true // overlay's whiteout
		} else if n.isDir() {
			if !r.plain {
				if n.opaque, err = isOpaque(n.src); err != nil {
					r.fail(err)
					return
				}
			}
			subdirs = append(subdirs, n)
		}
		// A whiteout and an AUFS name for the same entry: the whiteout wins.
		if old := dir.kids[name]; old == nil || !old.whiteout {
			dir.kids[name] = n
		}
	}
	for _, sub := range subdirs {
		select {
		case r.slots <- struct{}{}:
			r.wg.Go(func() {
				defer func() { <-r.slots }()
				r.read(sub)
			})
		default:
			r.read(sub)
		}
	}
}

func readNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}

func isOpaque(dir string) (bool, error) {
	buf := make([]byte, 8)
	for _, p := range overlayXattrPrefixes {
		n, err := unix.Lgetxattr(dir, p+"opaque", buf)
		if err == nil && string(buf[:n]) == "y" {
			return true, nil
		}
		if err != nil && !errors.Is(err, unix.ENODATA) && !errors.Is(err, unix.ENOTSUP) {
			return false, fmt.Errorf("read xattrs of %s: %w", dir, err)
		}
	}
	return false, nil
}

// merge lays the image view v over the union u at rel.
func (t *Tree) merge(u, v *node, rel string) {
	for name, vn := range v.kids {
		p := name
		if rel != "" {
			p = rel + "/" + name
		}
		un := u.kids[name]
		if !vn.isDir() {
			// The same file of a layer both images share (an image built
			// on the one below it) is no overwrite.
			if un != nil && !un.isDir() && t.images > 1 && (un.st.Dev != vn.st.Dev || un.st.Ino != vn.st.Ino) {
				t.Overwritten = append(t.Overwritten, p)
			}
			u.kids[name] = vn
			continue
		}
		if un == nil || !un.isDir() {
			un = &node{kids: map[string]*node{}}
			u.kids[name] = un
		}
		un.src, un.st = vn.src, vn.st
		t.merge(un, vn, p)
	}
}

// Write creates the planned tree in dir, which must exist and be empty:
// directories first, then files, symlinks and device nodes copied by a
// few workers (the data by reflink where the filesystem has them, else
// with copy_file_range, so it stays in the kernel), then hardlinks, then
// directory metadata, so their mtimes stick. Every entry is
// created new (O_EXCL, no symlink followed) below directories Write made
// itself, so nothing can lead out of dir.
func (t *Tree) Write(ctx context.Context, dir string) error {
	sort.Strings(t.Overwritten)
	if t.root == nil {
		return nil
	}
	var dirs []job
	var files []job
	links := map[[2]uint64][]string{}
	var walk func(n *node, dst string) error
	walk = func(n *node, dst string) error {
		names := make([]string, 0, len(n.kids))
		for name := range n.kids {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			k := n.kids[name]
			p := filepath.Join(dst, name)
			if k.isDir() {
				if err := os.Mkdir(p, 0o700); err != nil {
					return err
				}
				dirs = append(dirs, job{k, p})
				if err := walk(k, p); err != nil {
					return err
				}
				continue
			}
			if k.st.Mode&unix.S_IFMT == unix.S_IFREG && k.st.Nlink > 1 {
				key := [2]uint64{k.st.Dev, k.st.Ino}
				links[key] = append(links[key], p)
				if len(links[key]) > 1 {
					continue
				}
			}
			files = append(files, job{k, p})
		}
		return nil
	}
	if err := walk(t.root, dir); err != nil {
		return fmt.Errorf("create directories: %w", err)
	}
	w := newFileWriter(dir)
	// The first file with data tells whether it is shared or copied.
	// Shared, only metadata is left to write, which a few workers do
	// best (btrfs: 0.55 s against 0.7-0.85 s with more, for a 17k-entry
	// root); copied, more workers keep more reads of a cold page cache in
	// flight.
	workers := 8 * runtime.GOMAXPROCS(0)
	if i := slices.IndexFunc(files, func(j job) bool { return j.n.st.Mode&unix.S_IFMT == unix.S_IFREG && j.n.st.Size > 0 }); i >= 0 {
		if err := w.writeEntry(files[i]); err != nil {
			return err
		}
		files = slices.Delete(slices.Clone(files), i, i+1)
		if w.data.shared.Load() > 0 {
			workers = 2 * runtime.GOMAXPROCS(0)
		}
	}
	err := parallel(ctx, files, workers, w.writeEntry)
	t.Data = Data{Shared: w.data.shared.Load(), Copied: w.data.copied.Load()}
	if why := w.data.noClone.Load(); why != nil {
		t.Data.NoReflink = *why
	}
	if err != nil {
		return err
	}
	for _, paths := range links {
		for _, p := range paths[1:] {
			if err := os.Link(paths[0], p); err != nil {
				return fmt.Errorf("hardlink %s: %w", p, err)
			}
		}
	}
	// Every entry exists now, and setting a directory's metadata does not
	// touch its parent's mtime: the directories need no order.
	return parallel(ctx, dirs, 2*runtime.GOMAXPROCS(0), func(j job) error { return w.setMeta(j.dst, j.n) })
}

type job struct {
	n   *node
	dst string
}

// batchSize caps how many entries of one directory a worker takes at once.
const batchSize = 64

// parallel runs fn over jobs on workers goroutines and returns the first
// error. Workers take runs of jobs in the same directory: creating entries
// in one directory takes its lock, and workers spread over different
// directories do not wait for each other.
func parallel(ctx context.Context, jobs []job, workers int, fn func(job) error) error {
	ch := make(chan []job)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range workers {
		wg.Go(func() {
			for batch := range ch {
				for _, j := range batch {
					err := ctx.Err()
					if err == nil {
						err = fn(j)
					}
					if err != nil {
						errs <- err
						cancel()
						return
					}
				}
			}
		})
	}
feed:
	for start := 0; start < len(jobs); {
		end, dir := start+1, filepath.Dir(jobs[start].dst)
		for end < len(jobs) && end-start < batchSize && filepath.Dir(jobs[end].dst) == dir {
			end++
		}
		select {
		case ch <- jobs[start:end]:
		case <-ctx.Done():
			break feed
		}
		start = end
	}
	close(ch)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	return ctx.Err()
}

// writeEntry creates one non-directory entry with its metadata.
func (w fileWriter) writeEntry(j job) error {
	st := &j.n.st
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		return w.copyFile(j)
	case unix.S_IFLNK:
		target, err := os.Readlink(j.n.src)
		if err != nil {
			return err
		}
		if err := os.Symlink(target, j.dst); err != nil {
			return err
		}
	case unix.S_IFCHR, unix.S_IFBLK, unix.S_IFIFO:
		if err := unix.Mknod(j.dst, st.Mode&(unix.S_IFMT|0o7777), int(st.Rdev)); err != nil {
			return fmt.Errorf("mknod %s: %w", j.dst, err)
		}
	default:
		// Sockets cannot be carried by a layer; skip them like tar does.
		return nil
	}
	return w.setMeta(j.dst, j.n)
}

// fileWriter creates entries with as few system calls as their metadata
// allows: most files of a root are root-owned, with a mode the
// umask leaves alone, and need neither chown nor chmod after creation.
type fileWriter struct {
	rootOwns bool   // new files belong to root:root (kiwi runs as root)
	umask    uint32 // the process umask, or 0o7777 when unknown
	data     *dataCounts
}

// dataCounts is what the workers of one Write share about file data.
type dataCounts struct {
	// noClone is set, to the reason, once the filesystem said it has no
	// reflinks: asking again for each of thousands of files would be a
	// wasted system call.
	noClone        atomic.Pointer[error]
	shared, copied atomic.Int64
}

// newFileWriter prepares writing below dir. A setgid dir would hand its
// group down to what is created in it, and its setgid bit to directories.
func newFileWriter(dir string) fileWriter {
	w := fileWriter{rootOwns: os.Geteuid() == 0 && os.Getegid() == 0, umask: 0o7777, data: &dataCounts{}}
	if fi, err := os.Stat(dir); err != nil || fi.Mode()&os.ModeSetgid != 0 {
		w.rootOwns = false
	}
	// Read, not set: umask(2) would change it for every thread at once.
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "Umask:"); ok {
				if m, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32); err == nil {
					w.umask = uint32(m)
				}
			}
		}
	}
	return w
}

func (w fileWriter) copyFile(j job) (err error) {
	st := &j.n.st
	src, err := unix.Open(j.n.src, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", j.n.src, err)
	}
	defer unix.Close(src)
	perm := st.Mode & 0o777
	dst, err := unix.Open(j.dst, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, perm)
	if err != nil {
		return fmt.Errorf("create %s: %w", j.dst, err)
	}
	defer func() {
		if cerr := unix.Close(dst); err == nil && cerr != nil {
			err = fmt.Errorf("close %s: %w", j.dst, cerr)
		}
	}()
	if err := w.fileData(src, dst, st.Size); err != nil {
		return fmt.Errorf("copy %s: %w", j.n.src, err)
	}
	// Owner, mode and xattrs through the open file: no path lookups. The
	// directories are still 0700 here, so no setgid bit hands down a group.
	if !w.rootOwns || st.Uid != 0 || st.Gid != 0 {
		if err := unix.Fchown(dst, int(st.Uid), int(st.Gid)); err != nil {
			return fmt.Errorf("chown %s: %w", j.dst, err)
		}
	}
	// Set-id bits are set after chown, which clears them; other bits were
	// given at creation unless the umask took some away.
	if st.Mode&0o7000 != 0 || perm&w.umask != 0 {
		if err := unix.Fchmod(dst, st.Mode&0o7777); err != nil {
			return fmt.Errorf("chmod %s: %w", j.dst, err)
		}
	}
	if err := copyXattrs(src, dst, j.dst); err != nil {
		return err
	}
	if err := futimens(dst, st.Atim, st.Mtim); err != nil {
		return fmt.Errorf("set times of %s: %w", j.dst, err)
	}
	return nil
}

// futimens sets the times of an open file: utimensat with no path, which
// x/sys/unix does not offer (its Futimes goes through /proc).
func futimens(fd int, atime, mtime unix.Timespec) error {
	ts := [2]unix.Timespec{atime, mtime}
	_, _, e := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// fileData gives dst the size bytes of src: a reflink (FICLONE) where the
// filesystem has them, so a root composed on the filesystem of storage
// costs no data at all and stays independent of it (copy on write); else
// a copy. Asking for the reflink explicitly, rather than leaving it to
// copy_file_range, is what tells how the data got there.
func (w fileWriter) fileData(src, dst int, size int64) error {
	if size == 0 {
		return nil
	}
	if w.data.noClone.Load() == nil {
		err := unix.IoctlFileClone(dst, src)
		if err == nil {
			w.data.shared.Add(size)
			return nil
		}
		// No reflinks on this filesystem (or between these two); other
		// errors concern this file only (btrfs refuses to clone between
		// nodatacow and datacow files), so copy it.
		if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.EXDEV) || errors.Is(err, unix.ENOSYS) {
			w.data.noClone.CompareAndSwap(nil, &err)
		}
	}
	if err := copyData(src, dst, size); err != nil {
		return err
	}
	w.data.copied.Add(size)
	return nil
}

// copyData copies size bytes with copy_file_range: the data stays in the
// kernel (and across two mounts of one filesystem with reflinks, where
// FICLONE says EXDEV, the kernel may still share it). Where the kernel
// cannot (another filesystem type pairing), it falls back to read and
// write.
func copyData(src, dst int, size int64) error {
	for size > 0 {
		n, err := unix.CopyFileRange(src, nil, dst, nil, int(min(size, 1<<30)), 0)
		if errors.Is(err, unix.EXDEV) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EINVAL) {
			return readWrite(src, dst, size)
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return errors.New("the file shrank while it was copied (storage changed underneath)")
		}
		size -= int64(n)
	}
	return nil
}

// readWrite copies size bytes through a buffer. The descriptors stay
// raw: wrapping them in os.File would close them from a finalizer.
func readWrite(src, dst int, size int64) error {
	buf := make([]byte, 1<<20)
	for size > 0 {
		n, err := unix.Read(src, buf[:min(int64(len(buf)), size)])
		if err != nil {
			return err
		}
		if n == 0 {
			return io.ErrUnexpectedEOF
		}
		for b := buf[:n]; len(b) > 0; {
			w, err := unix.Write(dst, b)
			if err != nil {
				return err
			}
			b = b[w:]
		}
		size -= int64(n)
	}
	return nil
}

// setMeta gives dst the owner, mode, xattrs and times of n, in the order
// that keeps them all: chown clears set-id bits and security.capability,
// so mode and xattrs come after it, times last. (copyFile does the same
// through open files.)
func (w fileWriter) setMeta(dst string, n *node) error {
	st := &n.st
	if !w.rootOwns || st.Uid != 0 || st.Gid != 0 {
		if err := unix.Lchown(dst, int(st.Uid), int(st.Gid)); err != nil {
			return fmt.Errorf("chown %s: %w", dst, err)
		}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFLNK {
		if err := unix.Fchmodat(unix.AT_FDCWD, dst, st.Mode&0o7777, 0); err != nil {
			return fmt.Errorf("chmod %s: %w", dst, err)
		}
	}
	if err := copyPathXattrs(n.src, dst); err != nil {
		return err
	}
	ts := []unix.Timespec{st.Atim, st.Mtim}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, dst, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set times of %s: %w", dst, err)
	}
	return nil
}

// copyXattrs copies the xattrs of an open file to another, leaving out
// overlay's own.
func copyXattrs(src, dst int, name string) error {
	names, err := listXattrs(func(b []byte) (int, error) { return unix.Flistxattr(src, b) })
	if err != nil {
		return fmt.Errorf("list xattrs for %s: %w", name, err)
	}
	for _, x := range names {
		v, err := xattr.Value(func(b []byte) (int, error) { return unix.Fgetxattr(src, x, b) })
		if err != nil {
			return fmt.Errorf("read xattr %s for %s: %w", x, name, err)
		}
		if err := unix.Fsetxattr(dst, x, v, 0); err != nil {
			return fmt.Errorf("set xattr %s on %s: %w", x, name, err)
		}
	}
	return nil
}

func copyPathXattrs(src, dst string) error {
	names, err := listXattrs(func(b []byte) (int, error) { return unix.Llistxattr(src, b) })
	if err != nil {
		return fmt.Errorf("list xattrs of %s: %w", src, err)
	}
	for _, x := range names {
		v, err := xattr.Get(src, x)
		if err != nil {
			return fmt.Errorf("read xattr %s of %s: %w", x, src, err)
		}
		if err := unix.Lsetxattr(dst, x, v, 0); err != nil {
			return fmt.Errorf("set xattr %s on %s: %w", x, dst, err)
		}
	}
	return nil
}

// listXattrs returns the xattr names list reports, without overlay's own.
func listXattrs(list func([]byte) (int, error)) ([]string, error) {
	all, err := xattr.Names(list)
	if err != nil {
		return nil, err
	}
	var names []string
next:
	for _, x := range all {
		// force_mask storage keeps the real owner and mode here.
		if x == "user.containers.override_stat" {
			return nil, ErrNotPlain
		}
		// The host's labelling, not the image's: the tar path (umoci)
		// and stash leave it out too.
		if x == "security.selinux" {
			continue
		}
		for _, p := range overlayXattrPrefixes {
			if x == p+"redirect" || x == p+"metacopy" {
				return nil, ErrNotPlain
			}
			if strings.HasPrefix(x, p) {
				continue next
			}
		}
		names = append(names, x)
	}
	return names, nil
}
