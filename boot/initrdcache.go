package boot

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/kiwi-go/kiwi/internal/checksum"
	"github.com/kiwi-go/kiwi/internal/journal"
)

// The initrd cache keeps initrds dracut made, so a build whose root
// changed only where the initrd does not look (an overlay file, a user,
// config.sh's work outside it) copies the initrd instead of running
// dracut (8-10 s of a small disk's build here).
//
// An entry is found by what decides which files dracut takes and how:
// the arguments, the kernel, dracut itself with kiwi's modules in the
// root (usr/lib/dracut), its configuration (etc/dracut.conf*), the
// kernel's module indexes and the package database (a package that comes
// or goes can switch a dracut module on or off). The entry then lists
// every file the initrd holds with the digest of the root's file at that
// path; it is used only when every one of them is unchanged, and the
// initrd's own digest is checked when it is copied back. A run with
// --clear-cache neither looks nor keeps.
//
// initrdRecipe changes when kiwi runs dracut differently.
const initrdRecipe = "kiwi-initrd-1"

// initrdCacheEntries is how many initrds the cache keeps (30-60 MB each),
// the least recently used going first.
const initrdCacheEntries = 8

// initrdEntry is the record of one cached initrd.
type initrdEntry struct {
	// Files are the digests (fileDigest) of the root's files at the
	// paths the initrd holds.
	Files map[string]string `json:"files"`
	// Sum is the initrd's SHA-256.
	Sum string `json:"sum"`
}

// initrdInputs is the key of root's initrd for kernel k and dracut's
// arguments args (kiwi's modules already in root).
func initrdInputs(root string, k *Kernel, args []string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00", initrdRecipe, strings.Join(args, "\x00"))
	paths := []string{k.Image, "usr/lib/dracut", "etc/dracut.conf", "etc/dracut.conf.d",
		"var/lib/dpkg/status", "var/lib/rpm", "usr/lib/sysimage/rpm", "var/lib/pacman/local"}
	mods, _ := filepath.Glob(filepath.Join(root, "usr/lib/modules", k.Version, "modules.*"))
	if len(mods) == 0 {
		mods, _ = filepath.Glob(filepath.Join(root, "lib/modules", k.Version, "modules.*"))
	}
	for _, m := range mods {
		rel, _ := filepath.Rel(root, m)
		paths = append(paths, rel)
	}
	for _, p := range paths {
		sum, err := checksum.Tree(filepath.Join(root, p))
		if errors.Is(err, fs.ErrNotExist) {
			sum = "-"
		} else if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%s\x00", p, sum)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// fileDigest says what is at root/rel: "-" for nothing, "dir", the link
// target of a symlink, or the SHA-256 of a file's content (with its mode,
// which dracut copies).
func fileDigest(root, rel string) (string, error) {
	p := filepath.Join(root, rel)
	fi, err := os.Lstat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
		return "-", nil
	case err != nil:
		return "", err
	case fi.Mode()&fs.ModeSymlink != 0:
		l, err := os.Readlink(p)
		return "link:" + l, err
	case fi.IsDir():
		return "dir", nil
	case !fi.Mode().IsRegular():
		return "special:" + fi.Mode().String(), nil
	}
	sum, err := checksum.File(p)
	return fmt.Sprintf("%o:%s", fi.Mode().Perm(), sum), err
}

// initrdCache is the cache entry for one initrd.
type initrdCache struct {
	dir, key string
}

func (c initrdCache) record() string { return filepath.Join(c.dir, c.key[:32]+".json") }
func (c initrdCache) image() string  { return filepath.Join(c.dir, c.key[:32]+".initrd") }

// reuse copies the cached initrd to root/out when its entry matches the
// root; ok is false otherwise (a failed check drops the entry).
func (c initrdCache) reuse(root, out string) (ok bool, why string) {
	b, err := os.ReadFile(c.record())
	if err != nil {
		return false, "not built before"
	}
	var e initrdEntry
	if err := json.Unmarshal(b, &e); err != nil {
		c.drop()
		return false, "unreadable record"
	}
	for rel, want := range e.Files {
		got, err := fileDigest(root, rel)
		if err != nil || got != want {
			return false, "changed: /" + rel
		}
	}
	dst := filepath.Join(root, out)
	tmp := dst + ".kiwi-cached"
	_ = os.Remove(tmp)
	sum, err := checksum.CopyFile(c.image(), tmp)
	if err != nil || sum != e.Sum {
		os.Remove(tmp)
		c.drop()
		return false, "the cached initrd failed its check"
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return false, err.Error()
	}
	now := time.Now()
	_ = os.Chtimes(c.record(), now, now)
	return true, ""
}

// keep records the initrd dracut just wrote to root/out, whose files are
// listed in the staging tree staged (dracut --keep).
func (c initrdCache) keep(root, out, staged string) error {
	e := initrdEntry{Files: map[string]string{}}
	err := filepath.WalkDir(staged, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(staged, p)
		sum, err := fileDigest(root, rel)
		if err != nil {
			return err
		}
		e.Files[rel] = sum
		return nil
	})
	if err != nil {
		return fmt.Errorf("list the initrd's files: %w", err)
	}
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(c.dir, journal.TempPattern(".kiwi-initrd-"))
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if e.Sum, err = checksum.CopyFile(filepath.Join(root, out), filepath.Join(tmp, "initrd")); err != nil {
		return err
	}
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "record"), b, 0o644); err != nil {
		return err
	}
	// The image first: a record is only ever next to its image.
	c.drop()
	if err := os.Rename(filepath.Join(tmp, "initrd"), c.image()); err != nil {
		return err
	}
	if err := os.Rename(filepath.Join(tmp, "record"), c.record()); err != nil {
		return err
	}
	c.prune()
	return nil
}

func (c initrdCache) drop() {
	os.Remove(c.record())
	os.Remove(c.image())
}

// prune keeps the initrdCacheEntries most recently used entries.
func (c initrdCache) prune() {
	records, _ := filepath.Glob(filepath.Join(c.dir, "*.json"))
	type entry struct {
		path string
		used time.Time
	}
	var all []entry
	for _, r := range records {
		if fi, err := os.Stat(r); err == nil {
			all = append(all, entry{r, fi.ModTime()})
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].used.After(all[j].used) })
	for _, e := range all[min(initrdCacheEntries, len(all)):] {
		os.Remove(e.path)
		os.Remove(strings.TrimSuffix(e.path, ".json") + ".initrd")
	}
}
