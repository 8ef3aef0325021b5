package build

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// RuntimeConfig is what this kiwi takes from KIWI's runtime config file
// (kiwi.yml): the compression of container images and of bundled
// results, and xz's options.
type RuntimeConfig struct {
	// File is the file read ("" when there is none).
	File string
	// ContainerCompress is "xz" (KIWI's default) or "none".
	ContainerCompress string
	// BundleCompress is "bundle: - compress:", nil when not set (each
	// result keeps its own default).
	BundleCompress *bool
	// XZOptions is "xz: - options:" split into arguments, nil when not
	// set (xz runs with --threads=0).
	XZOptions []string
	// NoPackageChanges is "bundle: - has_package_changes: false": no
	// .changes result.
	NoPackageChanges bool
	// Unused are the sections and settings of the file this kiwi does
	// not read, for a warning.
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
		for _, e := range entries {
			for k, v := range e {
				if err := rc.set(section, k, v); err != nil {
					return rc, fmt.Errorf("runtime config %s: %s: %s: %w", file, section, k, err)
				}
			}
		}
	}
	slices.Sort(rc.Unused)
	rc.Unused = slices.Compact(rc.Unused)
	return rc, nil
}

// set applies one setting of the file; one this kiwi does not read goes
// to Unused.
func (rc *RuntimeConfig) set(section, key string, v any) error {
	switch section + "." + key {
	case "container.compress":
		switch fmt.Sprint(v) {
		case "xz", "true":
			rc.ContainerCompress = "xz"
		case "none", "false":
			rc.ContainerCompress = "none"
		default:
			return fmt.Errorf("%v: use xz or none", v)
		}
	case "bundle.compress":
		b, ok := v.(bool)
		if !ok {
			return fmt.Errorf("%v: use true or false", v)
		}
		rc.BundleCompress = &b
	case "bundle.has_package_changes":
		b, ok := v.(bool)
		if !ok {
			return fmt.Errorf("%v: use true or false", v)
		}
		rc.NoPackageChanges = !b
	case "xz.options":
		o, ok := v.(string)
		if !ok {
			return fmt.Errorf("%v: use the options as one string, e.g. \"-9 --threads=0\"", v)
		}
		rc.XZOptions = strings.Fields(o)
	default:
		rc.Unused = append(rc.Unused, section+"."+key)
	}
	return nil
}
