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

func TestPartitionFileWritesBackOnlyWhatChanged(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "disk.raw")
	// A 6 MiB disk whose partition starts at 1 MiB and ends half a
	// sector into its fourth chunk; data in its first and third chunk.
	p := Partition{Number: 2, Start: MiB, Size: 3*MiB + 256}
	disk := make([]byte, 6*MiB)
	for i := range disk {
		disk[i] = 0xee // outside the partition: must stay
	}
	part := disk[p.Start:p.End()]
	clear(part)
	copy(part[10:], "first chunk")
	copy(part[2*MiB+5:], "third chunk")
	if err := os.WriteFile(img, disk, 0o644); err != nil {
		t.Fatal(err)
	}
	pf, err := ExtractPartition(img, p, filepath.Join(dir, "part"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(pf.Path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, part) {
		t.Fatal("the copy is not the partition's bytes")
	}
	var st unix.Stat_t
	if err := unix.Stat(pf.Path, &st); err != nil {
		t.Fatal(err)
	}
	if st.Blocks*512 > 2*MiB+64*1024 {
		t.Errorf("the copy allocates %d bytes: its zero chunks are not holes", st.Blocks*512)
	}

	// Unchanged: nothing is written.
	if n, err := pf.WriteBack(img); err != nil || n != 0 {
		t.Fatalf("write back of an unchanged copy: %d bytes, %v", n, err)
	}
	// A hook changes the first chunk, zeroes the third and writes the
	// partial last one.
	f, err := os.OpenFile(pf.Path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	for off, b := range map[int64][]byte{10: []byte("FIRST"), 2*MiB + 5: make([]byte, 11), 3*MiB + 200: []byte("tail")} {
		if _, err := f.WriteAt(b, off); err != nil {
			t.Fatal(err)
		}
		copy(part[off:], b)
	}
	f.Close()
	n, err := pf.WriteBack(img)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(2*MiB + 256); n != want {
		t.Errorf("wrote %d bytes back, want %d (three changed chunks)", n, want)
	}
	got, err = os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, disk) {
		t.Error("the disk after write back is not the old disk with the changed partition")
	}

	// A copy that changed its size is refused; the disk stays.
	if err := os.Truncate(pf.Path, 4*MiB); err != nil {
		t.Fatal(err)
	}
	if _, err := pf.WriteBack(img); err == nil || !strings.Contains(err.Error(), "cannot change its size") {
		t.Errorf("write back of a grown copy: %v", err)
	}
	if again, _ := os.ReadFile(img); !bytes.Equal(again, disk) {
		t.Error("a refused write back changed the disk")
	}
}
