package boot

import (
	"context"

	"github.com/kiwi-go/kiwi/internal/runner"
)

// InRoot runs a command inside root with /proc, /sys and /dev available.
// The mounts are made in a private mount namespace (unshare), so they are
// never visible on the host and vanish with the command, whatever way it
// ends: there is nothing to undo after an error, a signal or a kill -9.
func InRoot(ctx context.Context, r runner.Runner, root string, env []string, name string, args ...string) ([]byte, error) {
	script := `set -e
root=$1; shift
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount --rbind /dev "$root/dev"
exec chroot "$root" "$@"`
	full := append([]string{"--mount", "--propagation", "private", "--fork", "--kill-child", "sh", "-c", script, "sh", root, name}, args...)
	return r.Run(ctx, runner.Cmd{Name: "unshare", Args: full, Env: env})
}
