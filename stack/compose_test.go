package stack

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/opencontainers/umoci/oci/layer"
	"go.podman.io/storage/pkg/reexec"

	"github.com/kiwi-go/kiwi/internal/fstest"
	"github.com/kiwi-go/kiwi/oci"
)

// TestMain lets containers-storage re-execute the test binary to apply
// layers in a chroot, as it does with kiwi itself.
func TestMain(m *testing.M) {
	if reexec.Init() {
		return
	}
	os.Exit(m.Run())
}

// entry is one header of a hand-made layer, with a fixed mtime so the
// two ways of composing can be compared exactly.
type entry struct {
	name, link string
	typ        byte
	body       string
	mode       int64
	uid        int
}

func layerTar(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: e.mode, Uid: e.uid, ModTime: mtime, Format: tar.FormatPAX}
		if h.Mode == 0 {
			h.Mode = 0o644
			if e.typ == tar.TypeDir {
				h.Mode = 0o755
			}
		}
		if e.typ == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestComposeFromStorageDirsMatchesLayerTars composes one stack twice:
// from OCI layouts (every layer tar unpacked in turn) and from the same
// images in overlay storage (the union planned over the layer
// directories, each path copied once). Both roots and both overwrite
// reports must be equal: every file kind and all metadata (fstest's
// sample root), whiteouts and opaque directories within an image, and
// across images overwrites, type changes and hardlinks split by an
// overwrite.
func TestComposeFromStorageDirsMatchesLayerTars(t *testing.T) {
	if !fstest.IsRoot() {
		t.Skip("needs root (overlay storage, device nodes, owners)")
	}
	ctx := context.Background()
	base := t.TempDir()
	sample := filepath.Join(base, "sample")
	if err := os.Mkdir(sample, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := fstest.SampleRoot(sample); err != nil {
		t.Fatal(err)
	}
	rc := layer.GenerateInsertLayer(sample, ".", false, &layer.RepackOptions{})
	sampleTar, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	d, r, l, wh := byte(tar.TypeDir), byte(tar.TypeReg), byte(tar.TypeSymlink), byte(tar.TypeReg)
	images := [][][]byte{
		{ // a: the sample root, then a layer that deletes and hides
			sampleTar,
			layerTar(t,
				entry{name: "etc", typ: d},
				entry{name: "etc/.wh.shadow", typ: wh},
				entry{name: "etc/os-release", typ: r, body: "ID=a\n"},
				entry{name: "var", typ: d},
				entry{name: "var/lib", typ: d, mode: 0o750},
				entry{name: "var/lib/.wh..wh..opq", typ: wh},
				entry{name: "var/lib/only-a", typ: r, body: "a"},
				entry{name: "opt", typ: d, mode: 0o711},
				entry{name: "opt/a", typ: r, body: "a", uid: 7},
			),
		},
		{ // b: overwrites, type changes, and whiteouts of its own files only
			layerTar(t,
				entry{name: "usr", typ: d},
				entry{name: "usr/bin", typ: d},
				entry{name: "usr/bin/su", typ: r, body: "b's su", mode: 0o4755},
				entry{name: "home", typ: d},
				entry{name: "home/user", typ: r, body: "now a file"},
				entry{name: "opt", typ: d, mode: 0o755},
				entry{name: "opt/a", typ: d},
				entry{name: "opt/a/inside", typ: r, body: "b"},
				entry{name: "opt/b-link", typ: l, link: "a/inside"},
				entry{name: "opt/b-gone", typ: r, body: "b"},
				entry{name: "var", typ: d},
				entry{name: "var/lib", typ: d},
				entry{name: "var/lib/big.bin", typ: l, link: "only-a"},
			),
			layerTar(t,
				entry{name: "opt", typ: d},
				entry{name: "opt/.wh.b-gone", typ: wh},
				entry{name: "var", typ: d},
				entry{name: "var/lib", typ: d},
				entry{name: "var/lib/.wh.only-a", typ: wh},
			),
		},
		{ // c: a small image on top
			layerTar(t,
				entry{name: "etc", typ: d},
				entry{name: "etc/hostname", typ: r, body: "c\n"},
				entry{name: "etc/shared-notes", typ: r, body: "group and others write here", mode: 0o666},
				entry{name: "opt", typ: d},
				entry{name: "opt/b-link", typ: r, body: "c replaced a symlink"},
			),
		},
	}

	store, err := oci.OpenStore(oci.StoreOptions{GraphRoot: filepath.Join(base, "graph"), RunRoot: filepath.Join(base, "run"), Driver: "overlay"})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var layouts, stored []string
	for i, layers := range images {
		name := string(rune('a' + i))
		path, _ := fstest.OCILayout(t, filepath.Join(base, "layout-"+name), "1", layers...)
		layouts = append(layouts, "oci:"+path+":1")
		stored = append(stored, "containers-storage:localhost/"+name+":1")
		src, err := store.ParseReference(layouts[i])
		if err != nil {
			t.Fatal(err)
		}
		dst, err := store.ParseReference(stored[i])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := oci.Copy(ctx, src, dst, oci.CopyOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	refs := make([]oci.ImageRef, len(stored))
	for i, s := range stored {
		if refs[i], err = store.ParseReference(s); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok, err := layerDirs(store, refs); !ok || err != nil {
		t.Fatalf("overlay storage offers no layer directories (ok=%v): %v", ok, err)
	}

	// The blob path (a store without layer directories) reads the
	// layouts where they are.
	layoutRefs := make([]oci.ImageRef, len(layouts))
	for i, l := range layouts {
		if layoutRefs[i], err = store.ParseReference(l); err != nil {
			t.Fatal(err)
		}
	}
	fromTars := filepath.Join(base, "from-tars")
	repTars, err := compose(ctx, Options{Stashes: layouts}, layoutRefs, fromTars)
	if err != nil {
		t.Fatal(err)
	}
	// Given to Compose, the layouts are copied into storage first and
	// composed from its layer directories.
	fromImport := filepath.Join(base, "from-import")
	repImport, err := Compose(ctx, store, Options{Stashes: layouts, Root: fromImport})
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range layouts {
		if refs, err := resolveAll(ctx, store, Options{Stashes: []string{l}}); err != nil || refs[0].Transport().Name() != "containers-storage" {
			t.Errorf("layout %d resolves to %v (%v), want an image in local storage", i, refs, err)
		}
	}
	fromDirs := filepath.Join(base, "from-dirs")
	repDirs, err := Compose(ctx, store, Options{Stashes: stored, Root: fromDirs})
	if err != nil {
		t.Fatal(err)
	}
	want, err := fstest.Scan(fromTars)
	if err != nil {
		t.Fatal(err)
	}
	got, err := fstest.Scan(fromDirs)
	if err != nil {
		t.Fatal(err)
	}
	if diff := fstest.Diff(want, got, "."); len(diff) > 0 {
		t.Errorf("composed from storage directories differs from composed from layer tars:\n%s", bytes.Join(toBytes(diff), []byte("\n")))
	}
	imported, err := fstest.Scan(fromImport)
	if err != nil {
		t.Fatal(err)
	}
	if diff := fstest.Diff(want, imported, "."); len(diff) > 0 {
		t.Errorf("composed from imported layouts differs from composed from layer tars:\n%s", bytes.Join(toBytes(diff), []byte("\n")))
	}
	slices.Sort(repTars.Overwritten)
	if !slices.Equal(repTars.Overwritten, repDirs.Overwritten) || !slices.Equal(repTars.Overwritten, repImport.Overwritten) {
		t.Errorf("overwrite reports differ:\n tars: %v\n dirs: %v\n imported: %v", repTars.Overwritten, repDirs.Overwritten, repImport.Overwritten)
	}
	// Spot checks of the union rules themselves.
	for p, want := range map[string]string{
		"etc/os-release":     "ID=a\n",               // a's second layer
		"usr/lib/os-release": "ID=sample\n",          // its hardlink keeps the old inode
		"usr/bin/su":         "b's su",               // b overwrote
		"usr/bin/su-hard":    "#!/bin/sh\necho su\n", // split from su by the overwrite
		"opt/a/inside":       "b",                    // b turned a file into a directory
		"opt/b-link":         "c replaced a symlink",
		"home/user":          "now a file",
		"etc/hostname":       "c\n",
	} {
		if b, err := os.ReadFile(filepath.Join(fromDirs, p)); err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", p, b, err, want)
		}
	}
	for _, p := range []string{"etc/shadow", "opt/b-gone", "var/lib/null-copy"} {
		if _, err := os.Lstat(filepath.Join(fromDirs, p)); err == nil {
			t.Errorf("%s is there; a whiteout or opaque directory of its own image removed it", p)
		}
	}
	// b's whiteout of only-a was not b's own file: a's copy stays.
	if b, err := os.ReadFile(filepath.Join(fromDirs, "var/lib/only-a")); err != nil || string(b) != "a" {
		t.Errorf("var/lib/only-a = %q, %v; a later image's whiteout must not delete an earlier image's file", b, err)
	}
}

func toBytes(lines []string) [][]byte {
	out := make([][]byte, len(lines))
	for i, l := range lines {
		out[i] = []byte(l)
	}
	return out
}
