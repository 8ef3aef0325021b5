// Package result reads and writes kiwi.result.json, the record of what a
// build made, and lists and bundles those results as KIWI's
// `result list` and `result bundle` do.
package result

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// FileName is the record's name in a target dir.
const FileName = "kiwi.result.json"

// pickleName is KIWI NG's own record (a Python pickle), which this kiwi
// cannot read.
const pickleName = "kiwi.result"

// formatKey is KIWI's entry for the bundle_format pattern and its tags,
// next to the files.
const formatKey = "bundle_format"

// File is one result file with KIWI's flags for result bundle.
type File struct {
	Filename string `json:"filename"`
	// Compress: bundle xz-compresses the file.
	Compress bool `json:"compress"`
	// Shasum: the file has a .sha256 (and, bundled, a zsync file).
	Shasum bool `json:"shasum"`
	// Bundle: result bundle copies it.
	Bundle bool `json:"use_for_bundle"`
}

// Tags are what the placeholders of a bundle_format pattern stand for,
// under KIWI's letters: %N name, %P profiles joined by "_", %A arch, %T
// the type's image= value, %M %m %p the version's major, minor and
// patch, %v the whole version; %I (the bundle id) is given to Bundle.
type Tags struct {
	Name     string `json:"N"`
	Profiles string `json:"P"`
	Arch     string `json:"A"`
	ID       string `json:"I"`
	Type     string `json:"T"`
	Major    string `json:"M"`
	Minor    string `json:"m"`
	Patch    string `json:"p"`
	Version  string `json:"v"`
}

// NewTags are the tags of an image, the version split as KIWI 10 does
// (at most three parts; "1" has no minor and patch).
func NewTags(name, version, arch, image string, profiles []string) Tags {
	parts := append(strings.SplitN(version, ".", 3), "", "")
	return Tags{Name: name, Profiles: strings.Join(profiles, "_"), Arch: arch, Type: image,
		Major: parts[0], Minor: parts[1], Patch: parts[2], Version: version}
}

// Format is KIWI's bundle_format entry: the type's pattern ("" for the
// default naming) and the image's tags. This kiwi always writes it, so
// a bundle knows the image's name and version.
type Format struct {
	Pattern string `json:"pattern"`
	Tags    Tags   `json:"tags"`
}

// Results is a target dir's kiwi.result.json: the result files by key
// and the bundle format.
type Results struct {
	Files  map[string]File
	Format Format
}

// Keys are the keys of the files, sorted (KIWI's order).
func (r *Results) Keys() []string {
	keys := make([]string, 0, len(r.Files))
	for k := range r.Files {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// MarshalJSON writes KIWI's shape: one object, the files and
// bundle_format side by side.
func (r Results) MarshalJSON() ([]byte, error) {
	m := map[string]any{formatKey: r.Format}
	for k, f := range r.Files {
		m[k] = f
	}
	return json.Marshal(m)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (r *Results) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	r.Files = map[string]File{}
	for k, v := range m {
		if k == formatKey {
			if err := json.Unmarshal(v, &r.Format); err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
			continue
		}
		var f File
		if err := json.Unmarshal(v, &f); err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
		r.Files[k] = f
	}
	return nil
}

// Write writes r as dir's kiwi.result.json.
func (r Results) Write(dir string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, FileName), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", FileName, err)
	}
	return nil
}

// Read reads target's kiwi.result.json. A target dir KIWI NG made (its
// kiwi.result pickle, a record without this kiwi's tags) or one without
// any record is an error saying what to do.
func Read(target string) (*Results, error) {
	file := filepath.Join(target, FileName)
	b, err := os.ReadFile(file)
	_, perr := os.Stat(filepath.Join(target, pickleName))
	switch {
	case errors.Is(err, fs.ErrNotExist) && perr == nil:
		return nil, fmt.Errorf("%s holds KIWI NG's kiwi.result (a Python pickle) and no %s: bundle it with kiwi-ng, or build it again with this kiwi", target, FileName)
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("no result information %s found: is %s the --target-dir of a kiwi system build or create?", file, target)
	case err != nil:
		return nil, err
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if r.Format.Tags.Name == "" {
		if perr == nil {
			return nil, fmt.Errorf("%s was written by KIWI NG (its kiwi.result is a Python pickle, which this kiwi cannot read): bundle it with kiwi-ng, or build it again with this kiwi", file)
		}
		return nil, fmt.Errorf("%s names no image (no bundle_format tags): build it again with this kiwi", file)
	}
	return &r, nil
}

// Locate is where f is now: its recorded path, or, when the target dir
// was moved since, the file of that name in target.
func Locate(f File, target string) string {
	if _, err := os.Stat(f.Filename); err == nil {
		return f.Filename
	}
	if moved := filepath.Join(target, filepath.Base(f.Filename)); moved != f.Filename {
		if _, err := os.Stat(moved); err == nil {
			return moved
		}
	}
	return f.Filename
}
