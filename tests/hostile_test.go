package tests

import (
	"archive/tar"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kiwi-go/kiwi/internal/fstest"
)

// hostileBox is a directory with files at every level a "../" name could
// reach from T/build/image-root: the box, the target dir T and T/build
// each hold "victim" and "outside/etc/passwd".
func hostileBox(t *testing.T) (box, target string) {
	t.Helper()
	box = t.TempDir()
	target = filepath.Join(box, "t")
	for _, d := range []string{box, target, filepath.Join(target, "build")} {
		if err := os.MkdirAll(filepath.Join(d, "outside", "etc"), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"victim", "outside/etc/passwd"} {
			if err := os.WriteFile(filepath.Join(d, f), []byte("precious\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return box, target
}

// hostUntouched checks the host files the absolute-path escapes aim at.
func hostUntouched(t *testing.T, passwd string) {
	t.Helper()
	if got := mustRead(t, "/etc/passwd"); got != passwd {
		t.Error("the host's /etc/passwd changed")
	}
	if _, err := os.Lstat("/victim"); err == nil {
		t.Error("a layer wrote /victim on the host")
	}
}

// TestHostileImagesThroughStackbuild feeds each layer of the hostile
// corpus to stackbuild end to end, as the second layer of an OCI image
// (oci: transport). With overlay storage the layout is copied into local
// storage first, as every image is: storage either refuses it, and the
// error names the image, or keeps what its own extractor makes of it,
// which is then composed inside the root. With a store that keeps no
// layer directories (vfs), the layout is read where it is and kiwi's
// guarded extractor refuses the entry, naming the layer and the escape.
// Either way nothing outside the composed root changed: not the files
// around and in the target dir, not the host.
func TestHostileImagesThroughStackbuild(t *testing.T) {
	passwd := mustRead(t, "/etc/passwd")
	vfs := filepath.Join(t.TempDir(), "vfs")
	if err := os.MkdirAll(vfs, 0o755); err != nil {
		t.Fatal(err)
	}
	vfsConf := filepath.Join(vfs, "storage.conf")
	if err := os.WriteFile(vfsConf, []byte(fmt.Sprintf("[storage]\ndriver = \"vfs\"\ngraphroot = %q\nrunroot = %q\n",
		filepath.Join(vfs, "graph"), filepath.Join(vfs, "run"))), 0o644); err != nil {
		t.Fatal(err)
	}
	vfsEnv := append(slices.Clone(s.env), "CONTAINERS_STORAGE_CONF="+vfsConf)
	for i, c := range fstest.HostileLayers() {
		t.Run(strings.ReplaceAll(c.Name, " ", "_"), func(t *testing.T) {
			layout, _ := fstest.OCILayout(t, filepath.Join(t.TempDir(), "layout"), "test",
				fstest.Tar(fstest.TarEntry{Name: "ok", Type: tar.TypeReg, Body: "fine"}), fstest.Tar(c.Entries...))
			for _, store := range []string{"overlay", "vfs"} {
				box, target := hostileBox(t)
				before, err := fstest.Scan(box)
				if err != nil {
					t.Fatal(err)
				}
				args := []string{"--shared-cache-dir", filepath.Join(t.TempDir(), "cache"), "system", "stackbuild",
					"--stash", "oci:" + layout + ":test", "--target-dir", target, "--compose-only"}
				var r result
				if store == "vfs" {
					r = kiwiEnv(t, vfsEnv, args...)
					if r.err == nil || !strings.Contains(r.stderr, c.Want) || !strings.Contains(r.stderr, "layer 2") {
						t.Fatalf("case %d, vfs: err=%v, want a failure naming layer 2 and %q:\n%s", i, r.err, c.Want, tail(r.stderr, 1500))
					}
				} else {
					r = kiwi(t, args...)
					if r.err != nil && !strings.Contains(r.stderr, layout) {
						t.Errorf("case %d, overlay: the failure does not name the image:\n%s", i, tail(r.stderr, 1500))
					}
					t.Logf("case %d, overlay: err=%v %s", i, r.err, tail(r.stderr, 300))
				}
				after, err := fstest.Scan(box)
				if err != nil {
					t.Fatal(err)
				}
				// T/build held the composed root (for a moment, or still):
				// its mtime moved, and what is inside is the root's.
				var outside []string
				for _, l := range fstest.Diff(before, after, "t/build") {
					if !strings.Contains(l, "t/build/image-root") {
						outside = append(outside, l)
					}
				}
				if len(outside) > 0 {
					t.Errorf("%s: the hostile image changed files outside the root:\n%s", store, strings.Join(outside, "\n"))
				}
				hostUntouched(t, passwd)
			}
		})
	}
}

// TestHostileImagesThroughStash puts each hostile image into podman's
// storage (skopeo, whose import applies the layers its own way), stashes
// a root on top of it, which makes kiwi unpack the base to compare, and
// stacks the stored image from storage's layer directories: whatever
// storage kept of the layer, the stash either lands or fails clearly, the
// stack lands inside its root, and nothing outside their roots changes.
func TestHostileImagesThroughStash(t *testing.T) {
	passwd := mustRead(t, "/etc/passwd")
	for i, c := range fstest.HostileLayers() {
		t.Run(strings.ReplaceAll(c.Name, " ", "_"), func(t *testing.T) {
			layout, _ := fstest.OCILayout(t, filepath.Join(t.TempDir(), "layout"), "test",
				fstest.Tar(fstest.TarEntry{Name: "ok", Type: tar.TypeReg, Body: "fine"}), fstest.Tar(c.Entries...))
			name := fmt.Sprintf("hostile-%d", i)
			t.Cleanup(func() { command(t, "podman", "rmi", "--force", "localhost/"+name+":latest") })
			imported := command(t, "skopeo", "copy", "oci:"+layout+":test", "containers-storage:localhost/"+name+":latest")
			if imported.err != nil {
				t.Logf("storage refused the image itself: %s", tail(imported.stderr, 300))
			}
			box, _ := hostileBox(t)
			root := filepath.Join(box, "root")
			if err := os.Mkdir(root, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := fstest.SampleRoot(root); err != nil {
				t.Fatal(err)
			}
			before, err := fstest.Scan(box)
			if err != nil {
				t.Fatal(err)
			}
			r := kiwi(t, "--temp-dir", t.TempDir(), "system", "stash", "--root", root, "--container-name", name)
			if r.err != nil && !strings.Contains(r.stderr, name) && !strings.Contains(r.stderr, "layer") {
				t.Errorf("the failed stash does not name the image or the layer:\n%s", tail(r.stderr, 1000))
			}
			t.Logf("stash on the hostile base: err=%v %s", r.err, tail(r.stderr, 300))
			// Storage keeps an absolute entry name as it is: kiwi must be
			// the one that refuses it.
			if c.Name == "absolute name" && imported.err == nil && (r.err == nil || !strings.Contains(r.stderr, "absolute path")) {
				t.Errorf("the absolute entry was not refused when unpacking the base: %v\n%s", r.err, tail(r.stderr, 500))
			}
			// The stored image stacked straight from storage's layer
			// directories (stackbuild's path for local images): whatever
			// storage made of the layer, it lands inside its root or fails.
			if imported.err == nil {
				st := kiwi(t, "system", "stackbuild", "--stash", "containers-storage:localhost/"+name+":latest",
					"--target-dir", filepath.Join(t.TempDir(), "t"), "--compose-only")
				if st.err != nil || !strings.Contains(st.stderr, "layers=") {
					t.Errorf("stackbuild from storage's layer directories failed (nothing stored can leave the root): %v\n%s", st.err, tail(st.stderr, 1000))
				}
			}
			after, err := fstest.Scan(box)
			if err != nil {
				t.Fatal(err)
			}
			if d := fstest.Diff(before, after); len(d) > 0 {
				t.Errorf("stashing or stacking the hostile image changed files:\n%s", strings.Join(d, "\n"))
			}
			hostUntouched(t, passwd)
		})
	}
}
