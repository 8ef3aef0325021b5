package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/kiwi-go/kiwi/internal/dirlock"
	"github.com/kiwi-go/kiwi/internal/journal"
	"github.com/kiwi-go/kiwi/internal/userns"
)

// stateBase is where runs keep their locks and records: /run/lock/kiwi
// (a tmpfs: nothing outlives a reboot), whatever --shared-cache-dir each
// run uses, so every run sees every other. An ordinary user's runs keep
// theirs in the user's runtime dir (a tmpfs too), else in the user's
// cache: nothing of theirs is written outside what the user owns.
func stateBase() string {
	if !userns.HostRoot() {
		if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
			return filepath.Join(d, "kiwi")
		}
		return filepath.Join(defaultCacheDir(), "run")
	}
	if _, err := os.Stat("/run/lock"); err == nil {
		return "/run/lock/kiwi"
	}
	return filepath.Join(os.TempDir(), "kiwi-state")
}

// defaultCacheDir is --shared-cache-dir's default: KIWI's /var/cache/kiwi
// for root, the user's cache dir (~/.cache/kiwi) for everyone else.
func defaultCacheDir() string {
	if !userns.HostRoot() {
		if d, err := os.UserCacheDir(); err == nil {
			return filepath.Join(d, "kiwi")
		}
	}
	return "/var/cache/kiwi"
}

// lockDir takes the lock that keeps a second kiwi run out of dir (a
// target dir or a root) while this one writes there.
func lockDir(dir, flag string) (*dirlock.Lock, error) {
	return dirlock.Acquire(stateBase(), dir, flag)
}

// claim is how a command that writes starts: it locks its directories
// (flag by directory) and records in the run journal where it makes
// temporary entries and which of creates it makes new, so `kiwi system
// cleanup` can remove what a run killed with -9 left. release undoes
// both; call it when the command ends, however it ends.
func claim(g *globals, command string, locks map[string]string, creates []string) (func(), error) {
	var held []*dirlock.Lock
	unlock := func() {
		for _, l := range held {
			l.Release()
		}
	}
	dirs := append(cacheDirs(g), g.tempDir)
	for dir, flag := range locks {
		l, err := lockDir(dir, flag)
		if err != nil {
			unlock()
			return nil, err
		}
		held = append(held, l)
		dirs = append(dirs, dir, filepath.Dir(filepath.Clean(dir)))
	}
	var fresh []string
	for _, p := range creates {
		if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
			fresh = append(fresh, p)
			dirs = append(dirs, filepath.Dir(filepath.Clean(p)))
		}
	}
	j, err := journal.Begin(filepath.Join(stateBase(), "runs"), journal.Entry{
		Command: command, Dirs: dirs, Creates: fresh,
	})
	if err != nil {
		unlock()
		return nil, err
	}
	// The closure holds the locks: until it runs, no finalizer closes
	// their files (which would drop the flocks).
	return func() { j.End(); unlock() }, nil
}

// cacheDirs are the shared cache's directories that hold temporary
// entries of runs.
func cacheDirs(g *globals) []string {
	return []string{filepath.Join(g.sharedCacheDir, "prepare", "trees"),
		filepath.Join(g.sharedCacheDir, "create", "results"), filepath.Join(g.sharedCacheDir, "create", "initrd")}
}

// commandLine is the run's command for its record.
func commandLine() string { return strings.Join(os.Args, " ") }
