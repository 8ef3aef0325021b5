package description

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// resolveIncludes replaces every <include from=.../> child of the root
// <image> by the element children of the included file's <image>, in
// place. Included files may not include again. this:// paths are
// relative to dir and must stay inside it; file:///abs and absolute plain
// paths are taken as they are; file://rel and relative plain paths are
// relative to dir. Errors name the <include> as file:line.
func resolveIncludes(root *node, dir string) error {
	var out []*node
	for _, c := range root.Children {
		if c.Name != "include" {
			out = append(out, c)
			continue
		}
		from, ok := c.attr("from")
		if !ok || strings.TrimSpace(from) == "" {
			return fmt.Errorf("%s: <include> needs a from attribute", c.Pos)
		}
		path, err := includePath(from, dir)
		if err != nil {
			return fmt.Errorf("%s: include %q: %w", c.Pos, from, err)
		}
		data, err := readDescriptionFile(path)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("%s: include %q: file %s does not exist", c.Pos, from, path)
			}
			return fmt.Errorf("%s: include %q: %w", c.Pos, from, err)
		}
		inc, err := parseTree(path, data)
		if err != nil {
			return fmt.Errorf("%s: include %q: %w", c.Pos, from, err)
		}
		if inc.Name != "image" {
			return fmt.Errorf("%s: include %q: %s: the included content must be inside an <image> root element, found <%s>", c.Pos, from, inc.Pos, inc.Name)
		}
		for _, ic := range inc.Children {
			if ic.Name == "include" {
				return fmt.Errorf("%s: <include> inside an included file is not supported (included from %s)", ic.Pos, c.Pos)
			}
			out = append(out, ic)
		}
	}
	root.Children = out
	return nil
}

// includePath maps an include reference to a file path.
func includePath(from, dir string) (string, error) {
	switch {
	case strings.HasPrefix(from, "this://"):
		rel := strings.TrimPrefix(from, "this://")
		if filepath.IsAbs(rel) {
			return "", errors.New("this:// takes a path relative to the description directory")
		}
		p := filepath.Join(dir, rel)
		if !within(dir, p) {
			return "", errors.New("this:// path leaves the description directory")
		}
		// A symlink inside the description may still point outside.
		if real, err := filepath.EvalSymlinks(p); err == nil {
			if realDir, err := filepath.EvalSymlinks(dir); err == nil && !within(realDir, real) {
				return "", errors.New("this:// path leaves the description directory (through a symlink)")
			}
		}
		return p, nil
	case strings.HasPrefix(from, "file://"):
		p := strings.TrimPrefix(from, "file://")
		if p == "" {
			return "", errors.New("empty file:// path")
		}
		if filepath.IsAbs(p) {
			return filepath.Clean(p), nil
		}
		return filepath.Join(dir, p), nil
	case strings.Contains(from, "://"):
		return "", errors.New("only this://, file:// and plain paths can be included")
	case filepath.IsAbs(from):
		return filepath.Clean(from), nil
	default:
		return filepath.Join(dir, from), nil
	}
}

// within reports whether p is dir or below it, lexically.
func within(dir, p string) bool {
	rel, err := filepath.Rel(filepath.Clean(dir), filepath.Clean(p))
	if err != nil {
		return false
	}
	return rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// readDescriptionFile reads a description or include file: a regular file
// of at most maxDescriptionSize bytes (never a device or a FIFO).
func readDescriptionFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxDescriptionSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxDescriptionSize {
		return nil, fmt.Errorf("%s is larger than %d MiB", path, maxDescriptionSize>>20)
	}
	return data, nil
}
