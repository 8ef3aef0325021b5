package stash

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"go.podman.io/storage"

	"github.com/kiwi-go/kiwi/oci"
)

// Info describes one stash in local storage.
type Info struct {
	Name       string    `json:"name"`
	Tag        string    `json:"tag"`
	ID         string    `json:"id"`
	Layers     int       `json:"layers"`
	Size       int64     `json:"size"`
	Created    time.Time `json:"created"`
	Maintainer string    `json:"maintainer"`
}

// List returns every stash (images named localhost/NAME:TAG that carry
// the KIWI meta label), sorted by name and then newest first.
func List(ctx context.Context, store *oci.Store) ([]Info, error) {
	images, err := store.Images()
	if err != nil {
		return nil, fmt.Errorf("list local images: %w", err)
	}
	var out []Info
	for _, img := range images {
		var cfgRead bool
		var layers int
		var maintainer string
		for _, n := range img.Names {
			name, tag, ok := localName(n)
			if !ok {
				continue
			}
			if !cfgRead {
				cfg, err := store.ImageConfig(ctx, img.ID)
				if err != nil {
					return nil, err
				}
				if _, ok := cfg.Config.Labels[LabelMeta]; !ok {
					break
				}
				cfgRead = true
				layers = len(cfg.RootFS.DiffIDs)
				maintainer = cfg.Config.Labels[LabelMaintainer]
			}
			size, err := store.ImageSize(img.ID)
			if err != nil {
				size = -1
			}
			out = append(out, Info{Name: name, Tag: tag, ID: img.ID, Layers: layers, Size: size, Created: img.Created, Maintainer: maintainer})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Created.After(out[j].Created)
	})
	return out, nil
}

// localName splits "localhost/NAME:TAG" (the names stashes get).
func localName(n string) (name, tag string, ok bool) {
	rest, ok := strings.CutPrefix(n, "localhost/")
	if !ok || strings.Contains(rest, "/") || strings.Contains(rest, "@") {
		return "", "", false
	}
	return strings.Cut(rest, ":")
}

// newest is the most recent image named localhost/name:<any tag>, or nil.
// KIWI looks only at the tag being written, so a new tag starts over; a
// stash always builds on the newest image of its name.
func newest(store *oci.Store, name string) (*storage.Image, error) {
	images, err := store.Images()
	if err != nil {
		return nil, fmt.Errorf("list local images: %w", err)
	}
	var best *storage.Image
	for i := range images {
		for _, n := range images[i].Names {
			if nm, _, ok := localName(n); ok && nm == name {
				if best == nil || images[i].Created.After(best.Created) {
					best = &images[i]
				}
				break
			}
		}
	}
	return best, nil
}
