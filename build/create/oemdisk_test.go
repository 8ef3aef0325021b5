package create

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/diskfs/go-diskfs/partition/gpt"
	"github.com/diskfs/go-diskfs/partition/mbr"
	"github.com/kiwi-go/kiwi/disk"
	"github.com/kiwi-go/kiwi/internal/runner"
	"github.com/kiwi-go/kiwi/result"
	"golang.org/x/sys/unix"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// checkTable reads the partition table of the image file back with
// go-diskfs and compares it with the plan l.
func checkTable(t *testing.T, path string, l *disk.Layout) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type entry struct {
		start, size int64
		kind        string
		boot        bool
	}
	var got, want []entry
	switch l.Table {
	case "gpt":
		table, err := gpt.Read(f, 512, 512)
		if err != nil {
			t.Fatalf("read GPT: %v", err)
		}
		for _, p := range table.Partitions {
			if p.Type == gpt.Unused {
				continue
			}
			got = append(got, entry{int64(p.Start) * 512, int64(p.End-p.Start+1) * 512, strings.ToUpper(string(p.Type)) + " " + p.Name, false})
		}
		for _, p := range l.Partitions {
			want = append(want, entry{p.Start, p.Size, p.TypeGUID + " " + p.Name, false})
		}
	case "msdos":
		table, err := mbr.Read(f, 512, 512)
		if err != nil {
			t.Fatalf("read MBR: %v", err)
		}
		for _, p := range table.Partitions {
			if p.Type == mbr.Empty {
				continue
			}
			got = append(got, entry{int64(p.Start) * 512, int64(p.Size) * 512, fmt.Sprintf("%#x", byte(p.Type)), p.Bootable})
		}
		for _, p := range l.Partitions {
			want = append(want, entry{p.Start, p.Size, fmt.Sprintf("%#x", p.MBRType), p.Role == disk.RoleRoot})
		}
	default:
		t.Fatalf("table %q", l.Table)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s table of %s\n got %v\nwant %v", l.Table, path, got, want)
	}
	if out, err := exec.Command("sfdisk", "--dump", path).CombinedOutput(); err == nil {
		label := map[string]string{"gpt": "label: gpt", "msdos": "label: dos"}[l.Table]
		if !strings.Contains(string(out), label) || strings.Count(string(out), " : start=") != len(l.Partitions) {
			t.Errorf("sfdisk reads:\n%s", out)
		}
	}
}

// allocated is how many bytes of the file are on disk.
func allocated(t *testing.T, path string) int64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Blocks * 512
}

// TestAssembleTableIsThePlan: assemble starts the disk with its
// partition table in a sparse file (disk.NewImage, pure Go); the table
// read back is planDisk's layout for each kind of disk.
func TestAssembleTableIsThePlan(t *testing.T) {
	for _, c := range []struct {
		name string
		t    DiskType
	}{
		{"bios", DiskType{Arch: "x86_64", Firmware: "bios", Filesystem: "ext4"}},
		{"bios boot swap spare", DiskType{Arch: "x86_64", Firmware: "bios", Filesystem: "ext4", BootPartition: true, SwapSize: 64 * mib, SpareSize: 64 * mib, SpareFilesystem: "ext4"}},
		{"efi", DiskType{Arch: "x86_64", Firmware: "efi", Filesystem: "xfs"}},
		{"efi boot spare last size", DiskType{Arch: "x86_64", Firmware: "efi", Filesystem: "btrfs", BootPartition: true, SpareSize: 64 * mib, SpareLast: true, Size: 4096 * mib}},
		{"uefi aarch64", DiskType{Arch: "aarch64", Firmware: "uefi", Filesystem: "ext4"}},
		{"efi force_mbr", DiskType{Arch: "x86_64", Firmware: "efi", Filesystem: "ext4", ForceMBR: true, SwapSize: 64 * mib}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, l, err := planDisk(c.t, planTree)
			if err != nil {
				t.Fatal(err)
			}
			raw := filepath.Join(t.TempDir(), "d.raw")
			// A file there is replaced, not reused.
			if err := os.WriteFile(raw, bytes.Repeat([]byte{0xff}, 1<<20), 0o644); err != nil {
				t.Fatal(err)
			}
			img, err := disk.NewImage(raw, l)
			if err != nil {
				t.Fatal(err)
			}
			if err := img.Close(); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(raw)
			if err != nil || fi.Size() != l.Size {
				t.Fatalf("image %v, %v; want %d bytes", fi, err, l.Size)
			}
			if a := allocated(t, raw); a > mib {
				t.Errorf("the table takes %d bytes of disk: the image is not sparse", a)
			}
			checkTable(t, raw, l)
		})
	}
}

// hostTools skips the test unless every program and file is on the host.
func hostTools(t *testing.T, needs ...string) {
	t.Helper()
	for _, n := range needs {
		var err error
		if strings.HasPrefix(n, "/") {
			_, err = os.Stat(n)
		} else {
			_, err = exec.LookPath(n)
		}
		if err != nil {
			t.Skipf("needs %s on the host", n)
		}
	}
}

// debugfs runs a debugfs request on the ext* filesystem at offset of file.
func debugfs(t *testing.T, file string, offset int64, request string) string {
	t.Helper()
	out, err := exec.Command("debugfs", "-R", request, fmt.Sprintf("%s?offset=%d", file, offset)).Output()
	if err != nil {
		t.Fatalf("debugfs %s: %v", request, err)
	}
	return string(out)
}

// lsNames are the names debugfs "ls -p" lists, without . and ..
func lsNames(listing string) []string {
	var names []string
	for _, l := range strings.Split(listing, "\n") {
		f := strings.Split(l, "/")
		if len(f) > 5 && f[5] != "." && f[5] != ".." {
			names = append(names, f[5])
		}
	}
	return names
}

// TestFilesystemsAndAssembleOnATinyTree runs the two disk steps on a
// small tree with the host's mkfs and grub modules (no root, no loop
// device, no dracut) and reads the disk back: the table, every
// partition's files, swap and grub's boot code.
func TestFilesystemsAndAssembleOnATinyTree(t *testing.T) {
	hostTools(t, "mkfs.ext4", "mkfs.ext2", "mkswap", "grub-mkimage", "debugfs", "sh", "cp", "find",
		"/usr/lib/grub/i386-pc/kernel.img", "/usr/lib/grub/i386-pc/boot.img")
	for _, c := range []struct {
		name string
		t    DiskType
	}{
		{"bios: boot, swap, spare, root", DiskType{Arch: "x86_64", Firmware: "bios", Filesystem: "ext4",
			BootPartition: true, BootPartSize: 16 * mib, SwapSize: 8 * mib,
			SpareSize: 16 * mib, SpareFilesystem: "ext4", SpareMountpoint: "/srv/data"}},
		{"efi: bios_grub, ESP, root", DiskType{Arch: "x86_64", Firmware: "efi", Filesystem: "ext4", ESPSize: 8 * mib}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.t.Firmware == "efi" {
				hostTools(t, "mkfs.fat", "mcopy", "mdir", "/usr/lib/grub/x86_64-efi/kernel.img")
			}
			ctx := context.Background()
			root := filepath.Join(t.TempDir(), "root")
			for name, content := range map[string]string{
				"etc/hostname": "tiny\n", "boot/vmlinuz-test": "kernel\n", "boot/grub/grub.cfg": "# menu\n", "srv/data/marker": "spare\n",
			} {
				if err := os.MkdirAll(filepath.Dir(filepath.Join(root, name)), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			o := Options{Root: root, Log: quiet()}
			used, err := treeSize(root)
			if err != nil {
				t.Fatal(err)
			}
			spec, l, err := planDisk(c.t, used)
			if err != nil {
				t.Fatal(err)
			}
			ids := newIdentities(l)
			place := bootPlaceOf(l, ids, "grub")
			work := t.TempDir()

			content, err := filesystems(ctx, o, c.t, spec, l, ids, work)
			if err != nil {
				t.Fatal(err)
			}
			defer content.remove()
			if content.Layout != l || content.RootFile != "" {
				t.Errorf("ext4 root: filesystems changed the plan or made a root image: %+v", content)
			}
			ownDirs := c.t.BootPartition || c.t.SpareMountpoint != ""
			if (content.RootDir != root) != ownDirs || filepath.Dir(content.RootDir) != filepath.Dir(root) {
				t.Errorf("root filled from %s (root %s)", content.RootDir, root)
			}

			raw := filepath.Join(work, "d.raw")
			if err := assemble(ctx, o, c.t, content, ids, place, raw, work); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(raw)
			if err != nil || fi.Size() != l.Size {
				t.Fatalf("disk %v, %v; want %d bytes", fi, err, l.Size)
			}
			if a := allocated(t, raw); a > l.Size/4 {
				t.Errorf("the disk takes %d of its %d bytes: not sparse", a, l.Size)
			}
			if m, _ := filepath.Glob(filepath.Join(work, "part*.img")); len(m) > 0 {
				t.Errorf("partition images left in work: %v", m)
			}
			checkTable(t, raw, l)

			rp := l.Find(disk.RoleRoot)
			if got := debugfs(t, raw, rp.Start, "cat /etc/hostname"); got != "tiny\n" {
				t.Errorf("root /etc/hostname = %q", got)
			}
			if got := debugfs(t, raw, rp.Start, "stats"); !strings.Contains(got, "Filesystem UUID:          "+ids.fsUUID[disk.RoleRoot]) ||
				!strings.Contains(got, "Filesystem volume name:   ROOT") {
				t.Errorf("root filesystem is not the planned one:\n%s", got)
			}
			rootBoot := lsNames(debugfs(t, raw, rp.Start, "ls -p /boot"))
			if p := l.Find(disk.RoleBoot); p != nil {
				if len(rootBoot) != 0 {
					t.Errorf("the root's /boot holds %v: it belongs to the boot partition", rootBoot)
				}
				if got := debugfs(t, raw, p.Start, "cat /vmlinuz-test"); got != "kernel\n" {
					t.Errorf("boot partition /vmlinuz-test = %q", got)
				}
			} else if strings.Join(rootBoot, " ") != "grub vmlinuz-test" {
				t.Errorf("root /boot holds %v", rootBoot)
			}
			if p := l.Find(disk.RoleSpare); p != nil {
				if names := lsNames(debugfs(t, raw, rp.Start, "ls -p /srv/data")); len(names) != 0 {
					t.Errorf("the root's /srv/data holds %v", names)
				}
				if got := debugfs(t, raw, p.Start, "cat /marker"); got != "spare\n" {
					t.Errorf("spare partition /marker = %q", got)
				}
			}
			f, err := os.Open(raw)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if p := l.Find(disk.RoleSwap); p != nil {
				sig := make([]byte, 10)
				f.ReadAt(sig, p.Start+4096-10)
				if string(sig) != "SWAPSPACE2" {
					t.Errorf("no swap signature: %q", sig)
				}
			}
			if p := l.Find(disk.RoleESP); p != nil {
				out, err := exec.Command("mdir", "-i", fmt.Sprintf("%s@@%d", raw, p.Start), "-b", "::/EFI/BOOT").CombinedOutput()
				if err != nil || !strings.Contains(string(out), "BOOTX64.EFI") {
					t.Errorf("ESP: %v\n%s", err, out)
				}
			}

			// grub's boot.img in the MBR, pointing at the core image:
			// the bios_grub partition, or the sector after the MBR.
			mbrSector := make([]byte, 512)
			f.ReadAt(mbrSector, 0)
			bootImg, err := os.ReadFile("/usr/lib/grub/i386-pc/boot.img")
			if err != nil {
				t.Fatal(err)
			}
			coreLBA := int64(1)
			if p := l.Find(disk.RoleBIOSBoot); p != nil {
				coreLBA = p.Start / 512
			}
			if !bytes.Equal(mbrSector[:0x5c], bootImg[:0x5c]) || int64(binary.LittleEndian.Uint64(mbrSector[0x5c:])) != coreLBA ||
				mbrSector[510] != 0x55 || mbrSector[511] != 0xaa {
				t.Errorf("MBR has no grub boot code pointing at sector %d", coreLBA)
			}
			core := make([]byte, 512)
			f.ReadAt(core, coreLBA*512)
			if int64(binary.LittleEndian.Uint64(core[500:])) != coreLBA+1 {
				t.Errorf("no grub core image at sector %d", coreLBA)
			}

			content.remove()
			if _, err := os.Stat(content.RootDir); ownDirs && err == nil {
				t.Errorf("the tree copy %s is still there", content.RootDir)
			}
			for _, name := range []string{"boot/vmlinuz-test", "srv/data/marker", "etc/hostname"} {
				if _, err := os.Stat(filepath.Join(root, name)); err != nil {
					t.Errorf("the root lost %s: %v", name, err)
				}
			}
		})
	}
}

// TestFilesystemsMakesTheRootImageFirst: a root filesystem that cannot be
// made in place is made before the disk, into work; when its tool fails,
// the tree copy is gone.
func TestFilesystemsMakesTheRootImageFirst(t *testing.T) {
	hostTools(t, "mkfs.btrfs", "sh", "cp", "find")
	ctx := context.Background()
	parent := t.TempDir()
	root := filepath.Join(parent, "root")
	if err := os.MkdirAll(filepath.Join(root, "srv/data"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "srv/data/marker"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	o := Options{Root: root, Log: quiet()}
	dt := DiskType{Arch: "x86_64", Firmware: "bios", Filesystem: "btrfs", SpareSize: 16 * mib, SpareFilesystem: "ext4", SpareMountpoint: "/srv/data"}
	spec, l, err := planDisk(dt, 0)
	if err != nil {
		t.Fatal(err)
	}
	ids := newIdentities(l)

	work := t.TempDir()
	c, err := filesystems(ctx, o, dt, spec, l, ids, work)
	if err != nil {
		t.Fatal(err)
	}
	if c.RootFile != filepath.Join(work, "root.img") {
		t.Fatalf("root image %q", c.RootFile)
	}
	fi, err := os.Stat(c.RootFile)
	if err != nil || fi.Size() > c.Layout.Find(disk.RoleRoot).Size {
		t.Errorf("root image %v, %v does not fit the plan %s", fi, err, layoutString(c.Layout))
	}
	c.remove()

	dt.FSCreateOptions = []string{"--no-such-option"}
	_, err = filesystems(ctx, o, dt, spec, l, ids, t.TempDir())
	if err == nil || !strings.HasPrefix(err.Error(), "root filesystem: ") {
		t.Fatalf("error %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(parent, ".kiwi-tree-*")); len(left) > 0 {
		t.Errorf("tree copies left after the error: %v", left)
	}
}

func TestConvertDiskResults(t *testing.T) {
	ctx := context.Background()
	o := Options{Log: quiet()}
	work := t.TempDir()
	raw := filepath.Join(work, "d.raw")
	if err := os.WriteFile(raw, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	// Without format= nothing runs: the raw disk is the result.
	res, err := convertDisk(ctx, o, DiskType{}, raw, work, "d")
	if err != nil || fmt.Sprint(res) != fmt.Sprint([]Result{{Key: "disk_image", File: result.File{Filename: "d.raw", Shasum: true, Bundle: true, Compress: true}}}) {
		t.Errorf("raw only: %+v, %v", res, err)
	}
	if entries, _ := os.ReadDir(work); len(entries) != 1 {
		t.Errorf("work holds %v", entries)
	}
	if _, err := convertDisk(ctx, o, DiskType{Format: "iso"}, raw, work, "d"); err == nil {
		t.Error("an unknown format was converted")
	}
	hostTools(t, "qemu-img")
	res, err = convertDisk(ctx, Options{Log: quiet(), Run: runner.Runner{}}, DiskType{Format: "vhd-fixed"}, raw, work, "d")
	if err != nil || len(res) != 2 || res[0].Bundle || res[1] != (Result{Key: "disk_format_image", File: result.File{Filename: "d.vhdfixed", Shasum: true, Bundle: true, Compress: true}}) {
		t.Fatalf("vhd-fixed: %+v, %v", res, err)
	}
	if _, err := os.Stat(filepath.Join(work, "d.vhdfixed")); err != nil {
		t.Error(err)
	}
}
