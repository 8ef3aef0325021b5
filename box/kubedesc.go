package box

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"
)

// ConfigMapLimit is what Kubernetes accepts in one ConfigMap: its keys and
// values together (data and binaryData, before base64) at most 1 MiB.
const ConfigMapLimit = 1 << 20

// TreeFile is the description file that carries everything a ConfigMap
// key cannot: subdirectories (the root/ overlay tree), symlinks, names a
// key may not have, and the owners and modes of all of it. The Job
// unpacks it into the description dir and removes it.
const TreeFile = "description.tree.tar"

// configMapKey is the characters Kubernetes allows in a ConfigMap key.
var configMapKey = regexp.MustCompile(`^[-._a-zA-Z0-9]+$`)

// validKey tells whether name can be a ConfigMap key and a file the Job
// copies with a glob: allowed characters, at most 253, not starting with
// ".." (the API server's rules) nor "." (the Job's cp of * skips those).
func validKey(name string) bool {
	return configMapKey.MatchString(name) && len(name) <= 253 && !strings.HasPrefix(name, ".")
}

// DescriptionFile is one file of a description as it travels with a Job:
// a ConfigMap key (or an artifact layer) of that name.
type DescriptionFile struct {
	Name string
	Data []byte
	// Mode is the file's permission bits (a ConfigMap item's mode).
	Mode fs.FileMode
	// Text files go into a ConfigMap's data (readable with kubectl),
	// the others into binaryData.
	Text bool
}

// PackDescription turns the description dir into the files a Job carries:
// each top-level regular file whose name is a valid key as it is, and
// everything else in one tar (TreeFile) that keeps owners, modes and
// links. Device nodes, sockets and FIFOs are refused: a description has
// none. The order is the names' order, so the same description gives the
// same ConfigMap.
func PackDescription(dir string) ([]DescriptionFile, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, inputError(InputDescription, "description %s: %w", dir, err)
	}
	var files []DescriptionFile
	var tree []string
	for _, e := range entries {
		name := e.Name()
		if name == TreeFile {
			return nil, inputError(InputDescription, "description %s has a file named %s, the name its Job uses for the description's tree: rename it", dir, TreeFile)
		}
		if !e.Type().IsRegular() || !validKey(name) {
			tree = append(tree, name)
			continue
		}
		p := filepath.Join(dir, name)
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, inputError(InputDescription, "description file %s: %w", p, err)
		}
		fi, err := e.Info()
		if err != nil {
			return nil, inputError(InputDescription, "description file %s: %w", p, err)
		}
		files = append(files, DescriptionFile{Name: name, Data: b, Mode: fi.Mode().Perm(), Text: utf8.Valid(b) && !bytes.ContainsRune(b, 0)})
	}
	if len(tree) > 0 {
		b, err := tarTree(dir, tree)
		if err != nil {
			return nil, err
		}
		files = append(files, DescriptionFile{Name: TreeFile, Data: b, Mode: 0o644})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	return files, nil
}

// ConfigMapSize is the size Kubernetes counts for files in a ConfigMap.
func ConfigMapSize(files []DescriptionFile) int {
	n := 0
	for _, f := range files {
		n += len(f.Name) + len(f.Data)
	}
	return n
}

// tarTree writes the entries names of dir, recursively, into a tar.
func tarTree(dir string, names []string) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, top := range names {
		err := filepath.WalkDir(filepath.Join(dir, top), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			var link string
			switch {
			case fi.Mode()&fs.ModeSymlink != 0:
				if link, err = os.Readlink(p); err != nil {
					return err
				}
			case fi.IsDir(), fi.Mode().IsRegular():
			default:
				return fmt.Errorf("%s is a %s: a description holds files, directories and links only", p, fi.Mode().Type())
			}
			h, err := tar.FileInfoHeader(fi, link)
			if err != nil {
				return err
			}
			// Numeric owners only: the box's user database is not the
			// host's.
			h.Name, h.Uname, h.Gname = filepath.ToSlash(rel), "", ""
			if fi.IsDir() {
				h.Name += "/"
			}
			if err := tw.WriteHeader(h); err != nil {
				return err
			}
			if fi.Mode().IsRegular() {
				f, err := os.Open(p)
				if err != nil {
					return err
				}
				_, err = io.Copy(tw, f)
				f.Close()
				return err
			}
			return nil
		})
		if err != nil {
			return nil, inputError(InputDescription, "description %s: pack %s for the Job: %w", dir, top, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
