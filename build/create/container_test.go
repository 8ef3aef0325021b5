package create

import (
	"archive/tar"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kiwi-go/kiwi/build/description"
	"github.com/kiwi-go/kiwi/internal/fstest"
	"github.com/kiwi-go/kiwi/internal/runner"
	"github.com/kiwi-go/kiwi/oci"
)

// containerDesc is a description with one container type.
func containerDesc(typ string) string {
	return desc(`<preferences><version>2.0.0</version><packagemanager>apt</packagemanager>` + typ + `</preferences>
<repository type="apt-deb"><source path="http://deb.debian.org/debian"/></repository>
<packages type="bootstrap"><package name="bash"/></packages>`)
}

func TestContainerTypeOf(t *testing.T) {
	d, err, _ := load(t, containerDesc(`<type image="docker"/>`), description.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ct, err := ContainerTypeOf(d)
	if err != nil {
		t.Fatal(err)
	}
	// KIWI's defaults: kiwi-container:latest, the author as maintainer
	// and history author.
	if !slices.Equal(ct.Names, []string{"kiwi-container:latest"}) || ct.Maintainer != "a <c>" || ct.History.Author != "a <c>" ||
		ct.Format != oci.DockerArchive || !ct.EmptyTmpDirs || ct.Entrypoint != nil || ct.Cmd != nil {
		t.Errorf("defaults: %+v", ct)
	}

	d, err, _ = load(t, containerDesc(`<type image="oci" ensure_empty_tmpdirs="false">
  <containerconfig name="reg.example.com:5000/ns/app" tag="3" additionalnames=":edge,other,third:x" maintainer="m">
    <entrypoint clear="true"/>
    <subcommand execute="run"><argument name="--fast"/></subcommand>
  </containerconfig></type>`), description.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ct, err = ContainerTypeOf(d)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"reg.example.com:5000/ns/app:3", "reg.example.com:5000/ns/app:edge", "other:3", "third:x"}
	if !slices.Equal(ct.Names, want) || ct.Format != oci.OCIArchive || ct.EmptyTmpDirs || ct.Maintainer != "m" ||
		ct.Entrypoint == nil || len(ct.Entrypoint) != 0 || !slices.Equal(ct.Cmd, []string{"run", "--fast"}) {
		t.Errorf("got names %v, %+v", ct.Names, ct)
	}
	if got := storageName("reg.example.com:5000/ns/app:3"); got != "reg.example.com:5000/ns/app:3" {
		t.Errorf("storage name of a registry name: %s", got)
	}
	if got := storageName("ns/app:3"); got != "localhost/ns/app:3" {
		t.Errorf("storage name of a plain name: %s", got)
	}

	for _, tc := range []struct{ typ, want string }{
		{`<type image="docker"><containerconfig name="App" tag="1"/></type>`, `name="App"`},
		{`<type image="docker"><containerconfig name="app" tag="a:b"/></type>`, `tag="a:b"`},
		{`<type image="docker"><containerconfig name="app" additionalnames="Bad!"/></type>`, `additionalnames="Bad!"`},
		{`<type image="docker"><containerconfig name="app"><expose><port number="0"/></expose></containerconfig></type>`, `port number="0"`},
		{`<type image="docker"><containerconfig name="app"><expose><port number="99999/tcp"/></expose></containerconfig></type>`, `port number="99999/tcp"`},
		{`<type image="docker"><containerconfig name="app"><volumes><volume name="data"/></volumes></containerconfig></type>`, `volume name="data"`},
		{`<type image="docker"><containerconfig name="app" workingdir="srv"/></type>`, `workingdir="srv"`},
		{`<type image="docker"><containerconfig name="app"><environment><env name="A B" value="1"/></environment></containerconfig></type>`, `env name="A B"`},
		{`<type image="docker"><containerconfig name="app"><stopsignal>TERM!</stopsignal></containerconfig></type>`, `<stopsignal>TERM!`},
		{`<type image="docker" derived_from="file:///tmp/base.tar"/>`, `file:// scheme`},
		{`<type image="docker" derived_from="obs://p/r/i#t"/>`, `registry.opensuse.org`},
		{`<type image="docker" delta_root="true"/>`, `set derived_from`},
		{`<type image="docker" derived_from="base:1" require_system_files="true"/>`, `set delta_root="true"`},
	} {
		d, err, _ := load(t, containerDesc(tc.typ), description.LoadOptions{})
		if err != nil {
			t.Errorf("%s: %v", tc.typ, err)
			continue
		}
		if _, err := Plan(d); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Plan error %v, want one naming %s", tc.typ, err, tc.want)
		}
	}
}

func TestAdditionalName(t *testing.T) {
	for _, tc := range [][2]string{{":edge", "app:edge"}, {"other", "other:1"}, {"other:2", "other:2"}, {"host:5000/x", "host:5000/x:1"}} {
		if got := additionalName(tc[0], "app", "1"); got != tc[1] {
			t.Errorf("additionalName(%q) = %q, want %q", tc[0], got, tc[1])
		}
	}
}

// TestContainerFromTree builds both container types from a small tree
// into a private store: KIWI's result names, xz by default, what is left
// out of the layer, the container setup, the default command, RepoTags
// and the oci ref name.
func TestContainerFromTree(t *testing.T) {
	if !fstest.IsRoot() {
		t.Skip("needs root (containers storage)")
	}
	base, store := testStore(t)
	root := filepath.Join(base, "root")
	files := map[string]string{
		"etc/marker":                           "m\n",
		"etc/sysconfig/bootloader":             "LOADER_TYPE=\"grub2\"\nOTHER=1\n",
		"usr/lib/systemd/system/udev.service":  "[Unit]\n",
		"usr/lib/systemd/system/other.service": "[Unit]\n",
		"image/config.xml":                     "<image/>",
		"image/exclude_files.yaml":             "exclude:\n  - /opt/secret\n",
		"opt/secret/key":                       "k",
		"opt/kept":                             "k",
		".profile":                             "x",
		"tmp/junk":                             "j",
		"run/junk":                             "j",
		"var/cache/kiwi/junk":                  "j",
	}
	for p, c := range files {
		writeFile(t, root, p, c)
	}
	for _, d := range []string{"dev", "proc", "sys"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	run := runner.Runner{}
	o := Options{Root: root, Store: store, CacheDir: filepath.Join(base, "cache"), TempDir: base, Tool: "kiwi test", Run: run}

	o.TargetDir = filepath.Join(base, "docker")
	ct := ContainerType{Format: oci.DockerArchive, Name: "t", Version: "2.0", Arch: "x86_64", Names: []string{"kiwi-container:latest", "kiwi-container:extra"}, EmptyTmpDirs: true}
	res, err := Container(context.Background(), ct, o)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(o.TargetDir, "t.x86_64-2.0.docker.tar.xz")
	if len(res) == 0 || res[0].Key != "container" || res[0].Filename != file {
		t.Fatalf("results %+v", res)
	}
	if _, err := os.Stat(file + ".sha256"); err != nil {
		t.Error(err)
	}
	plain := filepath.Join(base, "docker.tar")
	if out, err := exec.Command("sh", "-c", `xz -dc "$1" >"$2"`, "sh", file, plain).CombinedOutput(); err != nil {
		t.Fatalf("xz -d: %v %s", err, out)
	}
	entries := tarFiles(t, plain)
	var manifest []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	if err := json.Unmarshal(entries["manifest.json"], &manifest); err != nil || len(manifest) != 1 || len(manifest[0].Layers) != 1 {
		t.Fatalf("manifest.json %s: %v", entries["manifest.json"], err)
	}
	if !slices.Equal(manifest[0].RepoTags, []string{"docker.io/library/kiwi-container:latest", "docker.io/library/kiwi-container:extra"}) {
		t.Errorf("RepoTags %v", manifest[0].RepoTags)
	}
	var cfg struct {
		Config struct{ Cmd []string }
	}
	if err := json.Unmarshal(entries[manifest[0].Config], &cfg); err != nil || !slices.Equal(cfg.Config.Cmd, []string{"/bin/bash"}) {
		t.Errorf("config %s: want KIWI's default command /bin/bash", entries[manifest[0].Config])
	}
	layer := layerEntries(t, entries[manifest[0].Layers[0]])
	for _, p := range []string{"etc/marker", "opt/kept", "tmp/", "run/", "dev/", "usr/lib/systemd/system/other.service"} {
		if _, ok := layer[p]; !ok {
			t.Errorf("layer lacks %s", p)
		}
	}
	for _, p := range []string{"image/", "image/config.xml", ".profile", "tmp/junk", "run/junk", "var/cache/kiwi/", "opt/secret/", "opt/secret/key"} {
		if _, ok := layer[p]; ok {
			t.Errorf("layer has %s, which KIWI leaves out of containers", p)
		}
	}
	if h := layer["usr/lib/systemd/system/udev.service"]; h == nil || h.Typeflag != tar.TypeSymlink || h.Linkname != "/dev/null" {
		t.Errorf("udev.service is not masked: %+v", h)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "etc/sysconfig/bootloader")); string(b) != "LOADER_TYPE=\"none\"\nOTHER=1\nLOADER_LOCATION=\"none\"\n" {
		t.Errorf("sysconfig/bootloader = %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "etc/securetty")); string(b) != "console\n" {
		t.Errorf("securetty = %q", b)
	}
	if _, err := store.Image("localhost/kiwi-container:extra"); err != nil {
		t.Errorf("the image is not in local storage under its names: %v", err)
	}

	o.TargetDir, o.ContainerCompress = filepath.Join(base, "oci"), "none"
	ct.Format, ct.Names = oci.OCIArchive, []string{"ns/t:2"}
	if _, err := Container(context.Background(), ct, o); err != nil {
		t.Fatal(err)
	}
	entries = tarFiles(t, filepath.Join(o.TargetDir, "t.x86_64-2.0.oci.tar"))
	if !strings.Contains(string(entries["index.json"]), `"org.opencontainers.image.ref.name":"ns/t:2"`) {
		t.Errorf("index.json %s does not name the image", entries["index.json"])
	}
}

// tarFiles reads the regular files of a tar file.
func tarFiles(t *testing.T, file string) map[string][]byte {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			out[strings.TrimPrefix(h.Name, "./")] = b
		}
	}
}

// layerEntries lists the headers of an uncompressed layer by name
// (directories with a trailing slash).
func layerEntries(t *testing.T, layer []byte) map[string]*tar.Header {
	t.Helper()
	out := map[string]*tar.Header{}
	tr := tar.NewReader(strings.NewReader(string(layer)))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(h.Name, "./")
		if h.Typeflag == tar.TypeDir && !strings.HasSuffix(name, "/") {
			name += "/"
		}
		out[name] = h
	}
}

// TestContainerLayersAndSquash: with the layers prepare made, the image
// is the lower image's layers unchanged plus one layer of what differs
// (a whiteout for what the root no longer has); --squash makes one
// layer of the whole root instead.
func TestContainerLayersAndSquash(t *testing.T) {
	if !fstest.IsRoot() {
		t.Skip("needs root (containers storage)")
	}
	base, store := testStore(t)
	ctx := context.Background()
	root := filepath.Join(base, "root")
	write := func(p, c string) { writeFile(t, root, p, c) }
	write("usr/bin/tool", "tool")
	write("etc/old", "old")
	// The lower image: what prepare's bootstrap and packages phases
	// would have committed, with its snapshot.
	lowerSnap, err := oci.TakeSnapshot(root, oci.HostDirs, nil)
	if err != nil {
		t.Fatal(err)
	}
	changes, err := lowerSnap.Changes(nil)
	if err != nil {
		t.Fatal(err)
	}
	lower, err := store.AppendLayer(ctx, oci.Append{Name: "localhost/lower:1", TempDir: base,
		Layer: func(w io.Writer) error { return oci.WriteLayer(w, root, changes, nil) }})
	if err != nil {
		t.Fatal(err)
	}
	snapFile := filepath.Join(base, "lower.snapshot")
	if err := lowerSnap.WriteFile(snapFile); err != nil {
		t.Fatal(err)
	}
	write("etc/new", "new")
	if err := os.Remove(filepath.Join(root, "etc/old")); err != nil {
		t.Fatal(err)
	}
	layers := func(name string) []string {
		t.Helper()
		img, err := store.Image(name)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := store.ImageConfig(ctx, img.ID)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, d := range cfg.RootFS.DiffIDs {
			ids = append(ids, d.String())
		}
		return ids
	}
	o := Options{Root: root, Store: store, TempDir: base, Tool: "kiwi test", Run: runner.Runner{}, ContainerCompress: "none",
		Layers: &ContainerLayers{RootImage: lower.ImageID, Lower: lower.ImageID, LowerSnapshot: snapFile}}
	ct := ContainerType{Format: oci.DockerArchive, Name: "t", Version: "1.0.0", Arch: "x86_64", Names: []string{"layered:1"}, EmptyTmpDirs: true}
	o.TargetDir = filepath.Join(base, "layered")
	if _, err := Container(ctx, ct, o); err != nil {
		t.Fatal(err)
	}
	img, err := store.Image("localhost/layered:1")
	if err != nil {
		t.Fatal(err)
	}
	got, want := layers(img.ID), layers(lower.ImageID)
	if len(got) != 2 || got[0] != want[0] {
		t.Fatalf("layered image diff IDs %v: want the lower's %v and one more", got, want)
	}
	entries := tarFiles(t, filepath.Join(o.TargetDir, "t.x86_64-1.0.0.docker.tar"))
	top := layerEntries(t, entries[strings.TrimPrefix(got[1], "sha256:")+".tar"])
	if _, ok := top["etc/new"]; !ok {
		t.Errorf("the top layer lacks etc/new: %v", top)
	}
	if _, ok := top["etc/.wh.old"]; !ok {
		t.Errorf("the top layer has no whiteout for etc/old: %v", top)
	}
	if _, ok := top["usr/bin/tool"]; ok {
		t.Error("the top layer repeats usr/bin/tool of the lower layer")
	}

	o.Squash, o.TargetDir, ct.Names = true, filepath.Join(base, "squashed"), []string{"squashed:1"}
	if _, err := Container(ctx, ct, o); err != nil {
		t.Fatal(err)
	}
	if got := layers("localhost/squashed:1"); len(got) != 1 {
		t.Errorf("--squash: %d layers, want 1", len(got))
	}

	// delta_root: one layer of what changed on the base (the lower
	// image here), no whiteouts, and /removed listing the base's files
	// that are gone; the config is the containerconfig's alone.
	o.Squash, o.TargetDir = false, filepath.Join(base, "delta")
	o.Layers = &ContainerLayers{Base: lower.ImageID}
	ct.Names, ct.DerivedFrom, ct.DeltaRoot = []string{"delta:1"}, "localhost/lower:1", true
	if _, err := Container(ctx, ct, o); err != nil {
		t.Fatal(err)
	}
	got = layers("localhost/delta:1")
	if len(got) != 1 {
		t.Fatalf("delta root: diff IDs %v, want one layer", got)
	}
	delta := layerEntries(t, tarFiles(t, filepath.Join(o.TargetDir, "t.x86_64-1.0.0.docker.tar"))[strings.TrimPrefix(got[0], "sha256:")+".tar"])
	for _, p := range []string{"etc/new", "removed"} {
		if _, ok := delta[p]; !ok {
			t.Errorf("the delta layer lacks %s: %v", p, delta)
		}
	}
	for p := range delta {
		if strings.Contains(p, ".wh.") || p == "usr/bin/tool" {
			t.Errorf("the delta layer holds %s", p)
		}
	}
	if b, err := os.ReadFile(filepath.Join(root, "removed")); err != nil || string(b) != "etc/old\n" {
		t.Errorf("/removed = %q, %v; want etc/old", b, err)
	}
	img, err = store.Image("localhost/delta:1")
	if err != nil {
		t.Fatal(err)
	}
	if cfg, err := store.ImageConfig(ctx, img.ID); err != nil || !slices.Equal(cfg.Config.Cmd, []string{"/bin/bash"}) {
		t.Errorf("delta root config: %+v, %v; want KIWI's default command", cfg.Config, err)
	}
}

// testStore is a private vfs store in a temp dir (also returned), closed
// when the test ends.
func testStore(t *testing.T) (string, *oci.Store) {
	t.Helper()
	base := t.TempDir()
	store, err := oci.OpenStore(oci.StoreOptions{GraphRoot: filepath.Join(base, "graph"), RunRoot: filepath.Join(base, "run"), Driver: "vfs"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return base, store
}

func writeFile(t *testing.T, root, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, p), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
