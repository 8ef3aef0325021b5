package fstest

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TarEntry is one header of a hand-made layer.
type TarEntry struct {
	Name, Link string
	Type       byte
	Body       string
}

// Tar builds an uncompressed layer from entries.
func Tar(entries ...TarEntry) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.Name, Linkname: e.Link, Typeflag: e.Type, Mode: 0o644}
		if e.Type == tar.TypeDir {
			h.Mode = 0o755
		}
		if e.Type == tar.TypeReg {
			h.Size = int64(len(e.Body))
		}
		if err := tw.WriteHeader(h); err != nil {
			panic(err)
		}
		if e.Type == tar.TypeReg {
			if _, err := tw.Write([]byte(e.Body)); err != nil {
				panic(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// HostileLayer is a layer that tries to leave its target, and a part of
// the error message that must refuse it.
type HostileLayer struct {
	Name    string
	Entries []TarEntry
	Want    string
}

// HostileLayers are the escapes every layer applier must refuse.
func HostileLayers() []HostileLayer {
	reg, dir, sym, link := byte(tar.TypeReg), byte(tar.TypeDir), byte(tar.TypeSymlink), byte(tar.TypeLink)
	return []HostileLayer{
		{"dot-dot name", []TarEntry{{Name: "../victim", Type: reg, Body: "pwned"}}, `".."`},
		{"dot-dot inside name", []TarEntry{{Name: "a/../../victim", Type: reg, Body: "pwned"}}, `".."`},
		{"absolute name", []TarEntry{{Name: "/etc/passwd", Type: reg, Body: "pwned"}}, "absolute"},
		{"whiteout outside", []TarEntry{{Name: "../.wh.victim", Type: reg}}, `".."`},
		{"opaque whiteout outside", []TarEntry{{Name: "../outside/.wh..wh..opq", Type: reg}}, `".."`},
		{"hardlink to dot-dot", []TarEntry{{Name: "hl", Link: "../victim", Type: link}}, "hardlink target"},
		{"hardlink to absolute", []TarEntry{{Name: "hl", Link: "/etc/passwd", Type: link}}, "hardlink target"},
		{"write through absolute symlink", []TarEntry{
			{Name: "etc", Link: "/", Type: sym},
			{Name: "etc/victim", Type: reg, Body: "pwned"},
		}, "symlink to the absolute path"},
		{"write through relative symlink out", []TarEntry{
			{Name: "up", Link: "../outside", Type: sym},
			{Name: "up/etc/passwd", Type: reg, Body: "pwned"},
		}, "out of the root"},
		{"symlink chain out", []TarEntry{
			{Name: "a", Type: dir},
			{Name: "a/l1", Link: "../l2", Type: sym},
			{Name: "l2", Link: "l3/..", Type: sym},
			{Name: "l3", Link: "..", Type: sym},
			{Name: "a/l1/victim", Type: reg, Body: "pwned"},
		}, "out of the root"},
		{"hardlink through symlinked dir", []TarEntry{
			{Name: "up", Link: "../outside", Type: sym},
			{Name: "hl", Link: "up/etc/passwd", Type: link},
		}, "out of the root"},
		{"whiteout through symlinked dir", []TarEntry{
			{Name: "up", Link: "..", Type: sym},
			{Name: "up/.wh.victim", Type: reg},
		}, "out of the root"},
		{"duplicate entry turns a directory into a symlink out", []TarEntry{
			{Name: "d", Type: dir},
			{Name: "d/ok", Type: reg, Body: "fine"},
			{Name: "d", Link: "/", Type: sym},
			{Name: "d/victim", Type: reg, Body: "pwned"},
		}, "symlink to the absolute path"},
		{"symlink loop", []TarEntry{
			{Name: "x", Link: "y", Type: sym},
			{Name: "y", Link: "x", Type: sym},
			{Name: "x/f", Type: reg, Body: "loop"},
		}, "too many symlinks"},
	}
}

// Sandbox makes a directory holding the target root ("root") and, beside
// it, files no layer may touch. It returns the box, the target and the
// state of everything outside the target.
func Sandbox(t testing.TB) (box, target string, before Tree) {
	t.Helper()
	box = t.TempDir()
	target = filepath.Join(box, "root")
	outside := filepath.Join(box, "outside")
	for _, d := range []string{target, filepath.Join(outside, "etc")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{filepath.Join(outside, "etc", "passwd"), filepath.Join(box, "victim")} {
		if err := os.WriteFile(f, []byte("precious\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	before, err := Scan(box, "root")
	if err != nil {
		t.Fatal(err)
	}
	return box, target, before
}

// AssertUntouched fails when anything in box outside the target changed.
func AssertUntouched(t testing.TB, box string, before Tree) {
	t.Helper()
	after, err := Scan(box, "root")
	if err != nil {
		t.Fatal(err)
	}
	// The target directory itself may change (entries inside it).
	if d := Diff(before, after, "root", "."); len(d) > 0 {
		t.Fatalf("layer changed the world outside the target:\n%s", strings.Join(d, "\n"))
	}
}
