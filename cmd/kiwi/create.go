package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/kiwi-go/kiwi/build"
	"github.com/kiwi-go/kiwi/internal/runner"
)

func newCreateCommand(g *globals) *cobra.Command {
	var root, target string
	c := &cobra.Command{
		Use:   "create --root DIR --target-dir DIR",
		Short: "Create an image from a prepared root tree",
		Long: `create builds the image type selected in DIR/image/config.xml (the description
prepare or build left in the root) from the root tree DIR into the target dir.
Supported: oem disks (raw, plus qcow2/vmdk/vdi/vhdx/vhd-fixed with format=),
hybrid live ISOs (iso: BIOS and EFI, as CD and as disk), kernel+initrd+system
sets (kis) and filesystem images (ext2, ext3, ext4, btrfs, xfs, squashfs, erofs).
No loop device and no mount is used: filesystems are filled from the tree
straight into the disk image file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if root == "" || target == "" {
				return fmt.Errorf("create needs --root DIR and --target-dir DIR")
			}
			if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
				return fmt.Errorf("root tree %q is not a directory (--root)", root)
			}
			release, err := claim(g, commandLine(), map[string]string{target: "--target-dir", root: "--root"}, nil)
			if err != nil {
				return err
			}
			defer release()
			results, err := createFromRoot(cmd.Context(), g, root, target)
			if err != nil {
				return err
			}
			logResults(g, results)
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&root, "root", "", "prepared root tree (with image/config.xml)")
	f.StringVar(&target, "target-dir", "", "directory for the results")
	return c
}

// createFromRoot builds the type selected in root/image/config.xml.
func createFromRoot(ctx context.Context, g *globals, root, target string) ([]build.Result, error) {
	d, err := build.Load(filepath.Join(root, "image"), build.LoadOptions{
		Profiles: g.profiles, Type: g.types, TargetArch: g.targetArch, Warn: build.WarnLog(g.log),
	})
	if err != nil {
		return nil, fmt.Errorf("read the root's description (made by prepare/build in %s/image): %w", root, err)
	}
	create, err := creatorFor(d)
	if err != nil {
		return nil, err
	}
	// images.sh and dracut run inside the root.
	if err := build.CanRun(d.TargetArch); err != nil {
		return nil, err
	}
	results, err := create(ctx, build.CreateOptions{Root: root, TargetDir: target, Run: runner.Runner{Log: g.log, Progress: progressEvery}, Log: g.log})
	if err != nil && noSpace(err) {
		return nil, fmt.Errorf("no space left for the image in %s (nothing was kept): free space there or choose another --target-dir: %w", target, err)
	}
	return results, err
}

// noSpace tells whether err comes from a full filesystem: our own writes
// (ENOSPC) or a tool's (mkfs, qemu-img say it in their error output).
func noSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || strings.Contains(err.Error(), "No space left on device")
}

// creator builds one image type from a root.
type creator func(context.Context, build.CreateOptions) ([]build.Result, error)

// creatorFor picks the builder of d's selected type, so an unsupported
// type is refused before any work (build checks it before prepare).
func creatorFor(d *build.Description) (creator, error) {
	if _, ok := build.LiveTypeOf(d); ok || d.Type.Image == "oem" {
		if err := bootableArch(d); err != nil {
			return nil, err
		}
	}
	if ft, ok := build.FSTypeOf(d); ok {
		return func(ctx context.Context, o build.CreateOptions) ([]build.Result, error) {
			return build.CreateFS(ctx, ft, o)
		}, nil
	}
	if lt, ok := build.LiveTypeOf(d); ok {
		return func(ctx context.Context, o build.CreateOptions) ([]build.Result, error) {
			return build.CreateLive(ctx, lt, o)
		}, nil
	}
	if kt, ok := build.KisTypeOf(d); ok {
		return func(ctx context.Context, o build.CreateOptions) ([]build.Result, error) {
			return build.CreateKis(ctx, kt, o)
		}, nil
	}
	dt, err := build.DiskTypeOf(d)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, o build.CreateOptions) ([]build.Result, error) {
		return build.CreateOEM(ctx, dt, o)
	}, nil
}

// bootableArch fails for disks and live ISOs of other arches than
// x86_64: the boot loader kiwi installs (grub for i386-pc and x86_64-efi)
// would not boot them.
func bootableArch(d *build.Description) error {
	if d.TargetArch == "" || d.TargetArch == "x86_64" {
		return nil
	}
	return fmt.Errorf("%s: image=%q for %s: kiwi installs grub for x86_64 (BIOS and EFI) only so far, which does not boot on %s; build a kis or filesystem type (ext4, squashfs, ...) for %s",
		d.File, d.Type.Image, d.TargetArch, d.TargetArch, d.TargetArch)
}

// createSupported fails when d's type cannot be created.
func createSupported(d *build.Description) error {
	_, err := creatorFor(d)
	return err
}

func logResults(g *globals, results []build.Result) {
	for _, r := range results {
		g.log.Info("result", "file", r.Filename)
	}
}
