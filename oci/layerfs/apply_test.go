package layerfs

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kiwi-go/kiwi/internal/fstest"
)

func TestApplyRefusesEscapes(t *testing.T) {
	if !fstest.IsRoot() {
		t.Skip("needs root")
	}
	for _, c := range fstest.HostileLayers() {
		t.Run(c.Name, func(t *testing.T) {
			box, target, before := fstest.Sandbox(t)
			err := Apply(target, bytes.NewReader(fstest.Tar(c.Entries...)))
			if err == nil || !strings.Contains(err.Error(), c.Want) {
				t.Fatalf("error %v, want one mentioning %q", err, c.Want)
			}
			fstest.AssertUntouched(t, box, before)
		})
	}
}

// TestApplyHugeTruncatedFile: an entry that claims a terabyte but whose
// stream ends after one block fails with an error at once; nothing
// outside the target changes and no terabyte is allocated.
func TestApplyHugeTruncatedFile(t *testing.T) {
	if !fstest.IsRoot() {
		t.Skip("needs root")
	}
	box, target, before := fstest.Sandbox(t)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "huge", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1 << 40}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(make([]byte, 512)); err != nil {
		t.Fatal(err)
	}
	// No Close: the stream ends in the middle of the entry.
	start := time.Now()
	if err := Apply(target, bytes.NewReader(buf.Bytes())); err == nil {
		t.Fatal("a truncated terabyte entry was applied without an error")
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the truncated entry took %v to fail", took)
	}
	if fi, err := os.Lstat(filepath.Join(target, "huge")); err == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Blocks*512 > 1<<20 {
			t.Errorf("the truncated entry allocated %d bytes", st.Blocks*512)
		}
	}
	fstest.AssertUntouched(t, box, before)
}

func TestApplyFollowsInnerSymlinks(t *testing.T) {
	_, target, _ := fstest.Sandbox(t)
	layer := fstest.Tar(
		fstest.TarEntry{Name: "usr/bin", Type: tar.TypeDir},
		fstest.TarEntry{Name: "bin", Link: "usr/bin", Type: tar.TypeSymlink},
		fstest.TarEntry{Name: "bin/tool", Type: tar.TypeReg, Body: "ok"},
		fstest.TarEntry{Name: "etc/mtab", Link: "/proc/self/mounts", Type: tar.TypeSymlink},
		fstest.TarEntry{Name: "etc/hard", Link: "bin/tool", Type: tar.TypeLink},
	)
	if err := Apply(target, bytes.NewReader(layer)); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(target, "usr/bin/tool"))
	if err != nil || string(b) != "ok" {
		t.Fatalf("usr/bin/tool = %q, %v", b, err)
	}
	if l, _ := os.Readlink(filepath.Join(target, "etc/mtab")); l != "/proc/self/mounts" {
		t.Errorf("etc/mtab -> %q", l)
	}
}

func TestApplyHonoursWhiteouts(t *testing.T) {
	_, target, _ := fstest.Sandbox(t)
	base := fstest.Tar(
		fstest.TarEntry{Name: "keep", Type: tar.TypeReg, Body: "k"},
		fstest.TarEntry{Name: "gone", Type: tar.TypeReg, Body: "g"},
		fstest.TarEntry{Name: "d", Type: tar.TypeDir},
		fstest.TarEntry{Name: "d/old", Type: tar.TypeReg, Body: "o"},
	)
	top := fstest.Tar(
		fstest.TarEntry{Name: ".wh.gone", Type: tar.TypeReg},
		fstest.TarEntry{Name: "d/.wh..wh..opq", Type: tar.TypeReg},
		fstest.TarEntry{Name: "d/new", Type: tar.TypeReg, Body: "n"},
	)
	for _, l := range [][]byte{base, top} {
		if err := Apply(target, bytes.NewReader(l)); err != nil {
			t.Fatal(err)
		}
	}
	for p, want := range map[string]bool{"keep": true, "gone": false, "d/old": false, "d/new": true} {
		_, err := os.Lstat(filepath.Join(target, p))
		if (err == nil) != want {
			t.Errorf("%s exists=%v, want %v", p, err == nil, want)
		}
	}
}

// FuzzApply feeds arbitrary bytes as a layer: applying may fail, but must
// never panic, hang, or change anything outside the target directory.
func FuzzApply(f *testing.F) {
	if !fstest.IsRoot() {
		f.Skip("needs root")
	}
	for _, c := range fstest.HostileLayers() {
		f.Add(fstest.Tar(c.Entries...))
	}
	f.Add(fstest.Tar(
		fstest.TarEntry{Name: "usr/bin", Type: tar.TypeDir},
		fstest.TarEntry{Name: "bin", Link: "usr/bin", Type: tar.TypeSymlink},
		fstest.TarEntry{Name: "bin/tool", Type: tar.TypeReg, Body: "ok"},
		fstest.TarEntry{Name: ".wh.bin", Type: tar.TypeReg},
	))
	f.Fuzz(func(t *testing.T, layer []byte) {
		box, target, before := fstest.Sandbox(t)
		done := make(chan error, 1)
		go func() { done <- Apply(target, bytes.NewReader(layer)) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatal("applying the layer hangs")
		}
		fstest.AssertUntouched(t, box, before)
	})
}

func TestUnionKeepsEarlierImagesFiles(t *testing.T) {
	_, target, _ := fstest.Sandbox(t)
	reg, dir := byte(tar.TypeReg), byte(tar.TypeDir)
	first := fstest.Tar(
		fstest.TarEntry{Name: "etc", Type: dir},
		fstest.TarEntry{Name: "etc/base", Type: reg, Body: "base"},
		fstest.TarEntry{Name: "etc/shared", Type: reg, Body: "from first"},
		fstest.TarEntry{Name: "opt", Type: dir},
		fstest.TarEntry{Name: "opt/keep", Type: reg, Body: "k"},
	)
	secondA := fstest.Tar(
		fstest.TarEntry{Name: "etc/shared", Type: reg, Body: "from second"},
		fstest.TarEntry{Name: "etc/temp", Type: reg, Body: "t"},
	)
	secondB := fstest.Tar(
		fstest.TarEntry{Name: "etc/.wh.temp", Type: reg},     // own file: goes
		fstest.TarEntry{Name: "etc/.wh.base", Type: reg},     // first image's: stays
		fstest.TarEntry{Name: "opt/.wh..wh..opq", Type: reg}, // never empties the first image's dir
	)
	var u Union
	u.NextImage()
	if err := ApplyUnion(target, bytes.NewReader(first), &u); err != nil {
		t.Fatal(err)
	}
	u.NextImage()
	for _, l := range [][]byte{secondA, secondB} {
		if err := ApplyUnion(target, bytes.NewReader(l), &u); err != nil {
			t.Fatal(err)
		}
	}
	for p, want := range map[string]string{"etc/base": "base", "etc/shared": "from second", "opt/keep": "k", "etc/temp": ""} {
		b, err := os.ReadFile(filepath.Join(target, p))
		if want == "" {
			if err == nil {
				t.Errorf("%s should be gone", p)
			}
			continue
		}
		if string(b) != want {
			t.Errorf("%s = %q, want %q (%v)", p, b, want, err)
		}
	}
	if len(u.Overwritten) != 1 || u.Overwritten[0] != "etc/shared" {
		t.Errorf("overwritten = %v", u.Overwritten)
	}
}
