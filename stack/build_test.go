package stack

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/kiwi-go/kiwi/build"
	"github.com/kiwi-go/kiwi/internal/fstest"
	"github.com/kiwi-go/kiwi/oci"
	"github.com/kiwi-go/kiwi/stash"
)

// descXML is a description of image type typ.
func descXML(typ string) string {
	return `<?xml version="1.0" encoding="utf-8"?>
<image schemaversion="7.5" name="carried">
    <description type="system">
        <author>stack tests</author>
        <contact>c</contact>
        <specification>s</specification>
    </description>
    <preferences>
        <version>1.0.0</version>
        <packagemanager>apt</packagemanager>
        <type image="` + typ + `"/>
    </preferences>
    <packages type="bootstrap">
        <package name="base-files"/>
    </packages>
</image>
`
}

// Layers of the test images: a plain root, and one that carries a
// description kiwi cannot build (tbz), refused by the plan.
func plainLayer(t *testing.T) []byte {
	return layerTar(t,
		entry{name: "etc", typ: tar.TypeDir},
		entry{name: "etc/os-release", typ: tar.TypeReg, body: "ID=plain\n"},
		entry{name: "usr", typ: tar.TypeDir},
		entry{name: "usr/big", typ: tar.TypeReg, body: strings.Repeat("x", 1<<16)},
	)
}

func describedLayer(t *testing.T, typ string) []byte {
	return layerTar(t,
		entry{name: "image", typ: tar.TypeDir},
		entry{name: "image/config.xml", typ: tar.TypeReg, body: descXML(typ)},
	)
}

// testEnv is a private store (no podman) and a log to look into.
type testEnv struct {
	base  string
	store *oci.Store
	log   *bytes.Buffer
}

func newTestEnv(t *testing.T, driver string) *testEnv {
	t.Helper()
	if !fstest.IsRoot() {
		t.Skip("needs root (storage, owners)")
	}
	base := t.TempDir()
	store, err := oci.OpenStore(oci.StoreOptions{GraphRoot: filepath.Join(base, "graph"), RunRoot: filepath.Join(base, "run"), Driver: driver})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return &testEnv{base: base, store: store, log: &bytes.Buffer{}}
}

// layout writes an OCI layout of layers and returns its reference.
func (e *testEnv) layout(t *testing.T, name string, layers ...[]byte) string {
	t.Helper()
	path, _ := fstest.OCILayout(t, filepath.Join(e.base, "layout-"+name), "1", layers...)
	return "oci:" + path + ":1"
}

// stored puts an image of layers into the store as localhost/name:1 and
// returns the name as a stash is given.
func (e *testEnv) stored(t *testing.T, name string, layers ...[]byte) string {
	t.Helper()
	src, err := e.store.ParseReference(e.layout(t, name, layers...))
	if err != nil {
		t.Fatal(err)
	}
	dst, err := e.store.ParseReference("containers-storage:localhost/" + name + ":1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oci.Copy(context.Background(), src, dst, oci.CopyOptions{}); err != nil {
		t.Fatal(err)
	}
	return name + ":1"
}

func (e *testEnv) build(ctx context.Context, target string, stashes ...string) (*BuildResult, error) {
	return Build(ctx, e.store, BuildOptions{
		Stashes: stashes, TargetDir: target,
		Build: build.Options{Log: slog.New(slog.NewTextHandler(e.log, nil))},
		Log:   slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
}

// assertNothingComposed checks that a refused build made nothing: no target
// dir when there was none, and no composing.
func (e *testEnv) assertNothingComposed(t *testing.T, target string) {
	t.Helper()
	if _, err := os.Lstat(target); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the target dir %s is there after a refused build (%v)", target, err)
	}
	if strings.Contains(e.log.String(), "stack composed") {
		t.Errorf("composed before refusing:\n%s", e.log)
	}
}

// TestBuildRefusesStackWithoutDescription: a stack none of whose images
// carries a description, built without one, is refused before anything
// is composed, naming the images; from storage's layer directories and
// from layer tars alike.
func TestBuildRefusesStackWithoutDescription(t *testing.T) {
	e := newTestEnv(t, "overlay")
	ctx := context.Background()
	// In a higher layer of the same image, a whiteout hides the
	// description of a lower one.
	hidden := layerTar(t, entry{name: "image", typ: tar.TypeDir}, entry{name: "image/.wh.config.xml", typ: tar.TypeReg})
	for name, stashes := range map[string][]string{
		"storage": {e.stored(t, "plain", plainLayer(t)), e.stored(t, "hidden", describedLayer(t, "tbz"), hidden)},
		"layouts": {e.layout(t, "plain-tars", plainLayer(t)), e.layout(t, "hidden-tars", describedLayer(t, "tbz"), hidden)},
	} {
		t.Run(name, func(t *testing.T) {
			e.log.Reset()
			target := filepath.Join(e.base, "target-"+name)
			_, err := e.build(ctx, target, stashes...)
			if !errors.Is(err, ErrNoDescription) {
				t.Fatalf("err = %v, want ErrNoDescription", err)
			}
			for _, s := range stashes {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("%q does not name %s", err, s)
				}
			}
			e.assertNothingComposed(t, target)
		})
	}
}

// TestBuildPlansCarriedDescriptionBeforeComposing: a description read from
// storage's layer directories is planned before composing, so a type kiwi
// cannot build is refused with nothing written.
func TestBuildPlansCarriedDescriptionBeforeComposing(t *testing.T) {
	e := newTestEnv(t, "overlay")
	// The upper image's description wins over the lower one's.
	lower := e.stored(t, "lower", plainLayer(t), describedLayer(t, "oem"))
	upper := e.stored(t, "upper", describedLayer(t, "tbz"))
	target := filepath.Join(e.base, "target")
	_, err := e.build(context.Background(), target, lower, upper)
	if err == nil || !strings.Contains(err.Error(), `does not build image type "tbz"`) || !strings.Contains(err.Error(), upper) {
		t.Fatalf("err = %v, want the plan's refusal of tbz naming %s", err, upper)
	}
	e.assertNothingComposed(t, target)
}

// TestBuildRollsBackWhenCreateFails: layer tars cannot be looked into
// cheaply for a plan (a store without layer directories, vfs, reads OCI
// layouts where they are), so the carried description is planned after
// composing; when that fails, the composed root and the directories made
// for it go, and the target dir keeps what it had.
func TestBuildRollsBackWhenCreateFails(t *testing.T) {
	e := newTestEnv(t, "vfs")
	stack := []string{e.layout(t, "base", plainLayer(t)), e.layout(t, "desc", describedLayer(t, "tbz"))}
	target := filepath.Join(e.base, "target")
	if err := os.MkdirAll(filepath.Join(target, "keep"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := e.build(context.Background(), target, stack...)
	if err == nil || !strings.Contains(err.Error(), `does not build image type "tbz"`) {
		t.Fatalf("err = %v, want the plan's refusal of tbz", err)
	}
	if !strings.Contains(e.log.String(), "stack composed") {
		t.Fatalf("the stack was not composed:\n%s", e.log)
	}
	entries, _ := os.ReadDir(target)
	if len(entries) != 1 || entries[0].Name() != "keep" {
		t.Errorf("target dir after a failed build holds %v, want just keep", entries)
	}

	// A new target dir goes altogether, also when interrupted.
	fresh := filepath.Join(e.base, "fresh", "target")
	if _, err := e.build(context.Background(), fresh, stack...); err == nil {
		t.Fatal("built a tbz")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.build(ctx, fresh, stack...); err == nil {
		t.Fatal("a cancelled build succeeded")
	}
	if _, err := os.Lstat(filepath.Join(e.base, "fresh")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("directories made for a failed build stay (%v)", err)
	}
}

// TestBuildComposeOnly composes a stack without a description, reports
// it and keeps the root.
func TestBuildComposeOnly(t *testing.T) {
	e := newTestEnv(t, "overlay")
	stashes := []string{e.stored(t, "a", plainLayer(t)), e.stored(t, "b", layerTar(t, entry{name: "etc", typ: tar.TypeDir}, entry{name: "etc/os-release", typ: tar.TypeReg, body: "ID=b\n"}))}
	target := filepath.Join(e.base, "target")
	res, err := Build(context.Background(), e.store, BuildOptions{Stashes: stashes, TargetDir: target, ComposeOnly: true, Log: slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	if res.Root != build.Root(target) || len(res.Report.Overwritten) != 1 || len(res.Results) != 0 {
		t.Errorf("result %+v, report %+v", res, res.Report)
	}
	if b, err := os.ReadFile(filepath.Join(res.Root, "etc/os-release")); err != nil || string(b) != "ID=b\n" {
		t.Errorf("etc/os-release = %q, %v", b, err)
	}
	for _, want := range []string{"stack composed", "overwritten_files=1", "path=etc/os-release"} {
		if !strings.Contains(e.log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, e.log)
		}
	}
}

// TestFindDescriptionByStashLabel: with a driver that keeps no layer
// directories, a kiwi stash of a root with a description is known by its
// label, with no layer read; a stash without one (named, from a root
// without image/config.xml) has an empty maintainer, and its layers are
// read and found without a description.
func TestFindDescriptionByStashLabel(t *testing.T) {
	e := newTestEnv(t, "vfs")
	ctx := context.Background()
	mkroot := func(name string, files map[string]string) string {
		root := filepath.Join(e.base, name)
		for p, body := range files {
			if err := os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(root, p), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return root
	}
	so := stash.Options{StateDir: filepath.Join(e.base, "state"), TempDir: e.base}
	for _, s := range []struct{ name, root string }{
		{"plain", mkroot("plain", map[string]string{"etc/os-release": "ID=plain\n"})},
		{"described", mkroot("described", map[string]string{"image/config.xml": descXML("tbz")})},
	} {
		o := so
		o.Root, o.Name = s.root, s.name
		if _, err := stash.Stash(ctx, e.store, o); err != nil {
			t.Fatal(err)
		}
	}
	find := func(stashes ...string) (*carried, error) {
		e.log.Reset()
		o := Options{Stashes: stashes, Log: slog.New(slog.NewTextHandler(e.log, nil))}
		refs, err := resolveAll(ctx, e.store, o)
		if err != nil {
			t.Fatal(err)
		}
		return findDescription(ctx, e.store, refs, o)
	}
	c, err := find("plain", "described")
	if err != nil || c == nil || c.Image != "described" || c.Dir != "" {
		t.Errorf("find(plain, described) = %+v, %v; want it in described, not planned before composing", c, err)
	}
	if strings.Contains(e.log.String(), "looking for image/config.xml") {
		t.Errorf("layers read for a labelled stash:\n%s", e.log)
	}
	if c, err := find("plain"); !errors.Is(err, ErrNoDescription) || !strings.Contains(e.log.String(), "looking for image/config.xml") {
		t.Errorf("find(plain) = %+v, %v; want ErrNoDescription from its layers (log: %s)", c, err, e.log)
	}
}

// TestDescriptionLayer: the layer whose image/config.xml an image shows,
// honouring overlay's whiteouts and opaque directories and
// fuse-overlayfs's AUFS names in higher layers.
func TestDescriptionLayer(t *testing.T) {
	if !fstest.IsRoot() {
		t.Skip("needs root (whiteout device nodes, trusted xattrs)")
	}
	base := t.TempDir()
	n := 0
	layer := func(setup func(dir string) error) string {
		n++
		dir := filepath.Join(base, string(rune('a'+n)))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := setup(dir); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	write := func(rel, body string) func(string) error {
		return func(dir string) error {
			p := filepath.Join(dir, rel)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			return os.WriteFile(p, []byte(body), 0o644)
		}
	}
	whiteout := func(rel string) func(string) error {
		return func(dir string) error {
			p := filepath.Join(dir, rel)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			return unix.Mknod(p, unix.S_IFCHR, 0)
		}
	}
	opaque := func(dir string) error {
		if err := os.Mkdir(filepath.Join(dir, "image"), 0o755); err != nil {
			return err
		}
		return unix.Setxattr(filepath.Join(dir, "image"), "trusted.overlay.opaque", []byte("y"), 0)
	}
	desc := layer(write("image/config.xml", "<image/>"))
	other := layer(write("etc/hostname", "x"))
	otherImage := layer(write("image/config.sh", "true"))
	for _, c := range []struct {
		name   string
		layers []string
		want   string
	}{
		{"none", []string{other}, ""},
		{"bottom", []string{desc, other, otherImage}, desc},
		{"top", []string{other, desc}, desc},
		{"whiteout", []string{desc, layer(whiteout("image/config.xml"))}, ""},
		{"whiteout of image", []string{desc, layer(whiteout("image"))}, ""},
		{"aufs whiteout", []string{desc, layer(write("image/.wh.config.xml", ""))}, ""},
		{"aufs whiteout of image", []string{desc, layer(write(".wh.image", ""))}, ""},
		{"aufs opaque", []string{desc, layer(write("image/.wh..wh..opq", ""))}, ""},
		{"opaque", []string{desc, layer(opaque)}, ""},
		{"image is a file", []string{desc, layer(write("image", "a file"))}, ""},
		{"whiteout below", []string{layer(whiteout("image/config.xml")), desc}, desc},
	} {
		got, err := descriptionLayer(c.layers)
		if err != nil || got != c.want {
			t.Errorf("%s: descriptionLayer = %q, %v; want %q", c.name, got, err, c.want)
		}
	}
}

// TestLayerDescription: the same rules for layer tars.
func TestLayerDescription(t *testing.T) {
	d, r := byte(tar.TypeDir), byte(tar.TypeReg)
	desc := layerTar(t, entry{name: "image", typ: d}, entry{name: "image/config.xml", typ: r, body: "<image/>"})
	other := layerTar(t, entry{name: "etc", typ: d}, entry{name: "etc/hostname", typ: r, body: "x"})
	for _, c := range []struct {
		name   string
		layers [][]byte
		want   bool
	}{
		{"none", [][]byte{other}, false},
		{"bottom", [][]byte{desc, other}, true},
		{"whiteout", [][]byte{desc, layerTar(t, entry{name: "image", typ: d}, entry{name: "image/.wh.config.xml", typ: r})}, false},
		{"whiteout of image", [][]byte{desc, layerTar(t, entry{name: ".wh.image", typ: r})}, false},
		{"opaque", [][]byte{desc, layerTar(t, entry{name: "image", typ: d}, entry{name: "image/.wh..wh..opq", typ: r})}, false},
		{"opaque, then added", [][]byte{desc, layerTar(t, entry{name: "image", typ: d}, entry{name: "image/.wh..wh..opq", typ: r}, entry{name: "image/config.xml", typ: r, body: "<image/>"})}, true},
		{"a directory", [][]byte{layerTar(t, entry{name: "image/config.xml", typ: d})}, false},
		{"dot slash", [][]byte{layerTar(t, entry{name: "./image/config.xml", typ: r})}, true},
	} {
		has := false
		for _, l := range c.layers {
			var err error
			if has, err = layerDescription(bytes.NewReader(l), has); err != nil {
				t.Fatal(err)
			}
		}
		if has != c.want {
			t.Errorf("%s: %v, want %v", c.name, has, c.want)
		}
	}
}

// TestErrorsNameInputsNotFlags: the library's errors name what it was
// given; flags are the command's to add.
func TestErrorsNameInputsNotFlags(t *testing.T) {
	e := newTestEnv(t, "vfs")
	ctx := context.Background()
	flags := func(err error) bool {
		for _, f := range []string{"--stash", "--from-registry", "--target-dir", "--description"} {
			if strings.Contains(err.Error(), f) {
				return true
			}
		}
		return false
	}
	for _, s := range []string{"no-such:1", " bad", "docker://a b"} {
		_, err := Resolve(ctx, e.store, s, "", oci.CopyOptions{})
		var se *StashError
		if !errors.As(err, &se) || se.Stash != s || flags(err) {
			t.Errorf("Resolve(%q) = %v; want a StashError naming no flag", s, err)
		}
	}
	_, err := Resolve(ctx, e.store, "no-such:1", "", oci.CopyOptions{})
	var se *StashError
	if !errors.As(err, &se) || !se.NotStored || !strings.Contains(err.Error(), "no image localhost/no-such:1") {
		t.Errorf("Resolve(no-such:1) = %v", err)
	}
	root := t.TempDir()
	if err := CheckNewRoot(root); !errors.Is(err, ErrRootExists) || flags(err) {
		t.Errorf("CheckNewRoot(existing) = %v", err)
	}
	if _, err := Build(ctx, e.store, BuildOptions{Stashes: []string{"x"}}); err == nil || flags(err) {
		t.Errorf("Build without a target dir: %v", err)
	}
}

func TestReflinkHint(t *testing.T) {
	if h := reflinkHint(1<<30, unix.EXDEV); !strings.Contains(h, "different filesystems") {
		t.Errorf("EXDEV: %q", h)
	}
	if h := reflinkHint(1<<30, unix.EOPNOTSUPP); !strings.Contains(h, "no reflinks") {
		t.Errorf("EOPNOTSUPP: %q", h)
	}
	if h := reflinkHint(1<<20, unix.EXDEV); h != "" {
		t.Errorf("small stack: %q", h)
	}
}
