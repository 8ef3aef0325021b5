// Package box holds kiwi's build boxes: the box configuration (which
// boxes exist, their container images and VM settings per architecture),
// the box cache (built or pulled box files with checksums, replaced
// atomically), the box descriptions kiwi ships, and the two ways a build
// runs in a box: a privileged podman container (through the podman API)
// or a QEMU VM booted straight into the box's kernel.
package box

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// ConfigEnv names a box config file that overrides every other place,
// as KIWI's boxed plugin does.
const ConfigEnv = "KIWI_BOXED_PLUGIN_CFG"

// ConfigFile is the file name looked up in ./, ~/.config/kiwi/ and /etc/.
const ConfigFile = "kiwi_boxed_plugin.yml"

//go:embed kiwi_boxed_plugin.yml
var defaultConfig []byte

// Config is the list of boxes a box config file names.
type Config struct {
	Boxes []Box `yaml:"box"`
	// Source is the file the config was read from ("built-in" for the
	// default kiwi carries).
	Source string `yaml:"-"`
}

// Box is one build box.
type Box struct {
	Name string `yaml:"name"`
	// Description names the box description kiwi ships (see
	// Descriptions) from which `kiwi box build` makes the box.
	Description string `yaml:"description"`
	// MemMB is the VM's memory in MiB (--box-memory overrides it):
	// mem_mb in MiB, or a size with a unit as the boxed plugin's own
	// config writes it ("8096M", "8G").
	MemMB MiB `yaml:"mem_mb"`
	// Processors is the VM's CPU count (--box-smp-cpus overrides it).
	Processors int `yaml:"processors"`
	// Console is the VM's console device (--box-console overrides it).
	Console string `yaml:"console"`
	Arch    []Arch `yaml:"arch"`
}

// Arch is what a box has for one architecture.
type Arch struct {
	Name string `yaml:"name"`
	// Cmdline are kernel options of the VM box.
	Cmdline []string `yaml:"cmdline"`
	// Console is the VM's console device for this arch (the box's
	// console otherwise): QEMU's -serial is ttyS0 on x86_64 and the
	// PL011 ttyAMA0 on aarch64's virt machine.
	Console string `yaml:"console"`
	// Container is an image reference (registry or any containers
	// transport) to pull the container box from; empty: the box is built
	// from its description.
	Container string `yaml:"container"`

	// The boxed plugin's download of a VM box from OBS: accepted, so its
	// config file loads unchanged, and reported as not used (kiwi builds
	// its VM boxes, or pulls the container).
	Source       string   `yaml:"source"`
	PackagesFile string   `yaml:"packages_file"`
	Boxfiles     []string `yaml:"boxfiles"`
	UseInitrd    *bool    `yaml:"use_initrd"`
}

// Unused names the settings of b that kiwi accepts from the boxed
// plugin's config but does not use, for a warning.
func (b *Box) Unused() []string {
	var out []string
	for _, a := range b.Arch {
		var keys []string
		if a.Source != "" {
			keys = append(keys, "source")
		}
		if a.PackagesFile != "" {
			keys = append(keys, "packages_file")
		}
		if len(a.Boxfiles) > 0 {
			keys = append(keys, "boxfiles")
		}
		if a.UseInitrd != nil {
			keys = append(keys, "use_initrd")
		}
		if len(keys) > 0 {
			out = append(out, fmt.Sprintf("%s (%s): %s", b.Name, a.Name, strings.Join(keys, ", ")))
		}
	}
	return out
}

// MiB is a memory size in MiB, read from a number of MiB or a size with
// a unit (K, M, G, T; an optional B or iB), as QEMU's -m takes the
// boxed plugin's mem_mb.
type MiB int

// UnmarshalYAML reads a MiB and refuses what is not a positive size.
func (m *MiB) UnmarshalYAML(n *yaml.Node) error {
	s := strings.ToUpper(strings.TrimSpace(n.Value))
	mult := 1.0
	for _, u := range []struct {
		suffix string
		mult   float64
	}{{"T", 1024 * 1024}, {"G", 1024}, {"M", 1}, {"K", 1.0 / 1024}} {
		if t, ok := strings.CutSuffix(strings.TrimSuffix(strings.TrimSuffix(s, "IB"), "B"), u.suffix); ok {
			s, mult = t, u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || v*mult < 1 {
		return fmt.Errorf("line %d: mem_mb %q: give the memory in MiB (8192) or as a size (8096M, 8G)", n.Line, n.Value)
	}
	*m = MiB(v * mult)
	return nil
}

// LoadConfig reads the box config from the first place that has one: the
// file in $KIWI_BOXED_PLUGIN_CFG, ./kiwi_boxed_plugin.yml,
// ~/.config/kiwi/kiwi_boxed_plugin.yml, /etc/kiwi_boxed_plugin.yml, else
// the built-in config.
func LoadConfig() (*Config, error) {
	if p := os.Getenv(ConfigEnv); p != "" {
		return ReadConfig(p)
	}
	places := []string{ConfigFile}
	if home, err := os.UserHomeDir(); err == nil {
		places = append(places, filepath.Join(home, ".config", "kiwi", ConfigFile))
	}
	places = append(places, filepath.Join("/etc", ConfigFile))
	for _, p := range places {
		if _, err := os.Stat(p); err == nil {
			return ReadConfig(p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("box config %s: %w", p, err)
		}
	}
	return parseConfig(defaultConfig, "built-in")
}

// ReadConfig reads one box config file.
func ReadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("box config: %w", err)
	}
	return parseConfig(b, path)
}

func parseConfig(b []byte, source string) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	// A misspelt key would silently drop a setting: refuse it.
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("box config %s: %w", source, err)
	}
	c.Source = source
	seen := map[string]bool{}
	for i, b := range c.Boxes {
		if b.Name == "" {
			return nil, fmt.Errorf("box config %s: box %d has no name", source, i+1)
		}
		if seen[b.Name] {
			return nil, fmt.Errorf("box config %s: box %q is named twice", source, b.Name)
		}
		seen[b.Name] = true
		if b.Description != "" && !HasDescription(b.Description) {
			return nil, fmt.Errorf("box config %s: box %q: kiwi ships no box description %q (it has: %s)",
				source, b.Name, b.Description, strings.Join(Descriptions(), ", "))
		}
		if len(b.Arch) == 0 {
			return nil, fmt.Errorf("box config %s: box %q lists no arch", source, b.Name)
		}
		for _, a := range b.Arch {
			if a.Container == "" && b.Description == "" {
				return nil, fmt.Errorf("box config %s: box %q (%s) has neither a container reference nor a description to build it from", source, b.Name, a.Name)
			}
		}
	}
	return &c, nil
}

// Box returns the box called name.
func (c *Config) Box(name string) (*Box, error) {
	for i := range c.Boxes {
		if c.Boxes[i].Name == name {
			return &c.Boxes[i], nil
		}
	}
	names := make([]string, 0, len(c.Boxes))
	for _, b := range c.Boxes {
		names = append(names, b.Name)
	}
	sort.Strings(names)
	return nil, fmt.Errorf("no box %q in the box config (%s); boxes: %s (kiwi system boxbuild --list-boxes)", name, c.Source, strings.Join(names, ", "))
}

// ForArch returns the box's settings for arch.
func (b *Box) ForArch(arch string) (*Arch, error) {
	var have []string
	for i := range b.Arch {
		if b.Arch[i].Name == arch {
			return &b.Arch[i], nil
		}
		have = append(have, b.Arch[i].Name)
	}
	return nil, fmt.Errorf("box %q has no %s variant (it has: %s)", b.Name, arch, strings.Join(have, ", "))
}
