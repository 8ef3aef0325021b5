package box

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// descriptions are the box descriptions kiwi ships, one directory each.
//
//go:embed all:descriptions
var descriptions embed.FS

// Descriptions lists the names of the shipped box descriptions.
func Descriptions() []string {
	entries, _ := descriptions.ReadDir("descriptions")
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names
}

// HasDescription tells whether kiwi ships the box description name.
func HasDescription(name string) bool {
	fi, err := fs.Stat(descriptions, path.Join("descriptions", name))
	return err == nil && fi.IsDir()
}

// executable tells which shipped files must be executable: embedded
// files carry no mode, so the rule is written down here.
func executable(rel string) bool {
	base := path.Base(rel)
	return base == "config.sh" || base == "images.sh" || strings.HasPrefix(rel, "root/usr/lib/kiwi-box/")
}

// WriteDescription writes the shipped box description name into dir
// (which must not exist yet), ready for kiwi system build.
func WriteDescription(name, dir string) error {
	if !HasDescription(name) {
		return fmt.Errorf("kiwi ships no box description %q (it has: %s)", name, strings.Join(Descriptions(), ", "))
	}
	top := path.Join("descriptions", name)
	return fs.WalkDir(descriptions, top, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, top), "/")
		dest := filepath.Join(dir, filepath.FromSlash(rel))
		if d.IsDir() {
			return os.MkdirAll(dest, 0o755)
		}
		b, err := descriptions.ReadFile(p)
		if err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if executable(rel) {
			mode = 0o755
		}
		return os.WriteFile(dest, b, mode)
	})
}

// DescriptionDigest identifies the content of a shipped box description:
// a box built from another content is out of date.
func DescriptionDigest(name string) (string, error) {
	if !HasDescription(name) {
		return "", fmt.Errorf("kiwi ships no box description %q", name)
	}
	h := sha256.New()
	top := path.Join("descriptions", name)
	err := fs.WalkDir(descriptions, top, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := descriptions.ReadFile(p)
		if err != nil {
			return err
		}
		// WalkDir visits in lexical order: the digest is stable.
		fmt.Fprintf(h, "%s %d %v\n", strings.TrimPrefix(p, top), len(b), executable(strings.TrimPrefix(strings.TrimPrefix(p, top), "/")))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
