package box

import (
	"bufio"
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
)

// CacheEnv overrides the box cache directory.
const CacheEnv = "KIWI_BOXED_CACHE_DIR"

// Names of the files of a cached box.
const (
	KernelFile    = "kernel"
	InitrdFile    = "initrd"
	RootFile      = "root"
	AppendFile    = "append"
	ContainerFile = "container.oci.tar"
	sumsFile      = "SHA256SUMS"
	metaFile      = "box.json"
)

// DefaultCacheDir is $KIWI_BOXED_CACHE_DIR, else ~/.cache/kiwi/boxes.
func DefaultCacheDir() (string, error) {
	if d := os.Getenv(CacheEnv); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("box cache: %w (set %s)", err, CacheEnv)
	}
	return filepath.Join(d, "kiwi", "boxes"), nil
}

// Cache is the box cache: <dir>/<box>/<arch> is a symlink to the
// complete, checksummed set of one build of that box. A new set is
// written next to it and the link replaced in one rename, so readers see
// the old set or the new one, never a half-written one.
type Cache struct {
	Dir string
}

// Meta describes a cached box set (box.json).
type Meta struct {
	Box  string `json:"box"`
	Arch string `json:"arch"`
	// Description and DescriptionDigest name the shipped description the
	// set was built from; a changed digest makes the set out of date.
	Description       string    `json:"description,omitempty"`
	DescriptionDigest string    `json:"description_digest,omitempty"`
	Kiwi              string    `json:"kiwi"`
	Built             time.Time `json:"built"`
	// Files lists the set's files (KernelFile, ...).
	Files []string `json:"files"`
}

// Entry is one cached box set.
type Entry struct {
	Dir  string
	Meta Meta
}

// Path is the path of file name of the set.
func (e *Entry) Path(name string) string { return filepath.Join(e.Dir, name) }

// Has tells whether the set holds file name.
func (e *Entry) Has(name string) bool {
	for _, f := range e.Meta.Files {
		if f == name {
			return true
		}
	}
	return false
}

func (c Cache) link(box, arch string) string { return filepath.Join(c.Dir, box, arch) }

// Lock serialises work on one box (building, loading) between kiwi
// processes; unlock releases it.
func (c Cache) Lock(box string) (unlock func(), err error) {
	dir := filepath.Join(c.Dir, box)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("box cache: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("box cache: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("box cache: lock %s: %w", box, err)
	}
	return func() { f.Close() }, nil
}

// Lookup returns the cached set of box for arch, or nil when there is none.
func (c Cache) Lookup(box, arch string) (*Entry, error) {
	dir, err := filepath.EvalSymlinks(c.link(box, arch))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("box cache: %w", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, metaFile))
	if err != nil {
		return nil, fmt.Errorf("box cache: %w", err)
	}
	e := &Entry{Dir: dir}
	if err := json.Unmarshal(b, &e.Meta); err != nil {
		return nil, fmt.Errorf("box cache: %s: %w", filepath.Join(dir, metaFile), err)
	}
	return e, nil
}

// Stage makes an empty directory in the cache for a new set of box.
func (c Cache) Stage(box, arch string) (string, error) {
	dir := filepath.Join(c.Dir, box)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("box cache: %w", err)
	}
	d, err := os.MkdirTemp(dir, "."+arch+"-")
	if err != nil {
		return "", fmt.Errorf("box cache: %w", err)
	}
	// MkdirTemp makes it private; a box is readable like any cache.
	if err := os.Chmod(d, 0o755); err != nil {
		return "", fmt.Errorf("box cache: %w", err)
	}
	return d, nil
}

// Install turns the staged directory (holding m.Files) into the cached set
// of m.Box for m.Arch: it writes the checksums and box.json, then points
// the box's link at it; the previous set is removed.
func (c Cache) Install(stage string, m Meta) (*Entry, error) {
	sort.Strings(m.Files)
	var sums strings.Builder
	for _, f := range m.Files {
		sum, err := checksum.File(filepath.Join(stage, f))
		if err != nil {
			return nil, fmt.Errorf("box cache: %w", err)
		}
		fmt.Fprintf(&sums, "%s  %s\n", sum, f)
	}
	if err := os.WriteFile(filepath.Join(stage, sumsFile), []byte(sums.String()), 0o644); err != nil {
		return nil, fmt.Errorf("box cache: %w", err)
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(stage, metaFile), append(b, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("box cache: %w", err)
	}
	final := filepath.Join(filepath.Dir(stage), m.Arch+"-"+m.Built.UTC().Format("20060102T150405")+"-"+filepath.Base(stage)[len(m.Arch)+2:])
	if err := os.Rename(stage, final); err != nil {
		return nil, fmt.Errorf("box cache: %w", err)
	}
	link := c.link(m.Box, m.Arch)
	old, _ := filepath.EvalSymlinks(link)
	tmp := link + ".new"
	_ = os.Remove(tmp)
	if err := os.Symlink(filepath.Base(final), tmp); err != nil {
		return nil, fmt.Errorf("box cache: %w", err)
	}
	if err := os.Rename(tmp, link); err != nil {
		return nil, fmt.Errorf("box cache: %w", err)
	}
	if old != "" && old != final {
		// A VM still running on the old files keeps them open.
		_ = os.RemoveAll(old)
	}
	return &Entry{Dir: final, Meta: m}, nil
}

// Verify checks every file of the set against its checksum.
func (e *Entry) Verify() error {
	f, err := os.Open(e.Path(sumsFile))
	if err != nil {
		return fmt.Errorf("box %s: %w", e.Meta.Box, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		want, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			return fmt.Errorf("box %s: bad line in %s: %q", e.Meta.Box, e.Path(sumsFile), sc.Text())
		}
		got, err := checksum.File(e.Path(name))
		if err != nil {
			return fmt.Errorf("box %s: %w", e.Meta.Box, err)
		}
		if got != want {
			return fmt.Errorf("box %s: %s has checksum %s, %s says %s: the cached box is damaged (kiwi box build %s makes it again)",
				e.Meta.Box, e.Path(name), got, sumsFile, want, e.Meta.Box)
		}
		n++
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if n != len(e.Meta.Files) {
		return fmt.Errorf("box %s: %s lists %d files, box.json %d", e.Meta.Box, e.Path(sumsFile), n, len(e.Meta.Files))
	}
	return nil
}

// Sum returns the recorded checksum of file name of the set.
func (e *Entry) Sum(name string) (string, error) {
	b, err := os.ReadFile(e.Path(sumsFile))
	if err != nil {
		return "", err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if sum, n, ok := strings.Cut(l, "  "); ok && n == name {
			return sum, nil
		}
	}
	return "", fmt.Errorf("box %s: no checksum of %s", e.Meta.Box, name)
}
