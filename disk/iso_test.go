package disk

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kiwi-go/kiwi/internal/runner"
)

func TestISOArgs(t *testing.T) {
	i := ISO{Media: "/m", VolumeID: "LIVE", Publisher: "ACME Inc", ApplicationID: "0x1234", Preparer: "kiwi",
		BIOSImage: "/boot/grub/i386-pc/eltorito.img", HybridMBR: "/g/boot_hybrid.img", EFIImage: "/w/efi.img"}
	if err := i.Check(); err != nil {
		t.Fatal(err)
	}
	args := strings.Join(i.Args("/w/out.iso"), " ")
	for _, want := range []string{
		"-as mkisofs", "-iso-level 3", "-V LIVE", "-publisher ACME Inc", "-A 0x1234", "-p kiwi",
		"--grub2-mbr /g/boot_hybrid.img", "-partition_offset 16",
		"-append_partition 2 0xef /w/efi.img", "-appended_part_as_gpt",
		"-b boot/grub/i386-pc/eltorito.img -no-emul-boot -boot-load-size 4 -boot-info-table --grub2-boot-info",
		"-eltorito-alt-boot -e --interval:appended_partition_2:all:: -no-emul-boot",
		"-o /w/out.iso /m",
	} {
		if !strings.Contains(args, want) {
			t.Errorf("xorriso args lack %q:\n%s", want, args)
		}
	}
	for _, bad := range []ISO{{VolumeID: ""}, {VolumeID: strings.Repeat("x", 33)}, {VolumeID: "OK"}} {
		if bad.Check() == nil {
			t.Errorf("%+v passed the check", bad)
		}
	}
}

// TestMakeISOWithEpochIsReproducible writes an ISO of the same media
// twice, the media written a second apart: with an epoch the bytes are
// equal (xorriso's dates and the files' times are the epoch's), without
// they differ.
func TestMakeISOWithEpochIsReproducible(t *testing.T) {
	work := t.TempDir()
	ctx := context.Background()
	media := func(name string) (string, string) {
		dir := filepath.Join(work, name)
		for p, content := range map[string]string{"boot/grub/i386-pc/eltorito.img": strings.Repeat("\x00", 4096), "boot/grub/grub.cfg": "menuentry x {}\n", "LiveOS/file": "data\n"} {
			if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, p), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		efiDir := filepath.Join(work, name+"-efi")
		if err := os.MkdirAll(filepath.Join(efiDir, "EFI/BOOT"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(efiDir, "EFI/BOOT/BOOTX64.EFI"), []byte("efi"), 0o644); err != nil {
			t.Fatal(err)
		}
		return dir, efiDir
	}
	epoch := time.Unix(1700000000, 0)
	iso := func(name string, e *time.Time) string {
		dir, efiDir := media(name)
		efi := filepath.Join(work, name+".efi.img")
		if err := Make(ctx, runner.Runner{}, Filesystem{Type: "fat", Label: "EFIBOOT", UUID: "0B2A3C4D", Size: 2 << 20, Epoch: e}, efiDir, efi, 0); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(work, name+".iso")
		if err := MakeISO(ctx, runner.Runner{}, ISO{Media: dir, VolumeID: "TEST", ApplicationID: "0x1234", BIOSImage: "/boot/grub/i386-pc/eltorito.img",
			HybridMBR: "/usr/lib/grub/i386-pc/boot_hybrid.img", EFIImage: efi, Epoch: e}, out); err != nil {
			t.Fatal(err)
		}
		return sum(t, out)
	}
	plainA, a := iso("pa", nil), iso("a", &epoch)
	time.Sleep(1100 * time.Millisecond)
	plainB, b := iso("pb", nil), iso("b", &epoch)
	if a != b {
		out, _ := exec.Command("sh", "-c", `cmp -l "$1" "$2" | head`, "sh", filepath.Join(work, "a.iso"), filepath.Join(work, "b.iso")).Output()
		t.Errorf("two ISOs of the same media with an epoch differ:\n%s", out)
	}
	if plainA == plainB {
		t.Error("ISOs a second apart are equal without an epoch: the check above proves nothing")
	}
}
