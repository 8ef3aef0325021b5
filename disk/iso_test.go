package disk

import (
	"strings"
	"testing"
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
