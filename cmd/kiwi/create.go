package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/kiwi-go/kiwi/build"
	"github.com/kiwi-go/kiwi/build/create"
	"github.com/kiwi-go/kiwi/build/description"
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
				return fmt.Errorf("--root %s is not a directory", root)
			}
			release, err := claim(g, commandLine(), map[string]string{target: "--target-dir", root: "--root"}, nil)
			if err != nil {
				return err
			}
			defer release()
			results, err := build.Create(cmd.Context(), root, target, buildOptions(g))
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

// buildOptions are the build library's options from the global ones.
func buildOptions(g *globals) build.Options {
	return build.Options{
		Load: description.LoadOptions{Profiles: g.profiles, Type: g.types, TargetArch: g.targetArch, Warn: description.WarnLog(g.log)},
		Run:  runner.Runner{Log: g.log, Progress: progressEvery}, Log: g.log,
	}
}

func logResults(g *globals, results []create.Result) {
	for _, r := range results {
		g.log.Info("result", "file", r.Filename)
	}
}
