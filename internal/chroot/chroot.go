// Package chroot runs programs inside a root tree the way an image builder
// must (package managers, dracut, grub-mkconfig, scripts), with every mount
// in a private namespace that ends with the program.
package chroot

import (
	"context"
	"io"
	"strconv"

	"github.com/kiwi-go/kiwi/internal/runner"
	"github.com/kiwi-go/kiwi/internal/userns"
)

// Run runs a command inside root with /proc, /sys and /dev available.
// The mounts are made in a private mount namespace (unshare), so they are
// never visible on the host and vanish with the command, whatever way it
// ends: there is nothing to undo after an error, a signal or a kill -9.
func Run(ctx context.Context, r runner.Runner, root string, env []string, name string, args ...string) ([]byte, error) {
	return RunCmd(ctx, r, Cmd{Root: root, Env: env, Name: name, Args: args})
}

// Bind is a host directory shown at a path inside the root for the length
// of one command (a package cache, for instance).
type Bind struct {
	Host, InRoot string
	// File binds a single file (resolv.conf) instead of a directory; it
	// is bound only when the root has a regular file there.
	File bool
}

// Cmd is one command to run inside a root tree.
type Cmd struct {
	Root  string
	Env   []string
	Binds []Bind
	Stdin io.Reader
	// Stdout receives standard output; nil keeps it for the result.
	Stdout io.Writer
	Name   string
	Args   []string
	// OnHost runs the host's program instead of the root's, with the
	// root's /proc, /sys and /dev (and binds) in place: a package
	// manager filling a root from outside (zypper --root), whose
	// package scripts run chrooted and need them.
	OnHost bool
}

// Namespaces are unshare's options for a program that mounts what a root
// needs (proc, sys, binds) and whose mounts must vanish with it: a private
// mount namespace, the program killed with unshare. Root of a user
// namespace may mount proc only for a pid namespace of its own (and sysfs
// only for a network namespace of its own, so the host's /sys is bound
// there instead): in one, the program gets a pid namespace too.
func Namespaces() []string {
	ns := []string{"--mount", "--propagation", "private", "--fork", "--kill-child"}
	if userns.Inside() {
		ns = append(ns, "--pid")
	}
	return ns
}

// RunCmd is Run with bind mounts, input and output. Binds are made
// in the same private namespace as /proc, /sys and /dev, so they too are
// gone when the command ends, and the root's own files under them are
// untouched.
//
// In a user namespace the host's /dev, /proc and /sys belong to nobody
// (ids the namespace does not map), and rpm sets the owner of every
// directory a package lists, /dev, /proc and /sys included: a chown of
// one of them fails and so does the install. There /dev is a tmpfs of
// the namespace's root holding the host's null, zero, full, random,
// urandom and tty (bound, as rootless podman does), and a package
// manager run from the host (OnHost: rpm unpacking into the root) gets
// no /proc and /sys in the root, as with dnf --installroot in a rootless
// container; commands chrooted into the root still get both.
func RunCmd(ctx context.Context, r runner.Runner, c Cmd) ([]byte, error) {
	script := `set -e
root=$1; onhost=$2; userns=$3; nb=$4; shift 4
mkdir -p "$root/proc" "$root/sys" "$root/dev"
if [ "$userns" = 0 ] || [ "$onhost" = 0 ]; then
  mount -t proc proc "$root/proc"
  mount -t sysfs sysfs "$root/sys" 2>/dev/null || mount --rbind /sys "$root/sys"
fi
if [ "$userns" = 0 ]; then
  mount --rbind /dev "$root/dev"
else
  mount -t tmpfs -o mode=755,nosuid tmpfs "$root/dev"
  for n in null zero full random urandom tty; do
    : > "$root/dev/$n"; mount --bind "/dev/$n" "$root/dev/$n"
  done
  mkdir "$root/dev/pts" "$root/dev/shm"
  mount --rbind /dev/pts "$root/dev/pts"
  mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/dev/shm"
  ln -s /proc/self/fd "$root/dev/fd"
  ln -s /proc/self/fd/0 "$root/dev/stdin"
  ln -s /proc/self/fd/1 "$root/dev/stdout"
  ln -s /proc/self/fd/2 "$root/dev/stderr"
  ln -s pts/ptmx "$root/dev/ptmx"
fi
while [ "$nb" -gt 0 ]; do
  kind=$1 src=$2 dst=$root$3; shift 3; nb=$((nb-1))
  if [ "$kind" = file ]; then
    if [ -f "$dst" ] && [ ! -L "$dst" ]; then mount --bind "$src" "$dst"; fi
  else
    mkdir -p "$dst"; mount --bind "$src" "$dst"
  fi
done
if [ "$onhost" = 1 ]; then exec "$@"; fi
exec chroot "$root" "$@"`
	onHost, inUserns := "0", "0"
	if c.OnHost {
		onHost = "1"
	}
	if userns.Inside() {
		inUserns = "1"
	}
	full := append(Namespaces(), "sh", "-c", script, "sh", c.Root, onHost, inUserns, strconv.Itoa(len(c.Binds)))
	for _, b := range c.Binds {
		kind := "dir"
		if b.File {
			kind = "file"
		}
		full = append(full, kind, b.Host, b.InRoot)
	}
	full = append(full, c.Name)
	full = append(full, c.Args...)
	return r.Run(ctx, runner.Cmd{Name: "unshare", Args: full, Env: c.Env, Stdin: c.Stdin, Stdout: c.Stdout})
}
