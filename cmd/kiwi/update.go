package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kiwi-go/kiwi/build"
)

func newUpdateCommand(g *globals) *cobra.Command {
	var root string
	var u build.UpdateOptions
	c := &cobra.Command{
		Use:   "update --root DIR [--add-package NAME]... [--delete-package NAME]...",
		Short: "Update the packages of a prepared root tree",
		Long: `update runs the package manager of the description prepare left in DIR/image
(apt, zypper, dnf, pacman), with that description's repositories, on the root
tree DIR: it upgrades every package, or, with --add-package and --delete-package,
installs and removes those (with what only they needed), as KIWI's system update
does. The root changes in place; its prepared image in local storage does not.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if root == "" {
				return fmt.Errorf("update needs --root DIR")
			}
			release, err := claim(g, commandLine(), map[string]string{root: "--root"}, nil)
			if err != nil {
				return err
			}
			defer release()
			o, err := buildOptions(g)
			if err != nil {
				return err
			}
			return build.Update(cmd.Context(), root, u, o)
		},
	}
	f := c.Flags()
	f.StringVar(&root, "root", "", "prepared root tree (with image/config.xml)")
	f.StringArrayVar(&u.Add, "add-package", nil, "install this package (repeatable)")
	f.StringArrayVar(&u.Delete, "delete-package", nil, "remove this package and what only it needed (repeatable)")
	return c
}
