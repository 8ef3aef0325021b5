package stack

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/kiwi-go/kiwi/internal/journal"
	"github.com/kiwi-go/kiwi/oci"
	"github.com/kiwi-go/kiwi/oci/layerfs"
)

// keepStacks is how many composed stacks the cache keeps: each is a whole
// root tree, so only the most recently used few.
const keepStacks = 2

// composeCached composes through the cache: a stack whose images (by
// config digest, so any changed layer is a different stack) were composed
// before is copied from the cache instead of extracting its layers again.
// A new stack is composed into the cache first, then copied out; entries
// appear under their key only when complete (rename), so a killed run
// leaves at most a temp dir that the next prune removes.
func composeCached(ctx context.Context, o Options, refs []oci.ImageRef) (*Report, error) {
	ids := make([]string, len(refs))
	for i, ref := range refs {
		id, err := oci.ConfigDigest(ctx, ref, o.Copy)
		if err != nil {
			return nil, fmt.Errorf("stack %s: %w", o.Stashes[i], err)
		}
		ids[i] = id
	}
	sum := sha256.Sum256([]byte(strings.Join(ids, "\n")))
	key := hex.EncodeToString(sum[:16])
	if err := os.MkdirAll(o.CacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("stack cache: %w", err)
	}
	entry := filepath.Join(o.CacheDir, key)
	rep, err := readReport(entry)
	if err != nil {
		tmp, err := os.MkdirTemp(o.CacheDir, journal.TempPattern(".kiwi-stack-"))
		if err != nil {
			return nil, fmt.Errorf("stack cache: %w", err)
		}
		defer os.RemoveAll(tmp)
		if rep, err = compose(ctx, o, refs, filepath.Join(tmp, "tree")); err != nil {
			return nil, err
		}
		if err := writeReport(tmp, rep); err != nil {
			return nil, err
		}
		if err := os.Rename(tmp, entry); err != nil {
			// Another run composed the same stack meanwhile: use its.
			if _, rerr := readReport(entry); rerr != nil {
				return nil, fmt.Errorf("stack cache: %w", err)
			}
		}
	} else if o.Log != nil {
		o.Log.Info("stack cached: copying the composed root", "key", key)
	}
	now := time.Now()
	_ = os.Chtimes(entry, now, now) // most recently used: pruned last
	t, err := copyTree(ctx, filepath.Join(entry, "tree"), o.Root)
	if err != nil {
		return nil, err
	}
	rep.Data = t.Data
	prune(o.CacheDir, keepStacks)
	return rep, nil
}

// copyTree copies a composed root out of the cache the way stacks are
// composed from storage (layerfs.Tree: parallel, data by reflink where the
// filesystem has them, else copy_file_range; owners, modes, xattrs,
// hardlinks). A failed copy leaves no root behind.
func copyTree(ctx context.Context, src, dst string) (*layerfs.Tree, error) {
	var t layerfs.Tree
	if err := t.AddTree(ctx, src); err != nil {
		return nil, fmt.Errorf("read the composed root in the stack cache: %w", err)
	}
	if err := writeRoot(ctx, &t, dst); err != nil {
		return nil, fmt.Errorf("copy the composed root from the stack cache: %w", err)
	}
	return &t, nil
}

func readReport(entry string) (*Report, error) {
	b, err := os.ReadFile(filepath.Join(entry, "report.json"))
	if err != nil {
		return nil, err
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(entry, "tree")); err != nil {
		return nil, err
	}
	return &rep, nil
}

func writeReport(dir string, rep *Report) error {
	b, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.json"), b, 0o644); err != nil {
		return fmt.Errorf("stack cache: %w", err)
	}
	return nil
}

// prune keeps the keep most recently used stacks and removes the rest,
// and temp dirs of runs that were killed (older than an hour, so a
// concurrent run's are left alone).
func prune(dir string, keep int) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	type stackEntry struct {
		name string
		used time.Time
	}
	var stacks []stackEntry
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			continue
		}
		if strings.HasPrefix(e.Name(), ".kiwi-stack-") {
			if time.Since(info.ModTime()) > time.Hour {
				os.RemoveAll(filepath.Join(dir, e.Name()))
			}
			continue
		}
		stacks = append(stacks, stackEntry{e.Name(), info.ModTime()})
	}
	sort.Slice(stacks, func(i, j int) bool { return stacks[i].used.After(stacks[j].used) })
	for _, s := range stacks[min(keep, len(stacks)):] {
		os.RemoveAll(filepath.Join(dir, s.name))
	}
}
