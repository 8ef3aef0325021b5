package disk

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestNewImageWritesTablesToolsAccept(t *testing.T) {
	for _, fw := range []string{"bios", "efi"} {
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
			out, err := exec.Command("sfdisk", "--dump", path).CombinedOutput()
			if err != nil {
				t.Fatalf("sfdisk: %v\n%s", err, out)
			}
			dump := string(out)
			wantLabel := map[string]string{"bios": "label: dos", "efi": "label: gpt"}[fw]
			if !strings.Contains(dump, wantLabel) || strings.Count(dump, " : start=") != len(l.Partitions) {
				t.Fatalf("sfdisk sees:\n%s", dump)
			}
			root := l.Find(RoleRoot)
			if !strings.Contains(dump, fmt.Sprintf("start=%12d", root.Start/512)) {
				t.Errorf("root partition start %d not in:\n%s", root.Start/512, dump)
			}
			if fw == "efi" {
				if out, err := exec.Command("sgdisk", "-v", path).CombinedOutput(); err != nil || !strings.Contains(string(out), "No problems found") {
					t.Errorf("sgdisk -v: %v\n%s", err, out)
				}
			}
		})
	}
}

func TestCopyIntoKeepsTheImageSparse(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "part.img")
	f, err := os.Create(src)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(64 * MiB)
	f.WriteAt(bytes.Repeat([]byte{1}, 4096), 0)
	f.WriteAt(bytes.Repeat([]byte{2}, 4096), 32*MiB)
	f.Close()
	dst, err := os.Create(filepath.Join(dir, "disk"))
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	dst.Truncate(128 * MiB)
	if err := CopyInto(dst, MiB, 64*MiB, src); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 1)
	dst.ReadAt(got, MiB+32*MiB)
	if got[0] != 2 {
		t.Fatalf("data not copied to its offset")
	}
	var st unix.Stat_t
	unix.Fstat(int(dst.Fd()), &st)
	if st.Blocks*512 > 1*MiB {
		t.Errorf("disk image uses %d bytes: holes were written out", st.Blocks*512)
	}
	if err := CopyInto(dst, 0, MiB, src); err == nil {
		t.Error("a partition image larger than its partition must be refused")
	}
}
