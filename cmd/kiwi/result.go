package main

import (
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/kiwi-go/kiwi/internal/runner"
	"github.com/kiwi-go/kiwi/result"
)

func newResultCommand(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "result",
		Short: "List and bundle the results of a build",
	}
	c.AddCommand(newResultListCommand(g))
	c.AddCommand(newResultBundleCommand(g))
	return c
}

func newResultListCommand(g *globals) *cobra.Command {
	var target string
	c := &cobra.Command{
		Use:   "list --target-dir DIR",
		Short: "List the results of a build",
		Long: `list reads DIR/kiwi.result.json (what system build and create write) and prints
every result as KIWI does: "--> key: file", in key order, on standard output.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if target == "" {
				return fmt.Errorf("result list needs --target-dir DIR")
			}
			g.log.Info("Listing results from " + target)
			r, err := result.Read(target)
			if err != nil {
				return err
			}
			out := slog.New(newLogHandler(cmd.OutOrStdout(), slog.LevelInfo, g.color))
			out.Info("Result files:")
			for _, l := range result.List(r) {
				out.Info(l)
			}
			return nil
		},
	}
	c.Flags().StringVar(&target, "target-dir", "", "the target dir of a build")
	return c
}

func newResultBundleCommand(g *globals) *cobra.Command {
	var o result.BundleOptions
	var asRPM bool
	c := &cobra.Command{
		Use:   "bundle --target-dir DIR --id ID --bundle-dir DIR [--bundle-format FMT] [--zsync-source URL] [--no-compress]",
		Short: "Copy the results of a build into a bundle, named for publishing",
		Long: `bundle copies the results KIWI bundles (use_for_bundle in kiwi.result.json) from the
target dir into the bundle dir, in key order: each named with the id after its
version (NAME.ARCH-VERSION-ID.EXT), or by the type's bundle_format (or
--bundle-format: %N name, %P profiles, %A arch, %T type, %M %m %p version parts,
%v version, %I id) and its extension; xz-compressed where KIWI compresses it
(runtime config "bundle: - compress:" at build time, "xz: - options:"; --no-compress
for none); with a .sha256 that sha256sum -c reads and, with --zsync-source, a
zsync control file for every checksummed file; --package-as-rpm packs it all into
one noarch rpm (rpmbuild). Everything is checked before any
file is written, and the bundle dir gets the files only when all are made.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Target == "" || o.Dir == "" {
				return fmt.Errorf("result bundle needs --target-dir DIR, --id ID and --bundle-dir DIR")
			}
			o.RPM = asRPM
			g.log.Info("Bundle build results from " + o.Target)
			r, err := result.Read(o.Target)
			if err != nil {
				return err
			}
			release, err := claim(g, commandLine(), map[string]string{o.Dir: "--bundle-dir", o.Target: "--target-dir"}, []string{o.Dir})
			if err != nil {
				return err
			}
			defer release()
			o.XZOptions = g.runtime.XZOptions
			o.Run = runner.Runner{Log: g.log, Progress: progressEvery}
			o.Log = g.log
			files, err := result.Bundle(cmd.Context(), r, o)
			if err != nil {
				return err
			}
			for _, f := range files {
				g.log.Info("bundled", "file", f)
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&o.Target, "target-dir", "", "the target dir of a build")
	f.StringVar(&o.ID, "id", "", "the bundle id, added after the version in every name (e.g. Build42)")
	f.StringVar(&o.Dir, "bundle-dir", "", "where the bundle goes (not the target dir)")
	f.StringVar(&o.Format, "bundle-format", "", "name the files by this pattern instead of the type's bundle_format")
	f.StringVar(&o.ZsyncSource, "zsync-source", "", "URL the bundle is downloaded from: writes zsync control files (needs zsyncmake)")
	f.BoolVar(&o.NoCompress, "no-compress", false, "compress no file")
	f.BoolVar(&asRPM, "package-as-rpm", false, "pack the bundle into one noarch rpm, <name>-<version>-0.noarch.rpm, its files in /var/tmp/<name> (needs rpmbuild)")
	return c
}
