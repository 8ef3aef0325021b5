package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kiwi-go/kiwi/build"
)

func newImageCommand(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "image",
		Short: "Inspect image descriptions",
	}
	c.AddCommand(newImageInfoCommand(g))
	return c
}

// imageInfo is what `kiwi image info` prints.
type imageInfo struct {
	Image        string                     `json:"image"`
	Version      string                     `json:"version"`
	DisplayName  string                     `json:"displayname,omitempty"`
	Description  string                     `json:"description_file"`
	Profiles     []string                   `json:"profiles"`
	TargetArch   string                     `json:"target_arch"`
	Type         build.Type                 `json:"type"`
	Types        []string                   `json:"types"`
	Preferences  build.Preferences          `json:"preferences"`
	Packages     map[string]*build.Packages `json:"packages"`
	Repositories []build.Repository         `json:"repositories"`
	Users        []build.User               `json:"users"`
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
attributes, the packages per section, the repositories and the users as JSON.
--list-profiles prints the profiles of the description instead; --print-xml prints
the processed description (includes resolved) after the JSON.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.description == "" {
				return fmt.Errorf("image info needs --description DIR")
			}
			opts := build.LoadOptions{
				KiwiFile: g.kiwiFile, Profiles: g.profiles, Type: g.types,
				TargetArch: g.targetArch, Warn: build.WarnLog(g.log),
			}
			src, err := build.Open(o.description, opts)
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
					profiles = []build.Profile{}
				}
				if err := enc.Encode(struct {
					Image    string          `json:"image"`
					Profiles []build.Profile `json:"profiles"`
				}{src.Name(), profiles}); err != nil {
					return err
				}
			} else {
				d, err := src.Select(opts)
				if err != nil {
					return err
				}
				if err := enc.Encode(imageInfo{
					Image: d.Name, Version: d.Version, DisplayName: d.DisplayName, Description: d.File,
					Profiles: d.Profiles, TargetArch: d.TargetArch, Type: d.Type, Types: d.TypeNames,
					Preferences: d.Preferences, Packages: d.Packages, Repositories: d.Repositories, Users: d.Users,
				}); err != nil {
					return err
				}
			}
			if o.printXML {
				_, err := out.Write(src.XML())
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
