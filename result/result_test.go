package result

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kiwi-go/kiwi/internal/runner"
)

var limeTags = NewTags("LimeJeOS", "1.15.3", "x86_64", "oem", []string{"vmx", "xen"})

// TestNameAsKIWI: the id after every version following the name, or the
// pattern with KIWI 10's extensions (cases from KIWI's own tests and
// its naming table).
func TestNameAsKIWI(t *testing.T) {
	for _, c := range []struct{ base, pattern, want string }{
		{"LimeJeOS.x86_64-1.15.3.raw", "", "LimeJeOS.x86_64-1.15.3-Build42.raw"},
		{"LimeJeOS.x86_64-1.15.3.docker.tar.xz", "", "LimeJeOS.x86_64-1.15.3-Build42.docker.tar.xz"},
		{"LimeJeOS.x86_64-1.15.3.packages", "", "LimeJeOS.x86_64-1.15.3-Build42.packages"},
		{"other.x86_64-1.15.3.raw", "", "other.x86_64-1.15.3.raw"}, // no image name: unchanged
		{"LimeJeOS.x86_64-1.15.3.raw", "%N-%T-%M.%m-%I", "LimeJeOS-oem-1.15-Build42.raw"},
		{"LimeJeOS.x86_64-1.15.3.tar.xz", "%N-%P-%A-%v-%I", "LimeJeOS-vmx_xen-x86_64-1.15.3-Build42.tar.xz"},
		{"LimeJeOS.x86_64-1.15.3.docker.tar.xz", "%N-%I", "LimeJeOS-Build42.docker.tar.xz"},
		{"LimeJeOS.x86_64-1.15.3.docker.tar", "%N-%I", "LimeJeOS-Build42.docker.tar"},
		{"LimeJeOS.x86_64-1.15.3.vagrant.libvirt.box", "%N-%I", "LimeJeOS-Build42.vagrant.libvirt.box"},
		{"LimeJeOS.x86_64-1.15.3.tar.gz", "%N-%p", "LimeJeOS-3.tar.gz"},
	} {
		if got := Name(c.base, limeTags, c.pattern, "Build42"); got != c.want {
			t.Errorf("Name(%q, %q) = %q, want %q", c.base, c.pattern, got, c.want)
		}
	}
	// The image name may hold the version: only what follows it counts.
	if got := Name("test-1.2.3-image.x86_64-1.2.3.raw", NewTags("test-1.2.3-image", "1.2.3", "x86_64", "oem", nil), "", "Build_42"); got != "test-1.2.3-image.x86_64-1.2.3-Build_42.raw" {
		t.Errorf("name holding the version: %q", got)
	}
	if tg := NewTags("n", "7", "x86_64", "kis", nil); tg.Major != "7" || tg.Minor != "" || tg.Patch != "" {
		t.Errorf("NewTags(7) = %+v", tg)
	}
}

// testTarget writes a target dir with an oem disk's results as create
// records them.
func testTarget(t *testing.T, pattern string) (string, *Results) {
	t.Helper()
	target := t.TempDir()
	base := filepath.Join(target, "LimeJeOS.x86_64-1.15.3")
	r := Results{Files: map[string]File{
		"disk_image":        {Filename: base + ".raw", Shasum: true, Compress: true},
		"disk_format_image": {Filename: base + ".vhdfixed", Shasum: true, Compress: true, Bundle: true},
		"image_packages":    {Filename: base + ".packages", Bundle: true},
		"image_verified":    {Filename: base + ".verified", Bundle: true},
	}, Format: Format{Pattern: pattern, Tags: limeTags}}
	for _, f := range r.Files {
		if err := os.WriteFile(f.Filename, []byte("content of "+filepath.Base(f.Filename)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Write(target); err != nil {
		t.Fatal(err)
	}
	return target, &r
}

// TestReadWhatWriteWrote: the record keeps KIWI's shape (bundle_format
// beside the files) and reads back; list is KIWI's.
func TestReadWhatWriteWrote(t *testing.T) {
	target, want := testTarget(t, "%N-%I")
	got, err := Read(target)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Read = %+v, %v; want %+v", got, err, want)
	}
	b, _ := os.ReadFile(filepath.Join(target, FileName))
	if !strings.Contains(string(b), `"bundle_format": {`) || !strings.Contains(string(b), `"use_for_bundle": true`) || !strings.Contains(string(b), `"N": "LimeJeOS"`) {
		t.Errorf("kiwi.result.json:\n%s", b)
	}
	lines := List(got)
	if len(lines) != 5 || lines[0] != "--> bundle_format: %N-%I" || lines[1] != "--> disk_format_image: "+want.Files["disk_format_image"].Filename {
		t.Errorf("List = %q", lines)
	}
}

// TestReadRefusesWhatItCannotRead: KIWI NG's pickle, no record.
func TestReadRefusesWhatItCannotRead(t *testing.T) {
	dir := t.TempDir()
	if _, err := Read(dir); err == nil || !strings.Contains(err.Error(), "no result information") {
		t.Errorf("empty dir: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, pickleName), []byte("\x80\x04pickle"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(dir); err == nil || !strings.Contains(err.Error(), "Python pickle") {
		t.Errorf("pickle only: %v", err)
	}
	// KIWI NG writes kiwi.result.json next to its pickle, without tags.
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte(`{"disk_image": {"filename": "/x.raw", "use_for_bundle": true, "compress": true, "shasum": true}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(dir); err == nil || !strings.Contains(err.Error(), "KIWI NG") {
		t.Errorf("KIWI NG's json: %v", err)
	}
}

// TestBundleAsKIWI: the bundled files by their bundle names, compressed
// where flagged, each checksummed one with a .sha256 sha256sum -c takes;
// the raw disk is not bundled when a format is.
func TestBundleAsKIWI(t *testing.T) {
	target, r := testTarget(t, "")
	dir := filepath.Join(t.TempDir(), "bundle")
	files, err := Bundle(context.Background(), r, BundleOptions{Target: target, Dir: dir, ID: "Build42", Run: runner.Runner{}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"LimeJeOS.x86_64-1.15.3-Build42.vhdfixed.xz", "LimeJeOS.x86_64-1.15.3-Build42.vhdfixed.xz.sha256",
		"LimeJeOS.x86_64-1.15.3-Build42.packages", "LimeJeOS.x86_64-1.15.3-Build42.verified"}
	var got []string
	for _, f := range files {
		got = append(got, filepath.Base(f))
	}
	entries, _ := os.ReadDir(dir)
	if !reflect.DeepEqual(got, want) || len(entries) != len(want) {
		t.Errorf("bundled %q (dir has %d entries), want %q", got, len(entries), want)
	}
	if out, err := exec.Command("sh", "-c", "xz -dc "+filepath.Join(dir, want[0])).Output(); err != nil || string(out) != "content of LimeJeOS.x86_64-1.15.3.vhdfixed\n" {
		t.Errorf("xz -d: %q %v", out, err)
	}
	cmd := exec.Command("sha256sum", "-c", want[1])
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("sha256sum -c in the bundle dir: %v %s", err, out)
	}

	// --no-compress, a pattern, and a target dir moved since the build.
	moved := filepath.Join(t.TempDir(), "moved")
	if err := os.Rename(target, moved); err != nil {
		t.Fatal(err)
	}
	dir2 := filepath.Join(t.TempDir(), "b2")
	files, err = Bundle(context.Background(), r, BundleOptions{Target: moved, Dir: dir2, ID: "7", Format: "%N-%M-%I", NoCompress: true, Run: runner.Runner{}})
	if err != nil || len(files) != 4 || filepath.Base(files[0]) != "LimeJeOS-1-7.vhdfixed" || filepath.Base(files[2]) != "LimeJeOS-1-7.packages" {
		t.Errorf("bundle with a pattern: %q, %v", files, err)
	}
}

// TestBundleAsRPM: --package-as-rpm leaves one noarch rpm in the bundle
// dir, <name>-<version>-0, holding the bundle's files (compressed and
// checksummed as without it) in /var/tmp/<name>; the name is the
// expanded bundle format when there is one.
func TestBundleAsRPM(t *testing.T) {
	if _, err := exec.LookPath("rpmbuild"); err != nil {
		t.Skip("no rpmbuild on this host (hack/setup.sh installs rpm)")
	}
	for _, c := range []struct{ pattern, name string }{{"", "LimeJeOS"}, {"%N-%v-%I", "LimeJeOS-1.15.3-Build42"}} {
		target, r := testTarget(t, c.pattern)
		dir := filepath.Join(t.TempDir(), "bundle")
		files, err := Bundle(context.Background(), r, BundleOptions{Target: target, Dir: dir, ID: "Build42", RPM: true, Run: runner.Runner{}})
		if err != nil {
			t.Fatal(err)
		}
		rpm := filepath.Join(dir, c.name+"-1.15.3-0.noarch.rpm")
		entries, _ := os.ReadDir(dir)
		if len(files) != 1 || files[0] != rpm || len(entries) != 1 {
			t.Fatalf("bundled %q (dir has %d entries), want only %s", files, len(entries), rpm)
		}
		out, err := exec.Command("rpm", "-qp", "--qf", "%{NAME} %{VERSION} %{RELEASE} %{ARCH} %{LICENSE}\n", rpm).Output()
		if err != nil || string(out) != c.name+" 1.15.3 0 noarch GPL-3.0-or-later\n" {
			t.Errorf("rpm -qp: %q %v", out, err)
		}
		list, err := exec.Command("rpm", "-qpl", rpm).Output()
		if err != nil {
			t.Fatal(err)
		}
		sha := "LimeJeOS.x86_64-1.15.3-Build42.vhdfixed.xz.sha256"
		if c.pattern != "" {
			sha = c.name + ".vhdfixed.xz.sha256"
		}
		if !strings.Contains(string(list), "/var/tmp/"+c.name+"/"+sha+"\n") || strings.Count(string(list), "\n") != 5 {
			t.Errorf("rpm -qpl:\n%s", list)
		}
		// The files come out as bundled: the checksum holds.
		x := t.TempDir()
		// bsdtar (libarchive-tools) reads an rpm's payload.
		if b, err := exec.Command("bsdtar", "-xf", rpm, "-C", x).CombinedOutput(); err != nil {
			t.Fatalf("bsdtar -xf: %v %s", err, b)
		}
		cmd := exec.Command("sha256sum", "-c", sha)
		cmd.Dir = filepath.Join(x, "var/tmp", c.name)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("sha256sum -c in the unpacked rpm: %v %s", err, b)
		}
	}
	// A version rpm cannot take is refused before anything is made.
	target, r := testTarget(t, "")
	r.Format.Tags.Version = "1.0-beta"
	dir := filepath.Join(t.TempDir(), "bundle")
	if _, err := Bundle(context.Background(), r, BundleOptions{Target: target, Dir: dir, ID: "1", RPM: true}); err == nil || !strings.Contains(err.Error(), "without '-'") {
		t.Errorf("version 1.0-beta: %v", err)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Error("a refused bundle made the bundle dir")
	}
}

// TestBundleBadInputChangesNothing: each refused before any file.
func TestBundleBadInputChangesNothing(t *testing.T) {
	target, r := testTarget(t, "")
	dir := filepath.Join(t.TempDir(), "bundle")
	for _, c := range []struct {
		o    BundleOptions
		want string
	}{
		{BundleOptions{Target: target, Dir: dir, ID: "a/b"}, "cannot hold a '/'"},
		{BundleOptions{Target: target, Dir: dir, ID: ""}, "--id is empty"},
		{BundleOptions{Target: target, Dir: target, ID: "1"}, "is the --target-dir"},
		{BundleOptions{Target: target, Dir: dir, ID: "1", Format: "same"}, "would both be bundled as same.verified"},
	} {
		if c.want == "would both be bundled as same.verified" {
			// Two results of one extension under one pattern.
			r.Files["other_verified"] = File{Filename: r.Files["image_verified"].Filename, Bundle: true}
		}
		_, err := Bundle(context.Background(), r, c.o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.o, err, c.want)
		}
		if _, err := os.Stat(dir); err == nil {
			t.Fatalf("%+v made the bundle dir", c.o)
		}
	}
	delete(r.Files, "other_verified")
	if err := os.Remove(r.Files["image_packages"].Filename); err != nil {
		t.Fatal(err)
	}
	if _, err := Bundle(context.Background(), r, BundleOptions{Target: target, Dir: dir, ID: "1"}); err == nil || !strings.Contains(err.Error(), "result image_packages") {
		t.Errorf("missing result: %v", err)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Error("a failed bundle made the bundle dir")
	}
}
