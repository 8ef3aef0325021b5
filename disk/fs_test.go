package disk

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kiwi-go/kiwi/internal/checksum"
	"github.com/kiwi-go/kiwi/internal/runner"
	"github.com/kiwi-go/kiwi/internal/xattr"
	"golang.org/x/sys/unix"
)

// tree writes a small tree with a hard link, a symlink, a long
// directory (hashed) and a name with a space; its ctimes are now.
func tree(t *testing.T, dir string, reversed bool) {
	t.Helper()
	for i := 0; i < 300; i++ {
		p := filepath.Join(dir, "many", fmt.Sprintf("file-%03d", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(filepath.Base(p)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A dot file at the top, as kiwi's /.profile.
	if err := os.WriteFile(filepath.Join(dir, ".profile"), []byte("kiwi_iname=x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "with space"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(dir, "with space"), filepath.Join(dir, "hardlink")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("many/file-001", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	// Two attributes on one directory, set in an order of the caller's:
	// a filesystem lists them in that order (as /var/log/journal's ACLs
	// in a root that ran its phases, either way once restored from a
	// layer).
	names := []string{"user.kiwi.a", "user.kiwi.b"}
	if reversed {
		names = []string{"user.kiwi.b", "user.kiwi.a"}
	}
	for _, name := range names {
		if err := unix.Lsetxattr(filepath.Join(dir, "many"), name, []byte(name), 0); err != nil {
			t.Fatalf("set %s (the test needs user xattrs where t.TempDir is): %v", name, err)
		}
	}
	if got, _ := xattr.List(filepath.Join(dir, "many")); !slices.Equal(got, names) {
		t.Fatalf("%s lists its attributes %v, not in the order set (%v): the test proves nothing here", dir, got, names)
	}
}

// sum is the file's SHA-256 (internal/checksum, as results are summed).
func sum(t *testing.T, p string) string {
	t.Helper()
	s, err := checksum.File(p)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestMakeWithEpochIsReproducible makes each filesystem that can be
// reproducible twice, from two trees written a second apart (other
// ctimes, atimes and mtimes, a directory's attributes set in the other
// order), with the same Epoch: the bytes are equal.
// Without an Epoch they differ (the test would pass for nothing
// otherwise). ext4 is made at an offset, as in a disk image.
func TestMakeWithEpochIsReproducible(t *testing.T) {
	work := t.TempDir()
	a, b := filepath.Join(work, "a"), filepath.Join(work, "b")
	tree(t, a, false)
	time.Sleep(1100 * time.Millisecond)
	tree(t, b, true)
	// b's files an hour later: FAT keeps times to 2 s only.
	later := time.Now().Add(time.Hour)
	if err := filepath.WalkDir(b, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink != 0 {
			return err
		}
		return os.Chtimes(p, later, later)
	}); err != nil {
		t.Fatal(err)
	}
	epoch := time.Unix(1700000000, 0)
	ctx := context.Background()
	for _, c := range []struct {
		fs     string
		offset int64
	}{{"ext4", 1 << 20}, {"ext2", 0}, {"squashfs", 0}, {"erofs", 0}, {"fat", 0}} {
		t.Run(c.fs, func(t *testing.T) {
			make := func(dir, name string, e *time.Time) string {
				file := filepath.Join(work, name)
				if c.offset > 0 {
					if err := os.WriteFile(file, nil, 0o644); err != nil {
						t.Fatal(err)
					}
					if err := os.Truncate(file, c.offset+64<<20); err != nil {
						t.Fatal(err)
					}
				}
				fsys := Filesystem{Type: c.fs, Label: "ROOT", UUID: "0b2a3c4d-1111-4222-8333-444455556666", Size: 64 << 20,
					Epoch: e, HashSeed: "5f0e9a8b-2222-4333-8444-555566667777"}
				if c.fs == "fat" {
					fsys.UUID = "0B2A3C4D"
				}
				if err := Make(ctx, runner.Runner{}, fsys, dir, file, c.offset); err != nil {
					t.Fatal(err)
				}
				return sum(t, file)
			}
			// Without an epoch first: fat clamps the (its own) tree's times.
			if x, y := make(a, c.fs+".c", nil), make(b, c.fs+".d", nil); x == y {
				t.Errorf("%s filesystems of trees with other times are equal without an epoch: the check above proves nothing", c.fs)
			}
			if x, y := make(a, c.fs+".a", &epoch), make(b, c.fs+".b", &epoch); x != y {
				out, _ := exec.Command("cmp", "-l", filepath.Join(work, c.fs+".a"), filepath.Join(work, c.fs+".b")).Output()
				t.Errorf("two %s filesystems of one tree with SOURCE_DATE_EPOCH differ:\n%.600s", c.fs, out)
			}
			if c.fs == "fat" {
				// The fstab names the ESP by this id: the reproducible
				// filesystem must still carry it.
				out, err := exec.Command("blkid", "-p", "-o", "value", "-s", "UUID", filepath.Join(work, "fat.a")).Output()
				if err != nil || strings.TrimSpace(string(out)) != "0B2A-3C4D" {
					t.Errorf("the FAT volume id with SOURCE_DATE_EPOCH is %q (%v), not the 0B2A-3C4D asked for", out, err)
				}
			}
			if c.fs == "ext4" {
				img := filepath.Join(work, "ext4.fs")
				if out, err := exec.Command("dd", "if="+filepath.Join(work, "ext4.a"), "of="+img, "bs=1M", "skip=1").CombinedOutput(); err != nil {
					t.Fatalf("%v %s", err, out)
				}
				if out, err := exec.Command("e2fsck", "-fn", img).CombinedOutput(); err != nil {
					t.Errorf("e2fsck: %v\n%s", err, out)
				}
				out, err := exec.Command("debugfs", "-R", `stat "/with space"`, img).CombinedOutput()
				if err != nil || !regexpMatch(`ctime: 0x6553f100`, string(out)) || !regexpMatch(`mtime: 0x6553f100`, string(out)) {
					t.Errorf("the times of /with space are not the epoch's: %v\n%s", err, out)
				}
			}
		})
	}
}

func regexpMatch(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }
