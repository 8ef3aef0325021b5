package xattr

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// Values and name lists larger than the first buffers come back whole.
func TestListAndGetGrowTheirBuffers(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("v"), 3000)
	var want []string
	for i := range 40 {
		name := "user.a-rather-long-attribute-name-" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		if err := unix.Lsetxattr(p, name, big, 0); err != nil {
			if errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.E2BIG) {
				if i == 0 {
					t.Skipf("no user xattrs here: %v", err)
				}
				break
			}
			t.Fatal(err)
		}
		want = append(want, name)
	}
	got, err := List(p)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("List = %v, want %v", got, want)
	}
	v, err := Get(p, want[0])
	if err != nil || !bytes.Equal(v, big) {
		t.Fatalf("Get = %d bytes, %v; want %d", len(v), err, len(big))
	}
	if names, err := List(filepath.Join(t.TempDir())); err != nil || len(names) != 0 {
		t.Errorf("List of a plain dir = %v, %v", names, err)
	}
}
