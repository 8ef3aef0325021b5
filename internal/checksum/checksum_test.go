package checksum

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestFileMatchesSha256sum: sparse files (holes inside and at the end),
// a small file and an empty one hash as sha256sum reads them.
func TestFileMatchesSha256sum(t *testing.T) {
	dir := t.TempDir()
	sparse := filepath.Join(dir, "sparse")
	f, err := os.Create(sparse)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(50 << 20); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("hello"), 10<<20); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("end"), 50<<20-3); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	check := func(p string) {
		t.Helper()
		// A copy has the same bytes, the sum of what was copied, and no
		// more blocks than the original.
		cp := p + ".copy"
		sum, err := CopyFile(p, cp)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := File(p)
		a, _ := os.ReadFile(p)
		b, _ := os.ReadFile(cp)
		var sa, sb unix.Stat_t
		_ = unix.Stat(p, &sa)
		_ = unix.Stat(cp, &sb)
		if sum != want || string(a) != string(b) || sb.Blocks > sa.Blocks {
			t.Errorf("CopyFile(%s): sum %s want %s, equal %v, blocks %d of %d", p, sum, want, string(a) == string(b), sb.Blocks, sa.Blocks)
		}
		os.Remove(cp)
		t.Helper()
		got, err := File(p)
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("sha256sum", p).Output()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(out), got+" ") {
			t.Fatalf("%s: %s, sha256sum says %s", p, got, out)
		}
	}
	check(sparse)
	if err := os.Truncate(sparse, 60<<20); err != nil { // a trailing hole
		t.Fatal(err)
	}
	check(sparse)
	small := filepath.Join(dir, "small")
	if err := os.WriteFile(small, []byte("a small file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	check(small)
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	check(empty)
	if _, err := File(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("no error for a missing file")
	}
}
