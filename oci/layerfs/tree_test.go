package layerfs

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/kiwi-go/kiwi/internal/fstest"
)

// TestTreeReadsBothWhiteoutFormats plans images from hand-made layer
// directories in both formats storage may keep: overlay's (character
// device 0:0, opaque xattr) and AUFS-style names (fuse-overlayfs), and
// checks the written union.
func TestTreeReadsBothWhiteoutFormats(t *testing.T) {
	if !fstest.IsRoot() {
		t.Skip("needs root (mknod, trusted xattrs)")
	}
	base := t.TempDir()
	write := func(p, body string) {
		t.Helper()
		p = filepath.Join(base, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	whiteout := func(p string) {
		t.Helper()
		if err := unix.Mknod(filepath.Join(base, p), unix.S_IFCHR, 0); err != nil {
			t.Fatal(err)
		}
	}
	// Image 1, overlay format.
	write("o1/a/x", "1")
	write("o1/a/y", "1")
	write("o1/b", "1")
	write("o1/c", "1")
	write("o2/a/z", "2")
	if err := unix.Lsetxattr(filepath.Join(base, "o2/a"), "trusted.overlay.opaque", []byte("y"), 0); err != nil {
		t.Fatal(err)
	}
	whiteout("o2/b")
	// Image 2, AUFS names: its own files go, image 1's stay.
	write("f1/d/x", "1")
	write("f1/d/y", "1")
	write("f1/e", "1")
	write("f1/c", "f")
	write("f2/d/.wh..wh..opq", "")
	write("f2/d/w", "2")
	write("f2/.wh.e", "")
	write("f2/.wh.a", "")

	var tr Tree
	ctx := context.Background()
	if err := tr.AddImage(ctx, []string{filepath.Join(base, "o1"), filepath.Join(base, "o2")}); err != nil {
		t.Fatal(err)
	}
	if err := tr.AddImage(ctx, []string{filepath.Join(base, "f1"), filepath.Join(base, "f2")}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(base, "out")
	if err := writeTo(&tr, out); err != nil {
		t.Fatal(err)
	}
	got, err := fstest.Scan(out)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for p := range got {
		paths = append(paths, p)
	}
	want := map[string]bool{".": true, "a": true, "a/z": true, "c": true, "d": true, "d/w": true}
	for p := range got {
		if !want[p] {
			t.Errorf("unexpected %s", p)
		}
	}
	for p := range want {
		if _, ok := got[p]; !ok {
			t.Errorf("missing %s (have %v)", p, paths)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(out, "c")); string(b) != "f" {
		t.Errorf("c = %q, want the later image's", b)
	}
	if len(tr.Overwritten) != 1 || tr.Overwritten[0] != "c" {
		t.Errorf("overwritten = %v, want [c]", tr.Overwritten)
	}
}

// TestTreeSharedLayersAreNoOverwrite: an image built on the one below it
// in the stack shares that image's layers; their files are not reported as
// overwritten, only what its own layer replaced.
func TestTreeSharedLayersAreNoOverwrite(t *testing.T) {
	base := t.TempDir()
	for p, body := range map[string]string{"l0/etc/os": "debian", "l0/etc/motd": "hi", "l1/etc/motd": "app", "l1/app": "x"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(base, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(base, p), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	l0, l1 := filepath.Join(base, "l0"), filepath.Join(base, "l1")
	var tr Tree
	if err := tr.AddImage(context.Background(), []string{l0}); err != nil {
		t.Fatal(err)
	}
	if err := tr.AddImage(context.Background(), []string{l0, l1}); err != nil {
		t.Fatal(err)
	}
	if len(tr.Overwritten) != 1 || tr.Overwritten[0] != "etc/motd" {
		t.Errorf("overwritten = %v, want only etc/motd", tr.Overwritten)
	}
}

// TestTreeRefusesRedirects: a directory overlay renamed keeps its content
// elsewhere; copying it would lose files, so Write refuses.
func TestTreeRefusesRedirects(t *testing.T) {
	if !fstest.IsRoot() {
		t.Skip("needs root (trusted xattrs)")
	}
	base := t.TempDir()
	if err := os.MkdirAll(filepath.Join(base, "l/renamed"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Lsetxattr(filepath.Join(base, "l/renamed"), "trusted.overlay.redirect", []byte("/old"), 0); err != nil {
		t.Fatal(err)
	}
	var tr Tree
	if err := tr.AddImage(context.Background(), []string{filepath.Join(base, "l")}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(base, "out")
	if err := writeTo(&tr, out); !errors.Is(err, ErrNotPlain) {
		t.Fatalf("Write = %v, want ErrNotPlain", err)
	}
}

// TestReadWriteCopiesWhatCopyFileRangeCannot: the fallback for file pairs
// the kernel will not copy_file_range between copies every byte and
// notices a source that ends early.
func TestReadWriteCopiesWhatCopyFileRangeCannot(t *testing.T) {
	dir := t.TempDir()
	data := make([]byte, 3<<20+17)
	for i := range data {
		data[i] = byte(i * 13)
	}
	if err := os.WriteFile(filepath.Join(dir, "src"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := unix.Open(filepath.Join(dir, "src"), unix.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(src)
	dst, err := unix.Open(filepath.Join(dir, "dst"), unix.O_WRONLY|unix.O_CREAT, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dst)
	if err := readWrite(src, dst, int64(len(data))); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "dst")); !bytes.Equal(got, data) {
		t.Fatalf("copied %d bytes, differing from the %d of the source", len(got), len(data))
	}
	if err := readWrite(src, dst, 1); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("reading past the end: %v, want io.ErrUnexpectedEOF", err)
	}
}

// TestTreePlainTreeHasNoWhiteouts: a root tree copied with AddTree (the
// stack cache) keeps a 0:0 device node and every name as they are.
func TestTreePlainTreeHasNoWhiteouts(t *testing.T) {
	if !fstest.IsRoot() {
		t.Skip("needs root (mknod)")
	}
	src := filepath.Join(t.TempDir(), "root")
	if err := fstest.SampleRoot(src); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mknod(filepath.Join(src, "dev/zero-zero"), unix.S_IFCHR|0o600, 0); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "etc/.wh.not-a-whiteout"), []byte("kept"), 0o644); err != nil {
		t.Fatal(err)
	}
	writeSampleCopy(t, src, filepath.Join(t.TempDir(), "copy"))
}

// TestTreeLeavesOutHostLabels: security.selinux is the host's labelling of
// storage's files, not part of the image (umoci's extractor drops it too).
func TestTreeLeavesOutHostLabels(t *testing.T) {
	if !fstest.IsRoot() {
		t.Skip("needs root (security xattrs)")
	}
	base := t.TempDir()
	f := filepath.Join(base, "l/etc/labelled")
	if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := unix.Lsetxattr(f, "security.selinux", []byte("system_u:object_r:etc_t:s0"), 0); err != nil {
		t.Skipf("this filesystem takes no security.selinux: %v", err)
	}
	if err := unix.Lsetxattr(f, "user.kept", []byte("y"), 0); err != nil {
		t.Fatal(err)
	}
	var tr Tree
	if err := tr.AddImage(context.Background(), []string{filepath.Join(base, "l")}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(base, "out")
	if err := writeTo(&tr, out); err != nil {
		t.Fatal(err)
	}
	// Read directly: fstest.Scan leaves security.selinux out itself.
	copied := filepath.Join(out, "etc/labelled")
	if _, err := unix.Lgetxattr(copied, "security.selinux", make([]byte, 256)); !errors.Is(err, unix.ENODATA) {
		t.Errorf("security.selinux on the copy: %v, want ENODATA", err)
	}
	v := make([]byte, 16)
	if n, err := unix.Lgetxattr(copied, "user.kept", v); err != nil || string(v[:n]) != "y" {
		t.Errorf("user.kept on the copy: %q, %v; want y", v[:max(n, 0)], err)
	}
}

// writeTo writes the planned tree into dir, made new for it.
func writeTo(tr *Tree, dir string) error {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	return tr.Write(context.Background(), dir)
}

// TestTreeSharesDataByReflink: on a filesystem with reflinks (xfs here,
// an image file loop-mounted for the test) Write shares every byte of
// file data with the source instead of copying it, and the copy stays
// independent (copy on write); on this machine's own filesystem (ext4, no
// reflinks) it copies. Either way the trees are equal and the counts add
// up to the data there is.
func TestTreeSharesDataByReflink(t *testing.T) {
	if !fstest.IsRoot() {
		t.Skip("needs root (mknod in the sample root, a loop mount)")
	}
	t.Run("xfs", func(t *testing.T) {
		dir := t.TempDir()
		img, mnt := filepath.Join(dir, "xfs.img"), filepath.Join(dir, "mnt")
		// mkfs.xfs wants 300 MB at least; sparse, so it costs little.
		if err := os.WriteFile(img, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(img, 320<<20); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("mkfs.xfs", "-q", "-m", "reflink=1", img).CombinedOutput(); err != nil {
			t.Fatalf("mkfs.xfs (hack/setup.sh installs xfsprogs): %v\n%s", err, out)
		}
		if err := os.Mkdir(mnt, 0o755); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("mount", "-o", "loop", img, mnt).CombinedOutput(); err != nil {
			t.Fatalf("loop-mount the xfs image: %v\n%s", err, out)
		}
		t.Cleanup(func() {
			if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
				t.Errorf("umount %s: %v\n%s", mnt, err, out)
			}
		})
		src, dst, size := writeSample(t, mnt)
		if size == 0 {
			t.Fatal("the sample has no file data")
		}
		tr := writeSampleCopy(t, src, dst)
		if tr.Data.Shared != size || tr.Data.Copied != 0 || tr.Data.NoReflink != nil {
			t.Fatalf("shared %d and copied %d bytes (%v), want all %d shared", tr.Data.Shared, tr.Data.Copied, tr.Data.NoReflink, size)
		}
		big := filepath.Join(dst, "big")
		out, err := exec.Command("filefrag", "-v", big).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "shared") {
			t.Fatalf("filefrag -v %s shows no shared extents (%v):\n%s", big, err, out)
		}
		// Copy on write: changing the copy in place leaves the source.
		f, err := os.OpenFile(big, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt([]byte("changed in the copy"), 4096); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(filepath.Join(src, "big")); !bytes.Equal(got, bigData()) {
			t.Fatal("writing into the copy changed the source")
		}
	})
	t.Run("this machine's filesystem", func(t *testing.T) {
		src, dst, size := writeSample(t, t.TempDir())
		tr := writeSampleCopy(t, src, dst)
		if tr.Data.Shared+tr.Data.Copied != size {
			t.Fatalf("shared %d + copied %d bytes, want %d", tr.Data.Shared, tr.Data.Copied, size)
		}
		var fs unix.Statfs_t
		if err := unix.Statfs(dst, &fs); err != nil {
			t.Fatal(err)
		}
		if fs.Type == unix.EXT4_SUPER_MAGIC && (tr.Data.Shared != 0 || !errors.Is(tr.Data.NoReflink, unix.EOPNOTSUPP)) {
			t.Fatalf("shared %d bytes on ext4 (%v), which has no reflinks (want EOPNOTSUPP)", tr.Data.Shared, tr.Data.NoReflink)
		}
	})
}

func bigData() []byte {
	b := make([]byte, 1<<20+3)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}

// writeSample makes the sample root plus a 1 MB file below dir and returns
// it, a path for its copy and the bytes of file data it holds (each inode
// once: hardlinks are written once).
func writeSample(t *testing.T, dir string) (src, dst string, size int64) {
	t.Helper()
	src, dst = filepath.Join(dir, "root"), filepath.Join(dir, "copy")
	if err := fstest.SampleRoot(src); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "big"), bigData(), 0o644); err != nil {
		t.Fatal(err)
	}
	seen := map[uint64]bool{}
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		if !seen[st.Ino] {
			seen[st.Ino] = true
			size += st.Size
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return src, dst, size
}

// writeSampleCopy copies the tree src to dst, a new directory, through a
// Tree and fails the test unless the two are equal.
func writeSampleCopy(t *testing.T, src, dst string) *Tree {
	t.Helper()
	var tr Tree
	if err := tr.AddTree(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	if err := writeTo(&tr, dst); err != nil {
		t.Fatal(err)
	}
	want, err := fstest.Scan(src)
	if err != nil {
		t.Fatal(err)
	}
	got, err := fstest.Scan(dst)
	if err != nil {
		t.Fatal(err)
	}
	if d := fstest.Diff(want, got, "."); len(d) > 0 {
		t.Fatalf("the copy differs:\n%v", d)
	}
	return &tr
}
