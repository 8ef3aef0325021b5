package build

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"gopkg.in/yaml.v3"
)

// RuntimeConfig is what this kiwi takes from KIWI's runtime config file
// (kiwi.yml): so far the compression of container images.
type RuntimeConfig struct {
	// File is the file read ("" when there is none).
	File string
	// ContainerCompress is "xz" (KIWI's default) or "none".
	ContainerCompress string
	// Unused are the top-level sections of the file this kiwi does not
	// read, for a warning.
	Unused []string
}

// RuntimeConfigFile is the runtime config KIWI would read: the given
// file, else ~/.config/kiwi/config.yml, else /etc/kiwi.yml; "" when none
// exists.
func RuntimeConfigFile(given, home string) string {
	if given != "" {
		return given
	}
	var files []string
	if home != "" {
		files = append(files, filepath.Join(home, ".config/kiwi/config.yml"))
	}
	for _, f := range append(files, "/etc/kiwi.yml") {
		if _, err := os.Stat(f); err == nil {
			return f
		}
	}
	return ""
}

// ReadRuntimeConfig reads file (KIWI's format: each section a list of
// one-key maps, e.g. "container:\n  - compress: none"). A missing file
// gives the defaults; a file that is no such YAML, or a compress value
// KIWI does not take, is an error naming the file and the setting.
func ReadRuntimeConfig(file string) (RuntimeConfig, error) {
	rc := RuntimeConfig{File: file, ContainerCompress: "xz"}
	if file == "" {
		return rc, nil
	}
	b, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return rc, fmt.Errorf("runtime config %s: %w", file, err)
	}
	if err != nil {
		return rc, err
	}
	var doc map[string][]map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return rc, fmt.Errorf("runtime config %s: %w (KIWI's format: each section is a list, e.g. \"container:\\n  - compress: none\")", file, err)
	}
	for section, entries := range doc {
		if section != "container" {
			rc.Unused = append(rc.Unused, section)
			continue
		}
		for _, e := range entries {
			v, ok := e["compress"]
			if !ok {
				continue
			}
			switch fmt.Sprint(v) {
			case "xz", "true":
				rc.ContainerCompress = "xz"
			case "none", "false":
				rc.ContainerCompress = "none"
			default:
				return rc, fmt.Errorf("runtime config %s: container: compress: %v: use xz or none", file, v)
			}
		}
	}
	slices.Sort(rc.Unused)
	return rc, nil
}
