package pkgmanager

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// lockCache takes a manager's shared package cache dir for one run of
// the manager. apt locks its archives itself but gives up at once when
// another apt holds them (zypper, dnf and pacman likewise with their own
// locks); builds sharing the cache (several at once, or in boxes
// that share the host's cache) wait here for each other instead. The lock
// is a flock on a file in the cache, so it works across containers and
// VMs' host-side processes that see the same file. unlock releases it.
func lockCache(ctx context.Context, dir string, log *slog.Logger) (unlock func(), err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("package cache: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "kiwi.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("package cache: %w", err)
	}
	waited := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("package cache: lock %s: %w", f.Name(), err)
		}
		if !waited && log != nil {
			log.Info("waiting for another build to finish with the shared package cache", "dir", dir)
			waited = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
