package create

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/kiwi-go/kiwi/internal/checksum"
	"github.com/kiwi-go/kiwi/internal/journal"
	"github.com/kiwi-go/kiwi/internal/timing"
	"github.com/kiwi-go/kiwi/result"
)

// The results cache keeps what create made from a root that is an image
// in local storage (prepare's final phase image: Options.Layers), keyed by
// everything that goes into the results: that image (so the root's every
// file, its description and hooks), the selected description, this kiwi's
// version, the epoch and create's options. When the key is found, the
// files are copied back, each checked against the checksum taken when it
// was kept; a file that does not match (truncated, changed in place) drops
// the entry, and the image is built anew.
//
// resultRecipe changes when create makes other files from the same input.
const resultRecipe = "kiwi-result-1"

// ResultCacheBytes bounds the space the results cache takes: after an
// entry is added, the least recently used ones are removed until the rest
// fit (the newest always stays). A disk image entry holds its raw disk and
// its converted format, about 1.5 GiB for a small Debian system.
const ResultCacheBytes = 10 << 30

// resultEntry is the record of a cached entry.
type resultEntry struct {
	Results []Result `json:"results"`
	// Format is kiwi.result.json's bundle format of the image.
	Format result.Format `json:"format"`
	// Sums are the SHA-256 of every file of the entry (results and their
	// .sha256 files) by name.
	Sums map[string]string `json:"sums"`
}

type resultCache struct {
	dir, key string
}

// resultCache is the cache entry of j's results from o, or nil when the
// root is not an image (create of a root made elsewhere) or the kind puts
// its result into local storage (containers).
func (j *Job) resultCache(o Options) *resultCache {
	if j.Kind == "container" {
		return nil
	}
	return newResultCache(o)
}

// newResultCache is the cache entry of the results from o, whose root is
// the image o.Layers.RootImage, when there is one. The key holds what
// decides the results besides that image (which holds the root's every
// file, its description and hooks): the selection of profiles, type and
// arch, the epoch, create's options and this kiwi.
func newResultCache(o Options) *resultCache {
	if o.Layers == nil || o.Layers.RootImage == "" || o.CacheDir == "" {
		return nil
	}
	var epoch int64 = -1
	if o.Epoch != nil {
		epoch = o.Epoch.Unix()
	}
	sel := o.Selection
	key := checksum.JSON(resultRecipe, o.Layers.RootImage, o.Tool, sel.Profiles, sel.Type, sel.TargetArch,
		epoch, o.BundleCompress, o.NoPackageChanges, o.XZOptions)
	return &resultCache{dir: ResultCacheDir(o.CacheDir), key: key}
}

// Reuse copies the results of an earlier create from the same input (see
// newResultCache) into o.TargetDir without a root tree: ok is false when
// there are none (or they failed their check, and are gone). The caller
// knows the image is no container.
func Reuse(ctx context.Context, o Options) (res []Result, ok bool, err error) {
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	c := newResultCache(o)
	if c == nil || o.ClearCache {
		return nil, false, nil
	}
	return c.reuse(ctx, o)
}

// ResultCacheDir is where the results cache lives in the shared cache.
func ResultCacheDir(cacheDir string) string { return filepath.Join(cacheDir, "create", "results") }

func (c *resultCache) entry() string { return filepath.Join(c.dir, c.key[:32]) }

// drop removes the entry (--clear-cache, a file that failed its check).
func (c *resultCache) drop() error { return os.RemoveAll(c.entry()) }

// reuse copies the cached results into o.TargetDir, as a create would
// place them (work dir, then renamed, kiwi.result.json last). ok is false
// when there is no entry, or it failed its check (and is gone then).
func (c *resultCache) reuse(ctx context.Context, o Options) (res []Result, ok bool, err error) {
	b, err := os.ReadFile(filepath.Join(c.entry(), "entry.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	var e resultEntry
	if err == nil {
		err = json.Unmarshal(b, &e)
	}
	if err != nil {
		o.Log.Warn("a cached result's record is unreadable: dropped, building anew", "entry", c.entry(), "error", err)
		return nil, false, c.drop()
	}
	end := timing.StartCached(ctx, "image")
	o.Log.Info("the same input was built before: copying the cached results", "entry", c.entry())
	if err := os.MkdirAll(o.TargetDir, 0o755); err != nil {
		return nil, false, fmt.Errorf("create target dir: %w", err)
	}
	work, err := os.MkdirTemp(o.TargetDir, journal.TempPattern(".kiwi-create-"))
	if err != nil {
		return nil, false, fmt.Errorf("create work dir in %s: %w", o.TargetDir, err)
	}
	defer os.RemoveAll(work)
	names := make([]string, 0, len(e.Sums))
	for name := range e.Sums {
		names = append(names, name)
	}
	// One goroutine per file: the disk images are large and independent.
	errs := make(chan error, len(names))
	for _, name := range names {
		go func() {
			if filepath.Base(name) != name {
				errs <- fmt.Errorf("cached result %q is no plain file name", name)
				return
			}
			sum, err := checksum.CopyFile(filepath.Join(c.entry(), name), filepath.Join(work, name))
			if err == nil && sum != e.Sums[name] {
				err = fmt.Errorf("%s does not match the checksum it was kept with", name)
			}
			errs <- err
		}()
	}
	var bad error
	for range names {
		if err := <-errs; err != nil && bad == nil {
			bad = err
		}
	}
	if bad != nil {
		o.Log.Warn("a cached result failed its check: dropped, building anew", "entry", c.entry(), "error", bad)
		return nil, false, c.drop()
	}
	now := time.Now()
	_ = os.Chtimes(c.entry(), now, now) // most recently used: removed last
	res, err = place(o.TargetDir, work, append([]Result(nil), e.Results...), e.Format)
	if err != nil {
		return nil, false, err
	}
	end()
	return res, true, nil
}

// keep copies the results create just made (in o.TargetDir) into a new
// entry, then keeps the cache within ResultCacheBytes.
func (c *resultCache) keep(o Options, results []Result) error {
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(c.dir, journal.TempPattern(".kiwi-result-"))
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	e := resultEntry{Sums: map[string]string{}, Format: format(o)}
	for _, r := range results {
		name := filepath.Base(r.Filename)
		files := []string{name}
		if r.Shasum {
			files = append(files, name+".sha256")
		}
		for _, f := range files {
			sum, err := keepFile(filepath.Join(o.TargetDir, f), filepath.Join(tmp, f))
			if err != nil {
				return err
			}
			e.Sums[f] = sum
		}
		r.Filename = name
		e.Results = append(e.Results, r)
	}
	// The checksum publish wrote for a result is its sum: the image is
	// not read again.
	for name, sum := range e.Sums {
		if b, err := os.ReadFile(filepath.Join(tmp, name+".sha256")); err == nil && sum == "" {
			e.Sums[name], _, _ = strings.Cut(string(b), " ")
		}
	}
	for name, sum := range e.Sums {
		if sum == "" {
			return fmt.Errorf("no checksum of %s", name)
		}
	}
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "entry.json"), b, 0o644); err != nil {
		return err
	}
	_ = c.drop()
	if err := os.Rename(tmp, c.entry()); err != nil {
		return err
	}
	pruneResults(c.dir, ResultCacheBytes, c.key[:32])
	return nil
}

// keepFile puts the result src into the cache at dst: a hard link where
// both are on one filesystem (no data written; the sum is then taken from
// its .sha256 file, or by reading a small file), else a copy. A result
// changed in place later (a disk booted without a snapshot) changes the
// entry too, and fails its check when the entry is next used.
func keepFile(src, dst string) (sum string, err error) {
	if err := os.Link(src, dst); err != nil {
		return checksum.CopyFile(src, dst)
	}
	if _, err := os.Stat(src + ".sha256"); err == nil {
		return "", nil
	}
	return checksum.File(dst)
}

// pruneResults removes the least recently used entries of the results
// cache in dir until the others take at most bound bytes on disk; keep is
// never removed. Temp dirs of killed runs are kiwi system cleanup's.
func pruneResults(dir string, bound int64, keep string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	type entry struct {
		name string
		used time.Time
		size int64
	}
	var all []entry
	var total int64
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !e.IsDir() || e.Name()[0] == '.' {
			continue
		}
		size := dirBytes(filepath.Join(dir, e.Name()))
		total += size
		all = append(all, entry{e.Name(), info.ModTime(), size})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].used.Before(all[j].used) })
	for _, e := range all {
		if total <= bound {
			return
		}
		if e.name == keep {
			continue
		}
		if os.RemoveAll(filepath.Join(dir, e.name)) == nil {
			total -= e.size
		}
	}
}

// dirBytes is the space the files in dir take on disk (sparse images
// count what they hold).
func dirBytes(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += diskUsage(fi)
			}
		}
		return nil
	})
	return n
}

// diskUsage is the space fi's file takes on disk.
func diskUsage(fi fs.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Blocks * 512
	}
	return fi.Size()
}

// initrdCache is the initrd cache's dir for boot.MakeInitrd: in the
// shared cache, none with --clear-cache (or no shared cache).
func (o Options) initrdCache() string {
	if o.CacheDir == "" || o.ClearCache {
		return ""
	}
	return filepath.Join(o.CacheDir, "create", "initrd")
}
