package chroot

import (
	"context"
	"os"
	"path/filepath"

	"github.com/kiwi-go/kiwi/internal/runner"
)

// Script runs the description's script root/image/<name>, when the root
// has one, inside the root as KIWI runs its hooks: with bash, env and the
// variables of the root's /.profile (when there is one yet) in its
// environment. A failure is runner.ScriptFailure: exit code and output.
func Script(ctx context.Context, r runner.Runner, root, name string, env []string) error {
	if _, err := os.Stat(filepath.Join(root, "image", name)); err != nil {
		return nil
	}
	env = append([]string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"}, env...)
	// 1>&2: the script's whole output is kept for the error.
	script := `exec 1>&2; if [ -f /.profile ]; then set -a; . /.profile; set +a; fi; exec /bin/bash /image/"$1"`
	_, err := RunCmd(ctx, r, Cmd{Root: root, Env: env, Name: "/bin/sh", Args: []string{"-c", script, "sh", name}})
	return runner.ScriptFailure(name, err)
}
