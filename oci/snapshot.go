package oci

import (
	"bufio"
	"encoding/gob"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/opencontainers/umoci/pkg/mtreefilter"
	"github.com/vbatts/go-mtree"
	"github.com/vbatts/go-mtree/pkg/govis"
	"golang.org/x/sys/unix"

	"github.com/kiwi-go/kiwi/internal/checksum"
	"github.com/kiwi-go/kiwi/internal/xattr"
)

// HostDirs are the directories of a root tree whose contents belong to the
// host that runs it (devices, kernel and process views), never to the
// image: snapshots and layers keep the directories and leave out what is
// in them.
var HostDirs = []string{"dev", "proc", "sys"}

// Snapshot records the state of a root tree: for every path its type and
// mode, owner, size, mtime, link target, device number, link count,
// xattrs and content digest (what umoci's mtree keywords cover, plus the
// device number). The next stash diffs the tree against it, so the parent
// image never has to be unpacked again.
type Snapshot struct {
	Files []FileState // sorted by Path
}

// FileState is one path of a snapshot. Ino, Dev and Ctime are not compared:
// they only let the next snapshot reuse Digest without reading the file
// when none of them, the size or the mtime changed (as git's index does).
type FileState struct {
	Path      string // slash-separated, relative, "." for the root
	Mode      uint32 // st_mode: type and permission bits
	UID, GID  uint32
	Size      int64
	MtimeSec  int64 // compared: layers keep whole seconds
	MtimeNsec int64
	CtimeNsec int64 // seconds*1e9+ns
	Ino, Dev  uint64
	Nlink     uint64
	Rdev      uint64
	Link      string
	Xattrs    map[string]string
	Digest    string // sha256 of regular files
}

// Change is one path that differs between two snapshots, in the form
// umoci's layer generator takes.
type Change = mtree.InodeDelta

// TakeSnapshot walks root in parallel. The directories named in skip
// (relative, e.g. "dev") are recorded but their contents are not: /dev,
// /proc and /sys must exist in an image although what is in them is the
// host's. With prev, files whose inode, size, mtime and ctime are
// unchanged keep their digest without being read.
func TakeSnapshot(root string, skip []string, prev *Snapshot) (*Snapshot, error) {
	return TakeSnapshotExcept(root, skip, nil, prev)
}

// TakeSnapshotExcept is TakeSnapshot of the tree without the paths
// exclude (given a relative slash-separated path) returns true for: they
// and everything below them are left out, as if they did not exist.
func TakeSnapshotExcept(root string, skip []string, exclude func(rel string) bool, prev *Snapshot) (*Snapshot, error) {
	root = filepath.Clean(root)
	fi, err := os.Lstat(root)
	if err != nil {
		return nil, fmt.Errorf("read tree %s: %w", root, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("read tree %s: not a directory", root)
	}
	hide := map[string]bool{}
	for _, s := range skip {
		hide[path.Clean(s)] = true
	}
	w := &walker{root: root, hide: hide, exclude: exclude, cache: map[string]*FileState{}}
	if prev != nil {
		for i := range prev.Files {
			w.cache[prev.Files[i].Path] = &prev.Files[i]
		}
	}
	w.run()
	if w.err != nil {
		return nil, fmt.Errorf("read tree %s: %w", root, w.err)
	}
	sort.Slice(w.files, func(i, j int) bool { return w.files[i].Path < w.files[j].Path })
	return &Snapshot{Files: w.files}, nil
}

// walker reads a tree with a few goroutines: each takes a directory,
// records its entries, hashes what it must and queues subdirectories.
type walker struct {
	root    string
	hide    map[string]bool
	exclude func(string) bool
	cache   map[string]*FileState

	mu      sync.Mutex
	files   []FileState
	err     error
	pending sync.WaitGroup
	queue   chan string
}

func (w *walker) run() {
	workers := runtime.NumCPU() * 2
	w.queue = make(chan string, 1<<16)
	st, err := w.state(".")
	if err != nil {
		w.err = err
		return
	}
	w.files = append(w.files, st)
	w.pending.Add(1)
	w.queue <- "."
	done := make(chan struct{})
	for range workers {
		go func() {
			for {
				select {
				case dir := <-w.queue:
					w.readDir(dir)
					w.pending.Done()
				case <-done:
					return
				}
			}
		}()
	}
	w.pending.Wait()
	close(done)
}

func (w *walker) fail(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.mu.Unlock()
}

func (w *walker) readDir(dir string) {
	if w.hide[dir] {
		return
	}
	entries, err := os.ReadDir(filepath.Join(w.root, dir))
	if err != nil {
		w.fail(err)
		return
	}
	states := make([]FileState, 0, len(entries))
	var subdirs []string
	for _, e := range entries {
		rel := path.Join(dir, e.Name())
		if w.exclude != nil && w.exclude(rel) {
			continue
		}
		st, err := w.state(rel)
		if err != nil {
			w.fail(err)
			return
		}
		states = append(states, st)
		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			subdirs = append(subdirs, rel)
		}
	}
	w.mu.Lock()
	w.files = append(w.files, states...)
	w.mu.Unlock()
	for _, d := range subdirs {
		w.pending.Add(1)
		select {
		case w.queue <- d:
		default:
			// The queue is full: walk it here rather than block.
			w.readDir(d)
			w.pending.Done()
		}
	}
}

// state reads one path's metadata and, for regular files, its digest.
func (w *walker) state(rel string) (FileState, error) {
	full := filepath.Join(w.root, rel)
	var st unix.Stat_t
	if err := unix.Lstat(full, &st); err != nil {
		return FileState{}, fmt.Errorf("%s: %w", rel, err)
	}
	fs := FileState{
		Path: rel, Mode: st.Mode, UID: st.Uid, GID: st.Gid, Size: st.Size,
		MtimeSec: st.Mtim.Sec, MtimeNsec: st.Mtim.Nano(), CtimeNsec: st.Ctim.Nano(),
		Ino: st.Ino, Dev: st.Dev, Nlink: uint64(st.Nlink),
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		// A directory's size and link count are its history and its
		// number of subdirectories, not its content (btrfs counts 1
		// always): what changes below it is recorded there. /dev of a
		// debootstrapped root, whose contents are hidden, counted its
		// device directories, and its restored copy none.
		fs.Size = 0
		fs.Nlink = 0
	case unix.S_IFLNK:
		l, err := os.Readlink(full)
		if err != nil {
			return FileState{}, fmt.Errorf("%s: %w", rel, err)
		}
		fs.Link = l
	case unix.S_IFCHR, unix.S_IFBLK:
		fs.Rdev = st.Rdev
	case unix.S_IFREG:
		if c := w.cache[rel]; c != nil && c.Digest != "" && c.Ino == fs.Ino && c.Dev == fs.Dev &&
			c.Size == fs.Size && c.MtimeNsec == fs.MtimeNsec && c.CtimeNsec == fs.CtimeNsec {
			fs.Digest = c.Digest
		} else {
			d, err := checksum.File(full)
			if err != nil {
				return FileState{}, fmt.Errorf("%s: %w", rel, err)
			}
			fs.Digest = d
		}
	}
	x, err := readXattrs(full)
	if err != nil {
		return FileState{}, fmt.Errorf("%s: %w", rel, err)
	}
	fs.Xattrs = x
	return fs, nil
}

func readXattrs(p string) (map[string]string, error) {
	names, err := xattr.List(p)
	if err != nil {
		return nil, err
	}
	var out map[string]string
	for _, name := range names {
		// security.selinux is the host's labelling, not the image's
		// (umoci leaves it out of layers too).
		if name == "" || name == "security.selinux" {
			continue
		}
		v, err := xattr.Get(p, name)
		if err != nil {
			return nil, fmt.Errorf("xattr %s: %w", name, err)
		}
		if out == nil {
			out = map[string]string{}
		}
		out[name] = string(v)
	}
	return out, nil
}

// same tells whether a path is unchanged for the purpose of a layer.
func same(a, b *FileState) bool {
	if a.Mode != b.Mode || a.UID != b.UID || a.GID != b.GID || a.Size != b.Size ||
		a.MtimeSec != b.MtimeSec || a.Nlink != b.Nlink || a.Rdev != b.Rdev ||
		a.Link != b.Link || a.Digest != b.Digest || len(a.Xattrs) != len(b.Xattrs) {
		return false
	}
	for k, v := range a.Xattrs {
		if w, ok := b.Xattrs[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// Changes lists what differs from old (nil: an empty tree) to s: added
// and modified paths, and deleted ones reduced the way umoci reduces them
// (a deleted directory is one whiteout, not one per path below it).
func (s *Snapshot) Changes(old *Snapshot) ([]Change, error) {
	var gone, added, modified []string
	var oldFiles []FileState
	if old != nil {
		oldFiles = old.Files
	}
	i, j := 0, 0
	for i < len(oldFiles) || j < len(s.Files) {
		switch {
		case j == len(s.Files) || i < len(oldFiles) && oldFiles[i].Path < s.Files[j].Path:
			gone = append(gone, oldFiles[i].Path)
			i++
		case i == len(oldFiles) || s.Files[j].Path < oldFiles[i].Path:
			added = append(added, s.Files[j].Path)
			j++
		default:
			if !same(&oldFiles[i], &s.Files[j]) {
				modified = append(modified, s.Files[j].Path)
			}
			i++
			j++
		}
	}
	modified = append(modified, s.parents(gone, added, modified)...)
	deltas, err := mtreeDeltas(gone, added, modified)
	if err != nil {
		return nil, err
	}
	return mtreefilter.FilterDeltas(deltas, mtreefilter.SimplifyFilter(deltas)), nil
}

// parents are the directories of s that hold a changed path (or the
// whiteout of a deleted one) and did not change themselves: the layer
// carries them too, as docker's and buildah's diffs do. A layer without
// them makes whoever applies it create the directory with a mode and time
// of its own (containers-storage: 0755, now), and in overlay storage that
// upper directory hides the lower one's mode, owner and time: a file
// changed in a 0700 directory would open it to everyone in every
// runtime's view of the image.
func (s *Snapshot) parents(lists ...[]string) []string {
	listed := map[string]bool{}
	for _, l := range lists {
		for _, p := range l {
			listed[p] = true
		}
	}
	var out []string
	for _, l := range lists {
		for _, p := range l {
			for d := path.Dir(p); d != "." && d != "/" && !listed[d]; d = path.Dir(d) {
				listed[d] = true
				if f := s.find(d); f != nil && f.IsDir() {
					out = append(out, d)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// find is the state of path p in s, or nil.
func (s *Snapshot) find(p string) *FileState {
	i := sort.Search(len(s.Files), func(i int) bool { return s.Files[i].Path >= p })
	if i < len(s.Files) && s.Files[i].Path == p {
		return &s.Files[i]
	}
	return nil
}

// mtreeDeltas expresses the changes as go-mtree deltas, the vocabulary
// umoci's layer generator speaks: two small hierarchies whose comparison
// yields exactly these paths as missing, extra and modified.
func mtreeDeltas(gone, added, modified []string) ([]Change, error) {
	var before, after strings.Builder
	line := func(b *strings.Builder, p, size string) error {
		name := p
		if p != "." {
			name = "./" + p // a name with a slash is a full path in a spec
		}
		enc, err := govis.Vis(name, mtree.DefaultVisFlags)
		if err != nil {
			return fmt.Errorf("encode path %q: %w", p, err)
		}
		b.WriteString(enc + " size=" + size + "\n")
		return nil
	}
	for _, p := range gone {
		if err := line(&before, p, "0"); err != nil {
			return nil, err
		}
	}
	for _, p := range added {
		if err := line(&after, p, "0"); err != nil {
			return nil, err
		}
	}
	for _, p := range modified {
		if err := line(&before, p, "0"); err != nil {
			return nil, err
		}
		if err := line(&after, p, "1"); err != nil {
			return nil, err
		}
	}
	oldDH, err := mtree.ParseSpec(strings.NewReader(before.String()))
	if err != nil {
		return nil, fmt.Errorf("changes: %w", err)
	}
	newDH, err := mtree.ParseSpec(strings.NewReader(after.String()))
	if err != nil {
		return nil, fmt.Errorf("changes: %w", err)
	}
	deltas, err := mtree.Compare(oldDH, newDH, []mtree.Keyword{"size"})
	if err != nil {
		return nil, fmt.Errorf("changes: %w", err)
	}
	return deltas, nil
}

// ReadSnapshot loads a snapshot written by WriteFile.
func ReadSnapshot(path string) (*Snapshot, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var s Snapshot
	if err := gob.NewDecoder(bufio.NewReader(f)).Decode(&s); err != nil {
		return nil, fmt.Errorf("read tree snapshot %s: %w", path, err)
	}
	return &s, nil
}

// WriteFile stores the snapshot at path atomically: a reader sees the old
// file or the whole new one.
func (s *Snapshot) WriteFile(path string) error {
	return writeFileAtomic(path, func(f *os.File) error {
		bw := bufio.NewWriter(f)
		if err := gob.NewEncoder(bw).Encode(s); err != nil {
			return err
		}
		return bw.Flush()
	})
}

// writeFileAtomic writes path through a temporary file in the same
// directory and renames it into place.
func writeFileAtomic(path string, write func(*os.File) error) (err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = write(f); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// IsDir reports whether the path was a directory.
func (f *FileState) IsDir() bool { return f.Mode&unix.S_IFMT == unix.S_IFDIR }

// WithoutDeletions is changes without the deleted paths (which a layer
// writes as whiteouts): what a delta layer, which has no lower layers to
// hide, holds.
func WithoutDeletions(changes []Change) []Change {
	return slices.DeleteFunc(changes, func(c Change) bool { return c.Type() == mtree.Missing })
}
