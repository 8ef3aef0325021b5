package result

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiwi-go/kiwi/artifact"
	"github.com/kiwi-go/kiwi/oci"
)

// writeSums writes the .sha256 beside every checksummed result, as
// create's publish does ("<hex>  <name>").
func writeSums(t *testing.T, r *Results) {
	t.Helper()
	for _, f := range r.Files {
		if !f.Shasum {
			continue
		}
		b, err := os.ReadFile(f.Filename)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if err := os.WriteFile(f.Filename+".sha256", []byte(hex.EncodeToString(sum[:])+"  "+filepath.Base(f.Filename)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// layoutManifest is the manifest of the one image in an OCI layout, and
// its digest.
func layoutManifest(t *testing.T, dir string) (digest.Digest, imgspecv1.Manifest) {
	t.Helper()
	var index imgspecv1.Index
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err == nil {
		err = json.Unmarshal(b, &index)
	}
	if err != nil || len(index.Manifests) != 1 {
		t.Fatalf("index.json: %s %v", b, err)
	}
	d := index.Manifests[0].Digest
	var m imgspecv1.Manifest
	b, err = os.ReadFile(filepath.Join(dir, "blobs", d.Algorithm().String(), d.Encoded()))
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err != nil {
		t.Fatal(err)
	}
	return d, m
}

// TestPushPullResults: a target dir's results go to an OCI layout as an
// artifact (every result once with its key, the checksums, the record;
// the image's name, version, type and SOURCE_DATE_EPOCH on the
// manifest) and come back into a new dir, where Read and Locate find
// them although the old target dir is gone.
func TestPushPullResults(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	ctx := context.Background()
	target, r := testTarget(t, "%N-%I")
	writeSums(t, r)
	layoutDir := filepath.Join(t.TempDir(), "layout")
	ref := "oci:" + layoutDir + ":1.15.3"
	d, err := Push(ctx, target, ref, oci.CopyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	md, m := layoutManifest(t, layoutDir)
	if md != d {
		t.Errorf("Push returned %s, the layout holds %s", d, md)
	}
	if m.ArtifactType != ArtifactType || m.Annotations[imgspecv1.AnnotationTitle] != "LimeJeOS" || m.Annotations[imgspecv1.AnnotationVersion] != "1.15.3" ||
		m.Annotations[TypeAnnotation] != "oem" || m.Annotations[imgspecv1.AnnotationCreated] != "2023-11-14T22:13:20Z" {
		t.Errorf("manifest: type %s, annotations %v", m.ArtifactType, m.Annotations)
	}
	type layer struct{ name, key, mediaType string }
	var got []layer
	for _, l := range m.Layers {
		got = append(got, layer{l.Annotations[artifact.TitleAnnotation], l.Annotations[KeyAnnotation], l.MediaType})
	}
	base := "LimeJeOS.x86_64-1.15.3"
	want := []layer{
		{base + ".vhdfixed", "disk_format_image", "application/vnd.kiwi-go.disk.vhdfixed"},
		{base + ".raw", "disk_image", "application/vnd.kiwi-go.disk.raw"},
		{base + ".packages", "image_packages", "text/plain"},
		{base + ".verified", "image_verified", "text/plain"},
		{base + ".vhdfixed.sha256", "", "text/plain"},
		{base + ".raw.sha256", "", "text/plain"},
		{FileName, "", IndexMediaType},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("layers\n%q\nwant\n%q", got, want)
	}

	dir := filepath.Join(t.TempDir(), "pulled")
	pr, pulled, err := Pull(ctx, ref, dir, oci.CopyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The record names the pulled files, although the old target dir is
	// still there, as it would be after a build.
	moved := Results{Files: map[string]File{}, Format: r.Format}
	for k, f := range r.Files {
		f.Filename = filepath.Join(dir, filepath.Base(f.Filename))
		moved.Files[k] = f
	}
	if !reflect.DeepEqual(pr, &moved) || len(pulled) != len(want) {
		t.Errorf("Pull = %+v (%d files), want %+v", pr, len(pulled), moved)
	}
	if again, err := Read(dir); err != nil || !reflect.DeepEqual(again, &moved) {
		t.Errorf("Read(pulled) = %+v, %v", again, err)
	}
	for _, k := range pr.Keys() {
		p := Locate(pr.Files[k], dir)
		if b, err := os.ReadFile(p); err != nil || string(b) != "content of "+filepath.Base(p)+"\n" || filepath.Dir(p) != dir {
			t.Errorf("%s: Locate = %s: %q %v", k, p, b, err)
		}
	}
	if lines := List(pr); len(lines) != 5 || lines[2] != "--> disk_image: "+filepath.Join(dir, base+".raw") {
		t.Errorf("List = %q", lines)
	}
	// A second pull into the same dir is refused: it holds the files.
	if _, _, err := Pull(ctx, ref, dir, oci.CopyOptions{}); err == nil || !strings.Contains(err.Error(), "exists already") {
		t.Errorf("pull into a full dir: %v", err)
	}
}

// TestPullChecksSums: a result whose .sha256 says another sum fails the
// pull, naming the file, and nothing stays; a PXE-style checksum (three
// fields) is no companion and is not checked.
func TestPullChecksSums(t *testing.T) {
	ctx := context.Background()
	target, r := testTarget(t, "")
	writeSums(t, r)
	raw := r.Files["disk_image"].Filename
	wrong := strings.Repeat("0", 64) + "  " + filepath.Base(raw) + "\n"
	if err := os.WriteFile(raw+".sha256", []byte(wrong), 0o644); err != nil {
		t.Fatal(err)
	}
	layoutDir := filepath.Join(t.TempDir(), "layout")
	if _, err := Push(ctx, target, "oci:"+layoutDir+":1", oci.CopyOptions{}); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "pulled")
	_, _, err := Pull(ctx, "oci:"+layoutDir+":1", dir, oci.CopyOptions{})
	if err == nil || !strings.Contains(err.Error(), filepath.Base(raw)+" does not match its checksum") {
		t.Errorf("tampered checksum: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a failed pull left its dir (%v)", err)
	}

	// PXE-style: "<hex> <blocks> <blocksize>".
	if err := os.WriteFile(raw+".sha256", []byte(strings.Repeat("0", 64)+" 1024 4096\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	layoutDir = filepath.Join(t.TempDir(), "layout")
	if _, err := Push(ctx, target, "oci:"+layoutDir+":1", oci.CopyOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Pull(ctx, "oci:"+layoutDir+":1", filepath.Join(t.TempDir(), "pulled"), oci.CopyOptions{}); err != nil {
		t.Errorf("PXE-style checksum: %v", err)
	}
}

// TestPushRefuses: a missing result file, and what is no results
// artifact on pull.
func TestPushRefuses(t *testing.T) {
	ctx := context.Background()
	target, r := testTarget(t, "")
	if err := os.Remove(r.Files["image_verified"].Filename); err != nil {
		t.Fatal(err)
	}
	layoutDir := filepath.Join(t.TempDir(), "layout")
	if _, err := Push(ctx, target, "oci:"+layoutDir+":1", oci.CopyOptions{}); err == nil || !strings.Contains(err.Error(), "result image_verified") {
		t.Errorf("missing result: %v", err)
	}
	if _, err := os.Stat(layoutDir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a refused push wrote the layout (%v)", err)
	}
	if _, err := Push(ctx, t.TempDir(), "oci:"+layoutDir+":1", oci.CopyOptions{}); err == nil || !strings.Contains(err.Error(), "no result information") {
		t.Errorf("no results: %v", err)
	}
	t.Setenv("SOURCE_DATE_EPOCH", "yesterday")
	target, _ = testTarget(t, "")
	if _, err := Push(ctx, target, "oci:"+layoutDir+":1", oci.CopyOptions{}); err == nil || !strings.Contains(err.Error(), "SOURCE_DATE_EPOCH") {
		t.Errorf("bad SOURCE_DATE_EPOCH: %v", err)
	}

	// A results artifact without a result's file is incomplete.
	target, _ = testTarget(t, "")
	part := filepath.Join(t.TempDir(), "part")
	if _, err := artifact.Push(ctx, "oci:"+part+":1", artifact.Artifact{Type: ArtifactType, Files: []artifact.File{{Name: FileName, Path: filepath.Join(target, FileName)}}}, oci.CopyOptions{}); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "pulled")
	if _, _, err := Pull(ctx, "oci:"+part+":1", dir, oci.CopyOptions{}); err == nil || !strings.Contains(err.Error(), "is not in the artifact") {
		t.Errorf("incomplete artifact: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a failed pull left its dir (%v)", err)
	}

	other := filepath.Join(t.TempDir(), "other")
	f := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := artifact.Push(ctx, "oci:"+other+":1", artifact.Artifact{Type: "application/vnd.other", Files: []artifact.File{{Name: "f", Path: f}}}, oci.CopyOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Pull(ctx, "oci:"+other+":1", t.TempDir(), oci.CopyOptions{}); err == nil || !strings.Contains(err.Error(), "not a kiwi artifact of type "+ArtifactType) {
		t.Errorf("other artifact: %v", err)
	}
}

// TestMediaType: by the longest ending.
func TestMediaType(t *testing.T) {
	for name, want := range map[string]string{
		"a.x86_64-1.raw":           "application/vnd.kiwi-go.disk.raw",
		"a.x86_64-1.qcow2":         "application/vnd.kiwi-go.disk.qcow2",
		"a.x86_64-1.docker.tar.xz": "application/vnd.kiwi-go.container.docker-archive+xz",
		"a.x86_64-1.oci.tar":       "application/vnd.kiwi-go.container.oci-archive",
		"a.x86_64-1.tar.xz":        "application/vnd.kiwi-go.archive.tar+xz",
		"a.x86_64-1.install.tar":   "application/vnd.kiwi-go.install.tar",
		"a.x86_64-1.install.iso":   "application/vnd.kiwi-go.iso",
		"a.x86_64-1.raw.sha256":    "text/plain",
		"a.x86_64-1-6.1.kernel":    "application/vnd.kiwi-go.kernel",
		"a.x86_64-1.vhdx":          "application/vnd.kiwi-go.disk.vhdx",
		"a.x86_64-1.vhd":           "application/vnd.kiwi-go.disk.vhd",
		"a.x86_64-1.ext4":          "application/vnd.kiwi-go.filesystem.ext4",
		"a.x86_64-1":               "application/octet-stream",
		FileName:                   IndexMediaType,
	} {
		if got := MediaType(name); got != want {
			t.Errorf("MediaType(%s) = %s, want %s", name, got, want)
		}
	}
}
