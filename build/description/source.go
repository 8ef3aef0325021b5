package description

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// LoadOptions select what of a description is used.
type LoadOptions struct {
	// KiwiFile is the description file name inside the directory
	// (--kiwi-file); "" looks up config.xml, image/config.xml, *.kiwi.
	KiwiFile string
	// Profiles are the requested profiles (--profile); none selects the
	// profiles marked import="true".
	Profiles []string
	// Type is the requested image type (--type); "" selects the primary
	// type, else the first.
	Type string
	// TargetArch is the KIWI architecture name arch= attributes are
	// matched against; "" is the host's (x86_64, aarch64, ...).
	TargetArch string
	// Warn receives unknown elements and attributes and other things
	// that do not stop the build; nil drops them.
	Warn func(Problem)
}

// Source is a description file read, includes resolved, upgraded to the
// current schema and checked, before any profile or type is selected.
type Source struct {
	File          string
	Dir           string
	SchemaVersion string
	root          *node
}

// ErrNoDescription is the error of FindDescription (and Load) when dir
// has no description file.
var ErrNoDescription = errors.New("no description found")

// FindDescription returns the description file of dir: kiwiFile if given,
// else config.xml, else image/config.xml, else the first *.kiwi in sorted
// order. A dir that is a regular file is returned as it is.
func FindDescription(dir, kiwiFile string) (string, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return "", fmt.Errorf("description directory: %w", err)
	}
	if !st.IsDir() {
		return dir, nil
	}
	if kiwiFile != "" {
		p := filepath.Join(dir, kiwiFile)
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("description file %s not found in %s: %w", kiwiFile, dir, ErrNoDescription)
		}
		return p, nil
	}
	for _, name := range []string{"config.xml", filepath.Join("image", "config.xml")} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	matches, err := filepath.Glob(filepath.Join(dir, "*.kiwi"))
	if err != nil {
		return "", err
	}
	sort.Strings(matches)
	if len(matches) > 0 {
		return matches[0], nil
	}
	return "", fmt.Errorf("%w in %s: expected config.xml, image/config.xml or a *.kiwi file (or name the file)", ErrNoDescription, dir)
}

// Open finds the description in dir (see FindDescription), reads it,
// resolves its includes, upgrades it to the current schema (from schema
// 5.0 on, as KIWI 9.24's stylesheets do; see oldschema.go) and checks it against KIWI's schema and rules.
// Problems that make it unusable are returned as one *InvalidError
// listing each with file:line; unknown elements and attributes go to
// o.Warn. No profile or type is selected yet (see Select).
func Open(dir string, o LoadOptions) (*Source, error) {
	file, err := FindDescription(dir, o.KiwiFile)
	if err != nil {
		return nil, err
	}
	data, err := readDescriptionFile(file)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("description %s does not exist", file)
		}
		return nil, fmt.Errorf("read description: %w", err)
	}
	return parseSource(file, data, o.Warn)
}

// parseSource does Open's work on the bytes of file.
func parseSource(file string, data []byte, warn func(Problem)) (*Source, error) {
	root, err := parseTree(file, data)
	if err != nil {
		return nil, err
	}
	if root.Name != "image" {
		return nil, fmt.Errorf("%s: the root element is <%s>; a KIWI description starts with <image>", root.Pos, root.Name)
	}
	dir := filepath.Dir(file)
	// Included files are upgraded with the description, as in KIWI 9.24
	// (includes first, then the stylesheets).
	if err := resolveIncludes(root, dir); err != nil {
		return nil, err
	}
	written, err := upgradeOld(root)
	if err != nil {
		return nil, err
	}
	upgrade(root)
	p := &problems{warn: warn}
	checkSchema(root, p)
	checkRules(root, p)
	if err := p.err(file); err != nil {
		return nil, err
	}
	return &Source{File: file, Dir: dir, SchemaVersion: written, root: root}, nil
}

// Name is the <image name>.
func (s *Source) Name() string { return s.root.get("name") }

// Profiles lists every <profile> of the description in order, whatever
// its arch.
func (s *Source) Profiles() []Profile {
	var out []Profile
	for _, ps := range s.root.elements("profiles") {
		for _, p := range ps.elements("profile") {
			pr := Profile{Name: p.get("name"), Description: p.get("description"), Import: boolAttr(p, "import"), Pos: p.Pos}
			if a := p.get("arch"); a != "" {
				pr.Arch = splitList(a)
			}
			for _, r := range p.elements("requires") {
				pr.Requires = append(pr.Requires, r.get("profile"))
			}
			out = append(out, pr)
		}
	}
	return out
}

// Load is Open followed by Select: the description of dir with the
// profiles, type and architecture of o selected.
func Load(dir string, o LoadOptions) (*Description, error) {
	src, err := Open(dir, o)
	if err != nil {
		return nil, err
	}
	return src.Select(o)
}
