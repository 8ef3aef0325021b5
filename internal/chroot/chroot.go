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
func RunCmd(ctx context.Context, r runner.Runner, c Cmd) ([]byte, error) {
	script := `set -e
root=$1; onhost=$2; nb=$3; shift 3
mkdir -p "$root/proc" "$root/sys" "$root/dev"
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys" 2>/dev/null || mount --rbind /sys "$root/sys"
mount --rbind /dev "$root/dev"
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
	onHost := "0"
	if c.OnHost {
		onHost = "1"
	}
	full := append(Namespaces(), "sh", "-c", script, "sh", c.Root, onHost, strconv.Itoa(len(c.Binds)))
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
