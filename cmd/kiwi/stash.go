package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/kiwi-go/kiwi/oci"
	"github.com/kiwi-go/kiwi/stash"
)

func newStashCommand(g *globals) *cobra.Command {
	var o struct {
		root, name, tag, push string
		list, json, insecure  bool
	}
	c := &cobra.Command{
		Use:   "stash --root DIR [--container-name NAME] [--tag TAG] [--push REF] | --list [--json]",
		Short: "Keep a root tree as an OCI image in podman's local storage",
		Long: `stash stores the root tree DIR as the image localhost/NAME:TAG in podman's local
storage. The first stash of a name holds the whole tree; each further stash adds
one layer with only the difference to the newest stash of that name (whatever its
tag): added and changed files, and whiteouts for deleted ones. The contents of
/dev, /proc and /sys are left out. NAME defaults to the image name of
DIR/image/config.xml, TAG to "latest". SOURCE_DATE_EPOCH fixes all timestamps.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			store, err := oci.OpenStore(oci.StoreOptions{})
			if err != nil {
				return err
			}
			defer store.Close()
			if o.list {
				if o.root != "" || o.name != "" || o.tag != "" || o.push != "" {
					return fmt.Errorf("--list takes no --root, --container-name, --tag or --push")
				}
				return listStashes(cmd, store, o.json)
			}
			if o.root == "" {
				return fmt.Errorf("stash needs --root DIR (or --list)")
			}
			release, err := claim(g, commandLine(), nil, nil)
			if err != nil {
				return err
			}
			defer release()
			epoch, err := sourceDateEpoch()
			if err != nil {
				return err
			}
			res, err := stash.Stash(cmd.Context(), store, stash.Options{
				Root:            o.root,
				Name:            o.name,
				Tag:             o.tag,
				StateDir:        stash.StateDir(g.sharedCacheDir),
				TempDir:         g.tempDir,
				SourceDateEpoch: epoch,
				Push:            o.push,
				Tool:            "kiwi " + g.version,
				Copy:            oci.CopyOptions{Progress: progress(), Insecure: o.insecure},
				Log:             g.log,
			})
			if err != nil {
				return stashFlagHint(err, o.name)
			}
			g.log.Info("stashed", "image", "localhost/"+res.Name+":"+res.Tag, "id", res.ImageID[:12],
				"layers", res.Layers, "new_layer", units.HumanSize(float64(res.LayerSize)), "changed_paths", res.Changed)
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&o.root, "root", "", "root tree to stash")
	f.StringVar(&o.name, "container-name", "", "stash name (default: the image name of the root's description)")
	f.StringVar(&o.tag, "tag", "", `stash tag (default "latest")`)
	f.StringVar(&o.push, "push", "", "after stashing, copy the stash to this reference (docker://, oci:, oci-archive:, ...)")
	f.BoolVar(&o.insecure, "tls-verify-off", false, "allow plain HTTP and unverified TLS for --push (loopback registries always are)")
	f.BoolVar(&o.list, "list", false, "list the stashes")
	f.BoolVar(&o.json, "json", false, "with --list: print JSON")
	return c
}

// stashFlagHint names the flag behind a library error of stash, and the
// flag that fixes it.
func stashFlagHint(err error, name string) error {
	switch {
	case errors.Is(err, stash.ErrNotRoot):
		return fmt.Errorf("--root: %w", err)
	case errors.Is(err, stash.ErrInvalidName) && name != "":
		return fmt.Errorf("--container-name: %w", err)
	case errors.Is(err, stash.ErrInvalidName):
		return fmt.Errorf("%w: give a valid one with --container-name", err)
	case errors.Is(err, stash.ErrNoDescription):
		return fmt.Errorf("%w (--container-name)", err)
	case errors.Is(err, stash.ErrInvalidTag):
		return fmt.Errorf("--tag: %w", err)
	case errors.Is(err, stash.ErrPushReference):
		return fmt.Errorf("--push: %w", err)
	}
	return err
}

func listStashes(cmd *cobra.Command, store *oci.Store, asJSON bool) error {
	infos, err := stash.List(cmd.Context(), store)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if asJSON {
		if infos == nil {
			infos = []stash.Info{}
		}
		e := json.NewEncoder(out)
		e.SetIndent("", "  ")
		return e.Encode(infos)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tTAG\tLAYERS\tSIZE\tCREATED\tIMAGE ID")
	for _, i := range infos {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", i.Name, i.Tag, i.Layers,
			units.HumanSize(float64(i.Size)), i.Created.Local().Format("2006-01-02 15:04:05"), i.ID[:12])
	}
	return tw.Flush()
}

// sourceDateEpoch reads SOURCE_DATE_EPOCH (seconds since 1970), the
// reproducible-builds convention for fixing timestamps.
func sourceDateEpoch() (*time.Time, error) {
	v, ok := os.LookupEnv("SOURCE_DATE_EPOCH")
	if !ok || v == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return nil, fmt.Errorf("SOURCE_DATE_EPOCH=%q: give whole seconds since 1970-01-01", v)
	}
	t := time.Unix(n, 0).UTC()
	return &t, nil
}
