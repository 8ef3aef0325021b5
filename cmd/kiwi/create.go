package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kiwi-go/kiwi/build"
	"github.com/kiwi-go/kiwi/build/create"
	"github.com/kiwi-go/kiwi/build/description"
	"github.com/kiwi-go/kiwi/build/prepare"
	"github.com/kiwi-go/kiwi/internal/runner"
)

func newCreateCommand(g *globals) *cobra.Command {
	var root, target string
	var signingKeys []string
	var cf containerFlags
	c := &cobra.Command{
		Use:   "create --root DIR --target-dir DIR",
		Short: "Create an image from a prepared root tree",
		Long: `create builds the image type selected in DIR/image/config.xml (the description
prepare or build left in the root) from the root tree DIR into the target dir.
Supported: oem disks (raw, plus qcow2/vmdk (with its .vmx)/vdi/vhdx/vhd/
vhd-fixed, gce, ova or vagrant boxes with format=),
hybrid live ISOs (iso: BIOS and EFI, as CD and as disk), kernel+initrd+system
sets (kis), filesystem images (ext2, ext3, ext4, btrfs, xfs, squashfs, erofs)
and container images (docker, oci: see --squash and --push).
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
			if err := checkCreateSigningKeys(g, signingKeys); err != nil {
				return err
			}
			release, err := claim(g, commandLine(), map[string]string{target: "--target-dir", root: "--root"}, nil)
			if err != nil {
				return err
			}
			defer release()
			o, err := buildOptions(g)
			if err != nil {
				return err
			}
			cf.apply(&o)
			results, err := build.Create(cmd.Context(), root, target, o)
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
	f.StringArrayVar(&signingKeys, "signing-key", nil, "package signing key file for KIWI's own boot image (repeatable; checked, none is needed: see --help)")
	cf.register(f)
	return c
}

// checkCreateSigningKeys checks create's --signing-key files. KIWI uses
// them only to verify the packages of its own boot image (initrd_system
// "kiwi"), installed at create time; every initrd here is the image's
// dracut run in the root, with no package installed at create (KIWI does
// nothing with the keys for dracut either). So a key must exist and is
// said to be unneeded, not silently dropped.
func checkCreateSigningKeys(g *globals, keys []string) error {
	for _, k := range keys {
		f, err := os.Open(k)
		if err != nil {
			return fmt.Errorf("--signing-key %s: %w (give a readable key file)", k, err)
		}
		f.Close()
	}
	if len(keys) > 0 {
		g.log.Info("--signing-key: no package is installed at create (the initrd is made by the image's dracut), so no key is needed; packages are verified at prepare (its --signing-key)", "keys", len(keys))
	}
	return nil
}

// buildOptions are the build library's options from the global ones.
func buildOptions(g *globals) (build.Options, error) {
	epoch, err := sourceDateEpoch()
	if err != nil {
		return build.Options{}, err
	}
	run := runner.Runner{Log: g.log, Progress: progressEvery}
	return build.Options{
		Load: description.LoadOptions{Profiles: g.profiles, Type: g.types, TargetArch: g.targetArch, Warn: description.WarnLog(g.log)},
		Prepare: prepare.Options{
			CacheDir: g.sharedCacheDir, TempDir: g.tempDir, Tool: "kiwi " + g.version, Run: run, Log: g.log,
		},
		ContainerCompress: g.runtime.ContainerCompress, Epoch: epoch, BundleCompress: g.runtime.BundleCompress, NoPackageChanges: g.runtime.NoPackageChanges,
		XZOptions: g.runtime.XZOptions, Run: run, Log: g.log,
	}, nil
}

// containerFlags are the options of system build and create for
// container images (docker, oci).
type containerFlags struct {
	squash   bool
	push     []string
	insecure bool
}

func (c *containerFlags) register(f *pflag.FlagSet) {
	f.BoolVar(&c.squash, "squash", false, "container images: one layer on the base (derived_from) or on nothing, as KIWI makes them, instead of keeping prepare's phase layers")
	f.StringArrayVar(&c.push, "push", nil, "container images: copy the image to this reference afterwards (docker://, oci:, oci-archive:, ...; repeatable)")
	f.BoolVar(&c.insecure, "tls-verify-off", false, "allow plain HTTP and unverified TLS for --push and derived_from registries (loopback registries always are)")
}

func (c *containerFlags) apply(o *build.Options) {
	o.Squash, o.Push, o.Copy.Insecure = c.squash, c.push, c.insecure
}

func logResults(g *globals, results []create.Result) {
	for _, r := range results {
		g.log.Info("result", "file", r.Filename)
	}
}
