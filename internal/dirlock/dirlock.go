// Package dirlock keeps two kiwi runs from writing into the same
// directory at once: the second fails fast with a message naming the
// first, instead of both writing results over each other.
package dirlock

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Lock is a held lock on a directory. It keeps a raw descriptor, not an
// *os.File: a file's finalizer would close it, and drop the lock, as soon
// as the Lock became unreachable.
type Lock struct {
	fd int
}

// Acquire locks dir for this process. The lock is an flock on a file in
// lockDir named after dir's absolute path, not a file in dir: the
// directory stays as the user left it, and a run killed with -9 holds
// nothing (the kernel drops the flock with the process).
func Acquire(lockDir, dir, flag string) (*Lock, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(filepath.Clean(abs)))
	if err := os.MkdirAll(lockDir, 0o755); err != nil {
		return nil, fmt.Errorf("lock dir: %w", err)
	}
	name := filepath.Join(lockDir, "dir-"+hex.EncodeToString(sum[:12])+".lock")
	fd, err := unix.Open(name, unix.O_RDWR|unix.O_CREAT|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		holder := ""
		if b, rerr := os.ReadFile(name); rerr == nil {
			if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil {
				holder = fmt.Sprintf(" (pid %d)", pid)
			}
		}
		unix.Close(fd)
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s %s is in use by another kiwi run%s: wait for it to finish or choose another %s", flag, dir, holder, flag)
		}
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	if err := unix.Ftruncate(fd, 0); err == nil {
		_, _ = unix.Pwrite(fd, []byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &Lock{fd: fd}, nil
}

// Release gives the lock up.
func (l *Lock) Release() {
	if l != nil && l.fd > 0 {
		_ = unix.Flock(l.fd, unix.LOCK_UN)
		unix.Close(l.fd)
		l.fd = -1
	}
}
