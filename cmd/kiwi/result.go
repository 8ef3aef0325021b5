package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/kiwi-go/kiwi/internal/runner"
	"github.com/kiwi-go/kiwi/oci"
	"github.com/kiwi-go/kiwi/result"
)

func newResultCommand(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "result",
		Short: "List, bundle, push and pull the results of a build",
	}
	c.AddCommand(newResultListCommand(g))
	c.AddCommand(newResultBundleCommand(g))
	c.AddCommand(newResultPushCommand(g))
	c.AddCommand(newResultPullCommand(g))
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

// refForms are the references result push and pull take, for their
// errors and help.
const refForms = "host/name:tag or docker://host/name:tag (a registry), oci:DIR:TAG (an OCI layout)"

// resultRefArg is the one REF argument of result push and pull: a
// missing or extra one is an error saying the usage, before any work.
func resultRefArg(usage string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		switch {
		case len(args) == 0:
			return fmt.Errorf("%s: give the reference, %s", usage, refForms)
		case len(args) > 1:
			return fmt.Errorf("%s takes one reference, not %d (%q): %s", usage, len(args), args, refForms)
		}
		return nil
	}
}

func newResultPushCommand(g *globals) *cobra.Command {
	var target string
	var insecure bool
	c := &cobra.Command{
		Use:   "push --target-dir DIR REF",
		Short: "Push the results of a build to a registry as an OCI artifact",
		Long: `push keeps the results in DIR/kiwi.result.json (every result file, the .sha256
beside each checksummed one, and kiwi.result.json itself) as one OCI artifact of
type ` + result.ArtifactType + ` at REF: ` + refForms + `.
Each file is a layer named by its file name, so "kiwi result pull" and "oras pull"
restore the same files. It prints the manifest's digest: "pushed REF@DIGEST".
Registry credentials come from $REGISTRY_AUTH_FILE or the containers default
auth.json (podman login). SOURCE_DATE_EPOCH fixes the artifact's creation time.`,
		Args: resultRefArg("result push --target-dir DIR REF"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if target == "" {
				return fmt.Errorf("result push needs --target-dir DIR, the target dir of a build")
			}
			ref := args[0]
			// Held so that no build writes the results while they are read.
			release, err := claim(g, commandLine(), map[string]string{target: "--target-dir"}, nil)
			if err != nil {
				return err
			}
			defer release()
			g.log.Info("Pushing results of " + target + " to " + ref)
			d, err := result.Push(cmd.Context(), target, ref, oci.CopyOptions{Insecure: insecure})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "pushed %s@%s\n", ref, d)
			return nil
		},
	}
	c.Flags().StringVar(&target, "target-dir", "", "the target dir of a build")
	c.Flags().BoolVar(&insecure, "tls-verify-off", false, "allow plain HTTP and unverified TLS for the registry (loopback registries always are)")
	return c
}

func newResultPullCommand(g *globals) *cobra.Command {
	var target string
	var insecure bool
	c := &cobra.Command{
		Use:   "pull REF --target-dir DIR",
		Short: "Restore the results of a build from an OCI artifact",
		Long: `pull restores the results "kiwi result push" pushed to REF (` + refForms + `)
into DIR, made if missing, which must hold none of the files (use an empty or new
dir). Every file is checked against its layer's digest, and every result with a
.sha256 against it, before the pull counts: after an error DIR holds none of the
files. "kiwi result list --target-dir DIR" lists them afterwards; it prints each
file restored. Registry credentials come from $REGISTRY_AUTH_FILE or the
containers default auth.json (podman login).`,
		Args: resultRefArg("result pull REF --target-dir DIR"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if target == "" {
				return fmt.Errorf("result pull needs --target-dir DIR, an empty or new dir to restore the results into")
			}
			ref := args[0]
			// A dir this pull makes is its own to remove if it is killed;
			// one that was there (with the user's other files) is not.
			var creates []string
			if _, err := os.Stat(target); errors.Is(err, fs.ErrNotExist) {
				creates = []string{target}
			}
			release, err := claim(g, commandLine(), map[string]string{target: "--target-dir"}, creates)
			if err != nil {
				return err
			}
			defer release()
			g.log.Info("Pulling results from " + ref + " into " + target)
			_, pulled, err := result.Pull(cmd.Context(), ref, target, oci.CopyOptions{Insecure: insecure})
			if err != nil {
				return err
			}
			for _, p := range pulled {
				fmt.Fprintf(cmd.OutOrStdout(), "restored %s\n", p.Path)
			}
			return nil
		},
	}
	c.Flags().StringVar(&target, "target-dir", "", "where the results go: an empty or new dir")
	c.Flags().BoolVar(&insecure, "tls-verify-off", false, "allow plain HTTP and unverified TLS for the registry (loopback registries always are)")
	return c
}
