package chroot

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kiwi-go/kiwi/internal/runner"
)

// Functions is the script library a description's scripts source as
// /.kconfig: KIWI's functions.sh by name, arguments and effect.
//
//go:embed functions.sh
var Functions []byte

// Script runs the description's script root/image/<name>, when the root
// has one, inside the root as KIWI runs its hooks: with bash, env and the
// variables of the root's /.profile (when there is one yet) in its
// environment, and KIWI's function library at /.kconfig. A failure is
// runner.ScriptFailure: exit code and output.
func Script(ctx context.Context, r runner.Runner, root, name string, env []string) (err error) {
	if _, err := os.Stat(filepath.Join(root, "image", name)); err != nil {
		return nil
	}
	remove, err := writeKconfig(root)
	if err != nil {
		return err
	}
	defer func() {
		if rerr := remove(); err == nil {
			err = rerr
		}
	}()
	env = append([]string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"}, env...)
	// 1>&2: the script's whole output is kept for the error.
	script := `exec 1>&2; if [ -f /.profile ]; then set -a; . /.profile; set +a; fi; exec /bin/bash /image/"$1"`
	_, err = RunCmd(ctx, r, Cmd{Root: root, Env: env, Name: "/bin/sh", Args: []string{"-c", script, "sh", name}})
	return runner.ScriptFailure(name, err)
}

// writeKconfig puts the library at root/.kconfig for one script and
// returns what takes it away again, so that it never reaches a layer or
// an image (KIWI leaves it in the root and excludes it later). A root
// that has one already (prepared by kiwi-ng) keeps its own.
func writeKconfig(root string) (func() error, error) {
	p := filepath.Join(root, ".kconfig")
	if _, err := os.Lstat(p); err == nil {
		return func() error { return nil }, nil
	}
	if err := os.WriteFile(p, Functions, 0o644); err != nil {
		return nil, fmt.Errorf("write the script library /.kconfig: %w", err)
	}
	return func() error {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove /.kconfig: %w", err)
		}
		return nil
	}, nil
}

// HostScript runs the description's script root/image/<name>, when the
// root has one, on the host as KIWI runs its unchrooted hooks
// (edit_boot_config.sh, edit_boot_install.sh, config-host-overlay.sh):
// bash --norc in the root dir, with args and the variables of the root's
// /.profile in its environment. A failure is runner.ScriptFailure.
func HostScript(ctx context.Context, r runner.Runner, root, name string, args ...string) error {
	p := filepath.Join(root, "image", name)
	if _, err := os.Stat(p); err != nil {
		return nil
	}
	script := `exec 1>&2; if [ -f .profile ]; then set -a; . ./.profile; set +a; fi; exec bash --norc "$@"`
	_, err := r.Run(ctx, runner.Cmd{Name: "bash", Args: append([]string{"-c", script, "bash", p}, args...), Dir: root})
	return runner.ScriptFailure(name, err)
}
