package boot

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindKernelPicksTheNewestWithModules(t *testing.T) {
	root := t.TempDir()
	for _, v := range []string{"6.1.0-9-amd64", "6.1.0-10-amd64", "6.5.0-1-amd64"} {
		if err := os.MkdirAll(filepath.Join(root, "boot"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "boot", "vmlinuz-"+v), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// 6.5 has no modules: a leftover, not the image's kernel.
	for _, v := range []string{"6.1.0-9-amd64", "6.1.0-10-amd64"} {
		if err := os.MkdirAll(filepath.Join(root, "usr/lib/modules", v), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	k, err := FindKernel(root)
	if err != nil {
		t.Fatal(err)
	}
	if k.Version != "6.1.0-10-amd64" || k.Image != "boot/vmlinuz-6.1.0-10-amd64" || k.Initrd != "boot/initrd.img-6.1.0-10-amd64" {
		t.Fatalf("kernel = %+v", k)
	}
	if _, err := FindKernel(t.TempDir()); err == nil || !strings.Contains(err.Error(), "install a kernel") {
		t.Fatalf("no kernel: %v", err)
	}
}

func TestMenuConfig(t *testing.T) {
	m := Menu{Title: "Demo", BootUUID: "1234", KernelDir: "/boot", Kernel: &Kernel{Version: "6", Image: "boot/vmlinuz-6", Initrd: "boot/initrd.img-6"},
		Cmdline: "root=UUID=1234 rw console=ttyS0", Timeout: 3, Serial: true}
	cfg := m.Config()
	for _, want := range []string{"set timeout=3", "serial --unit=0 --speed=115200", "terminal_output serial console",
		"search --no-floppy --fs-uuid --set=root 1234", "linux /boot/vmlinuz-6 root=UUID=1234 rw console=ttyS0", "initrd /boot/initrd.img-6"} {
		if !strings.Contains(cfg, want) {
			t.Errorf("grub.cfg lacks %q:\n%s", want, cfg)
		}
	}
	m.KernelDir = "/"
	if !strings.Contains(m.Config(), "linux /vmlinuz-6 ") {
		t.Errorf("kernel on a boot partition:\n%s", m.Config())
	}
}

func TestInstallBIOSWritesBootSectorAndBlockList(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "usr/lib/grub/i386-pc")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bootImg := make([]byte, 512)
	for i := range bootImg {
		bootImg[i] = 0xAA
	}
	if err := os.WriteFile(filepath.Join(dir, "kernel.img"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "boot.img"), bootImg, 0o644); err != nil {
		t.Fatal(err)
	}
	core := filepath.Join(t.TempDir(), "core.img")
	if err := os.WriteFile(core, make([]byte, 3*512+100), 0o644); err != nil {
		t.Fatal(err)
	}
	disk, err := os.Create(filepath.Join(t.TempDir(), "disk"))
	if err != nil {
		t.Fatal(err)
	}
	defer disk.Close()
	mbr := make([]byte, 512)
	mbr[440], mbr[510], mbr[511] = 0x42, 0x55, 0xAA // disk signature, boot signature
	if _, err := disk.WriteAt(mbr, 0); err != nil {
		t.Fatal(err)
	}
	if err := disk.Truncate(4 << 20); err != nil {
		t.Fatal(err)
	}
	if err := InstallBIOS(disk, root, core, 2048, 4096); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 512)
	if _, err := disk.ReadAt(got, 0); err != nil {
		t.Fatal(err)
	}
	if got[0] != 0xAA || got[440] != 0x42 || got[510] != 0x55 || got[511] != 0xAA {
		t.Errorf("boot code, disk signature or boot signature wrong: % x", got[436:446])
	}
	if binary.LittleEndian.Uint64(got[0x5c:]) != 2048 || got[0x66] != 0x90 || got[0x67] != 0x90 {
		t.Errorf("core address or floppy patch wrong")
	}
	first := make([]byte, 512)
	if _, err := disk.ReadAt(first, 2048*512); err != nil {
		t.Fatal(err)
	}
	if binary.LittleEndian.Uint64(first[500:]) != 2049 || binary.LittleEndian.Uint16(first[508:]) != 3 {
		t.Errorf("block list = start %d count %d, want 2049 and 3", binary.LittleEndian.Uint64(first[500:]), binary.LittleEndian.Uint16(first[508:]))
	}
	if err := InstallBIOS(disk, root, core, 1, 2); err == nil {
		t.Error("a core image larger than its gap must be refused")
	}
}

func TestMenuConfigLiveMedia(t *testing.T) {
	m := Menu{Title: "Live", MarkerFile: "/boot/0x12345678", KernelDir: "/boot/x86_64/loader",
		Kernel:  &Kernel{Version: "6", Image: "boot/x86_64/loader/linux", Initrd: "boot/x86_64/loader/initrd"},
		Cmdline: "root=live:CDLABEL=CDROM rd.live.image", MediaCheck: true}
	cfg := m.Config()
	for _, want := range []string{"search --no-floppy --file --set=root /boot/0x12345678",
		"linux /boot/x86_64/loader/linux root=live:CDLABEL=CDROM rd.live.image\n", "initrd /boot/x86_64/loader/initrd",
		"menuentry 'Check the medium, then boot Live'", "rd.live.image rd.live.check\n"} {
		if !strings.Contains(cfg, want) {
			t.Errorf("grub.cfg lacks %q:\n%s", want, cfg)
		}
	}
	if strings.Contains(cfg, "--fs-uuid") {
		t.Errorf("live media searched by UUID:\n%s", cfg)
	}
	if got := earlyConfigFor(searchCommand("", "/boot/0x1"), "/boot/grub"); got != "search --no-floppy --file --set=root /boot/0x1\nset prefix=($root)/boot/grub\nconfigfile ($root)/boot/grub/grub.cfg\n" {
		t.Errorf("early config = %q", got)
	}
}
