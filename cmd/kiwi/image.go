package main

import (
	"encoding/json"
	"fmt"

	"github.com/kiwi-go/kiwi/build"
	"github.com/kiwi-go/kiwi/build/create"
	"github.com/kiwi-go/kiwi/build/description"
	"github.com/spf13/cobra"
)

func newImageCommand(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "image",
		Short: "Inspect image descriptions and resize disks",
	}
	c.AddCommand(newImageInfoCommand(g))
	c.AddCommand(newImageResizeCommand(g))
	return c
}

// imageInfo is what `kiwi image info` prints.
type imageInfo struct {
	Image        string                           `json:"image"`
	Version      string                           `json:"version"`
	DisplayName  string                           `json:"displayname,omitempty"`
	Description  string                           `json:"description_file"`
	Profiles     []string                         `json:"profiles"`
	TargetArch   string                           `json:"target_arch"`
	Type         description.Type                 `json:"type"`
	Types        []string                         `json:"types"`
	Preferences  description.Preferences          `json:"preferences"`
	Packages     map[string]*description.Packages `json:"packages"`
	Repositories []description.Repository         `json:"repositories"`
	Users        []description.User               `json:"users"`
	// Buildable says, for each type of the selected profiles, whether
	// this kiwi builds it.
	Buildable map[string]bool `json:"buildable"`
	// Build is why the selected type cannot be built ("" when it can).
	Build string `json:"build_refused,omitempty"`
}

func newImageInfoCommand(g *globals) *cobra.Command {
	var o struct {
		description            string
		listProfiles, printXML bool
	}
	c := &cobra.Command{
		Use:   "info --description DIR [--list-profiles] [--print-xml]",
		Short: "Print what a description selects, as JSON",
		Long: `info loads the description in DIR (config.xml, image/config.xml or the first *.kiwi,
or the file named by --kiwi-file), resolves its includes, checks it, selects the
profiles (--profile, else those marked import="true"), the build type (--type, else
the primary one, else the first) and the target architecture (--target-arch), and
prints the image name, version, selected profiles, the selected type with all its
attributes, the packages per section, the repositories and the users as JSON,
and which of its types this kiwi builds (buildable; build_refused says why
the selected one cannot be built). Luks passphrases, repository credentials
and plain-text passwords are masked.
--list-profiles prints the profiles of the description instead; --print-xml prints
the processed description (includes resolved) after the JSON.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.description == "" {
				return fmt.Errorf("image info needs --description DIR")
			}
			opts := description.LoadOptions{
				KiwiFile: g.kiwiFile, Profiles: g.profiles, Type: g.types,
				TargetArch: g.targetArch, Warn: description.WarnLog(g.log),
			}
			src, err := description.Open(o.description, opts)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			enc := json.NewEncoder(out)
			enc.SetIndent("", "  ")
			enc.SetEscapeHTML(false)
			if o.listProfiles {
				profiles := src.Profiles()
				if profiles == nil {
					profiles = []description.Profile{}
				}
				if err := enc.Encode(struct {
					Image    string                `json:"image"`
					Profiles []description.Profile `json:"profiles"`
				}{src.Name(), profiles}); err != nil {
					return err
				}
			} else {
				d, err := src.Select(opts)
				if err != nil {
					return err
				}
				d = d.Redacted()
				info := imageInfo{
					Image: d.Name, Version: d.Version, DisplayName: d.DisplayName, Description: d.File,
					Profiles: d.Profiles, TargetArch: d.TargetArch, Type: d.Type, Types: d.TypeNames,
					Preferences: d.Preferences, Packages: d.Packages, Repositories: d.Repositories, Users: d.Users,
					Buildable: map[string]bool{},
				}
				for _, t := range d.TypeNames {
					info.Buildable[t] = create.Buildable(t)
				}
				if _, err := build.Plan(d, nil); err != nil {
					info.Build = err.Error()
				}
				if err := enc.Encode(info); err != nil {
					return err
				}
			}
			if o.printXML {
				_, err := out.Write(src.RedactedXML())
				return err
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&o.description, "description", "", "image description directory")
	f.BoolVar(&o.listProfiles, "list-profiles", false, "list the profiles of the description (name, description, import flag)")
	f.BoolVar(&o.printXML, "print-xml", false, "also print the processed description (includes resolved)")
	return c
}

func newImageResizeCommand(g *globals) *cobra.Command {
	var target, root, size string
	c := &cobra.Command{
		Use:   "resize --target-dir DIR --size N[KMG] [--root DIR]",
		Short: "Grow the oem disk of a build",
		Long: `resize grows the raw oem disk in the target dir (named by the description in the
root's image/, --root or DIR/build/image-root) to the size given in bytes or with K,
M or G, moves a GPT's backup to the new end (no loop device), makes the format=
image again from it and writes new .sha256 files, as KIWI's image resize does. The
partitions stay: the image's oem-resize grows the root at its next boot. A size not
larger than the disk is refused before any change.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if target == "" || size == "" {
				return fmt.Errorf("image resize needs --target-dir DIR and --size N[KMG]")
			}
			bytes, err := build.ParseSize(size)
			if err != nil {
				return err
			}
			release, err := claim(g, commandLine(), map[string]string{target: "--target-dir"}, nil)
			if err != nil {
				return err
			}
			defer release()
			o, err := buildOptions(g)
			if err != nil {
				return err
			}
			files, err := build.Resize(cmd.Context(), root, target, bytes, o)
			if err != nil {
				return err
			}
			for _, f := range files {
				g.log.Info("result", "file", f)
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&target, "target-dir", "", "the target dir of an oem build")
	f.StringVar(&size, "size", "", "the new disk size: bytes, or with K, M or G (20G)")
	f.StringVar(&root, "root", "", "the build's root tree (default: DIR/build/image-root)")
	return c
}
