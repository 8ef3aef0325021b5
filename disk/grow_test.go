package disk

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestGrowMovesTheGPTAndUndoes: a grown GPT image is one sgdisk finds no
// problem with (backup header at the new end), its partitions and GUIDs
// as before; undo gives back the very bytes; an msdos image just grows;
// a size not larger is refused and changes nothing.
func TestGrowMovesTheGPTAndUndoes(t *testing.T) {
	for _, fw := range []string{"efi", "bios"} {
		t.Run(fw, func(t *testing.T) {
			l, err := Plan(Spec{Arch: "x86_64", Firmware: fw, RootFS: "ext4", RootSize: 64 * MiB})
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "disk.raw")
			f, err := NewImage(path, l)
			if err != nil {
				t.Fatal(err)
			}
			f.Close()
			before, _ := os.ReadFile(path)
			dump := func() string {
				out, err := exec.Command("sfdisk", "--dump", path).CombinedOutput()
				if err != nil {
					t.Fatalf("sfdisk: %v\n%s", err, out)
				}
				// The lines that do not depend on the disk's size.
				return regexp.MustCompile(`(?m)^(last-lba|device):.*\n`).ReplaceAllString(string(out), "")
			}
			want := dump()
			if _, _, err := Grow(path, l.Size); err == nil || !strings.Contains(err.Error(), "give a size larger") {
				t.Errorf("Grow to the same size: %v", err)
			}
			old, undo, err := Grow(path, 3*l.Size)
			if err != nil || old != l.Size {
				t.Fatalf("Grow = %d, %v", old, err)
			}
			if fi, _ := os.Stat(path); fi.Size() != 3*l.Size {
				t.Errorf("size %d, want %d", fi.Size(), 3*l.Size)
			}
			if got := dump(); got != want {
				t.Errorf("partitions changed:\n%s\nwant\n%s", got, want)
			}
			if fw == "efi" {
				if out, err := exec.Command("sgdisk", "-v", path).CombinedOutput(); err != nil || !strings.Contains(string(out), "No problems found") {
					t.Errorf("sgdisk -v of the grown disk: %v\n%s", err, out)
				}
			}
			if err := undo(); err != nil {
				t.Fatal(err)
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
				t.Error("undo did not give back the image as it was")
			}
		})
	}
}
