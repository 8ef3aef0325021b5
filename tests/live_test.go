package tests

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

const liveBase = "debian-live.x86_64-1.0.0"

// liveRoot is a private copy of the cached bootable Debian root (with
// dracut-live) holding the live test description in image/.
func liveRoot(t *testing.T) string {
	root := bootRootWith(t, filepath.Join(s.repo, "tests", "testdata", "debian-live", "config.xml"))
	// The iso type's editbootconfig, as prepare imports it: KIWI runs it on
	// the host in the root dir with iso:<media dir> and 1, before the ISO
	// is written; what it adds to the media's grub.cfg is on the ISO.
	script := "#!/bin/bash\nset -e\ntest -f image/config.xml\n" +
		`echo "# edited by edit_boot_config.sh: ${1%%:*} $2" >> "${1#iso:}/boot/grub/grub.cfg"` + "\n"
	if err := os.WriteFile(filepath.Join(root, "image", "edit_boot_config.sh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return root
}

func writeDescription(t *testing.T, root, desc string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(root, "image"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "image", "config.xml"), []byte(desc), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustRead(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// createLive runs kiwi system create for a profile of the live test
// description in a private mount namespace where every loop device is
// /dev/null, so any use of one fails.
func createLive(t *testing.T, profile string) (string, string) {
	t.Helper()
	root := liveRoot(t)
	target := filepath.Join(t.TempDir(), "out")
	args := []string{"--debug", "--profile", profile, "system", "create", "--root", root, "--target-dir", target}
	script := `for l in /dev/loop*; do mount --bind /dev/null "$l"; done; exec "$@"`
	start := time.Now()
	r := command(t, "unshare", append([]string{"--mount", "--propagation", "private", "sh", "-c", script, "sh", s.kiwi}, args...)...)
	if r.err != nil {
		t.Fatalf("kiwi system create (%s): %v\n%s", profile, r.err, tail(r.stderr, 6000))
	}
	t.Logf("create %s took %v", profile, time.Since(start).Round(time.Second))
	return target, r.stderr
}

// checkSHA256 checks that file.sha256 (or sumFile) holds file's digest.
func checkSHA256(t *testing.T, file, sumFile string) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	want := hex.EncodeToString(h.Sum(nil)) + "  " + filepath.Base(file) + "\n"
	if got := mustRead(t, sumFile); got != want {
		t.Errorf("%s = %q, want %q", sumFile, got, want)
	}
}

// checkCommon checks what every create leaves: .packages listing the
// kernel, .verified, kiwi.result.json naming key's file, no work files.
func checkCommon(t *testing.T, target, base, key, file string) {
	t.Helper()
	pk := mustRead(t, filepath.Join(target, base+".packages"))
	if !regexp.MustCompile(`(?m)^linux-image-amd64\|None\|[^|]+\|None\|amd64\|None\|None$`).MatchString(pk) {
		t.Errorf(".packages does not list the kernel package:\n%.300s", pk)
	}
	if _, err := os.Stat(filepath.Join(target, base+".verified")); err != nil {
		t.Error(err)
	}
	var manifest map[string]struct {
		Filename string `json:"filename"`
	}
	b := mustRead(t, filepath.Join(target, "kiwi.result.json"))
	if json.Unmarshal([]byte(b), &manifest) != nil || manifest[key].Filename != filepath.Join(target, file) {
		t.Errorf("kiwi.result.json has no %s = %s:\n%s", key, file, b)
	}
	entries, _ := os.ReadDir(target)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("work file %s left in the target dir", e.Name())
		}
	}
}

// xorrisoReport is xorriso's report of an ISO's volume, El Torito and
// partition tables (read from the file: nothing mounted).
func xorrisoReport(t *testing.T, iso string) string {
	t.Helper()
	out, err := exec.Command("xorriso", "-indev", iso, "-pvd_info", "-report_el_torito", "plain", "-report_system_area", "plain").CombinedOutput()
	if err != nil {
		t.Fatalf("xorriso report: %v\n%s", err, out)
	}
	return string(out)
}

// TestLiveISO builds one live ISO and boots it three ways: as a CD under
// SeaBIOS, as a CD under OVMF, and as a virtio disk under SeaBIOS.
func TestLiveISO(t *testing.T) {
	pooled(t, 399)
	target, log := createLive(t, "iso")
	iso := filepath.Join(target, liveBase+".iso")
	checkSHA256(t, iso, iso+".sha256")
	checkCommon(t, target, liveBase, "live_image", liveBase+".iso")
	for _, want := range []string{"building live initrd", "packing the root", "writing ISO"} {
		if !strings.Contains(log, want) {
			t.Errorf("no progress line %q in the log", want)
		}
	}
	if !regexp.MustCompile(`run cmd=xorriso .*-V KIWILIVE -publisher 'kiwi tests'`).MatchString(log) {
		t.Errorf("--debug does not show the xorriso command with volid and publisher")
	}

	rep := xorrisoReport(t, iso)
	for _, want := range []string{"Volume Id    : KIWILIVE", "Publisher Id : KIWI TESTS", "El Torito boot img :   1  BIOS",
		"El Torito boot img :   2  UEFI", "grub2-mbr", "GPT"} {
		if !strings.Contains(rep, want) {
			t.Errorf("ISO report lacks %q:\n%s", want, rep)
		}
	}
	// The EFI image is GPT partition 2: read its FAT with mtools.
	m := regexp.MustCompile(`GPT start and size :\s+2\s+(\d+)\s+(\d+)`).FindStringSubmatch(rep)
	if m == nil {
		t.Fatalf("no GPT partition 2 (ESP) in:\n%s", rep)
	}
	start, _ := strconv.ParseInt(m[1], 10, 64)
	out, err := exec.Command("mdir", "-i", iso+"@@"+strconv.FormatInt(start*512, 10), "-b", "::/EFI/BOOT").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "BOOTX64.EFI") {
		t.Errorf("the ESP has no EFI/BOOT/BOOTX64.EFI: %v\n%s", err, out)
	}
	cfg := filepath.Join(t.TempDir(), "grub.cfg")
	if out, err := exec.Command("xorriso", "-osirrox", "on", "-indev", iso, "-extract", "/boot/grub/grub.cfg", cfg).CombinedOutput(); err != nil {
		t.Fatalf("extract grub.cfg: %v\n%s", err, out)
	}
	g := mustRead(t, cfg)
	for _, want := range []string{"serial --unit=0 --speed=115200", "terminal_output serial",
		"root=live:CDLABEL=KIWILIVE rd.live.image rd.live.overlay.overlayfs=1 console=ttyS0", "search --no-floppy --file --set=root /boot/0x",
		"# edited by edit_boot_config.sh: iso 1"} {
		if !strings.Contains(g, want) {
			t.Errorf("grub.cfg lacks %q:\n%s", want, g)
		}
	}

	t.Run("SeaBIOSCDROM", func(t *testing.T) {
		start := time.Now()
		boot(t, bootOptions{CDROM: iso}, "login:", 4*time.Minute)
		t.Logf("login prompt after %v", time.Since(start).Round(time.Second))
	})
	t.Run("OVMFCDROM", func(t *testing.T) {
		start := time.Now()
		boot(t, bootOptions{CDROM: iso, EFI: true}, "login:", 4*time.Minute)
		t.Logf("login prompt after %v", time.Since(start).Round(time.Second))
	})
	// Written to a disk larger than the ISO (hybridpersistent): the first
	// boot adds the write partition, and what the live system writes is
	// still there after a reboot.
	t.Run("SeaBIOSDiskPersistent", func(t *testing.T) {
		disk := filepath.Join(t.TempDir(), "usb.raw")
		if out, err := exec.Command("cp", "--sparse=always", iso, disk).CombinedOutput(); err != nil {
			t.Fatalf("%v %s", err, out)
		}
		fi, err := os.Stat(disk)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(disk, fi.Size()+256<<20); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		v := boot(t, bootOptions{Disk: disk, Format: "raw"}, "login:", 4*time.Minute)
		t.Logf("login prompt after %v", time.Since(start).Round(time.Second))
		pos := v.Login(t)
		// xorriso's GPT has three entries: the new partition is the 4th.
		out, pos := v.Run(t, pos, "findmnt -n -o FSTYPE /; cat /proc/cmdline; blkid -L live-rw; findmnt -n -o SOURCE /run/initramfs/overlayfs; echo kept >/root/persisted; sync")
		if !strings.Contains(out, "overlay") || !strings.Contains(out, "root=live:CDLABEL=KIWILIVE") || strings.Count(out, "/dev/vda4") != 2 {
			t.Errorf("the root is not dracut's live overlay on the write partition vda4:\n%s", out)
			diag, _ := v.Run(t, pos, "sfdisk -l /dev/vda; cat /run/initramfs/init.log; journalctl -b -o short-monotonic --no-pager | grep -E 'kiwi-persistent|dmsquash|initqueue' | head -40")
			t.Logf("initrd's view of the disk:\n%s", diag)
		}
		v.Send(t, "systemctl poweroff\n")
		select {
		case <-v.done:
		case <-time.After(2 * time.Minute):
			t.Fatal("the live system did not power off")
		}
		v = boot(t, bootOptions{Disk: disk, Format: "raw"}, "login:", 4*time.Minute)
		pos = v.Login(t)
		if out, _ := v.Run(t, pos, "cat /root/persisted"); !strings.Contains(out, "kept") {
			t.Errorf("a file written before the reboot is gone: %q", out)
		}
	})
}

// TestKis builds a kis set once, with compressed="true": the root image
// ships as <base>.xz, which the .sha256 covers and which decompresses to
// the filesystem the .append line names; its kernel and initrd boot with
// the .append line and the decompressed root as a virtio disk. (One
// create for both: a second one cost CI two and a half minutes.)
func TestKis(t *testing.T) {
	pooled(t, 222)
	target, _ := createLive(t, "kis")
	xz := filepath.Join(target, liveBase+".xz")
	checkSHA256(t, xz, filepath.Join(target, liveBase+".sha256"))
	checkCommon(t, target, liveBase, "kis_archive", liveBase+".tar.xz")
	if _, err := os.Stat(filepath.Join(target, liveBase)); err == nil {
		t.Error("the uncompressed root image is a result too")
	}
	kernels, _ := filepath.Glob(filepath.Join(target, liveBase+"-*.kernel"))
	if len(kernels) != 1 {
		t.Fatalf("kernel files: %v", kernels)
	}
	root := filepath.Join(t.TempDir(), "root.img")
	if out, err := exec.Command("sh", "-c", `xz -dc "$1" > "$2"`, "sh", xz, root).CombinedOutput(); err != nil {
		t.Fatalf("xz -d: %v %s", err, out)
	}
	if out, err := exec.Command("e2fsck", "-fn", root).CombinedOutput(); err != nil {
		t.Errorf("e2fsck of the decompressed root: %v\n%s", err, out)
	}
	uuid, err := exec.Command("blkid", "-o", "value", "-s", "UUID", root).Output()
	if err != nil {
		t.Fatalf("blkid %s: %v", root, err)
	}
	appendLine := strings.TrimSpace(mustRead(t, filepath.Join(target, liveBase+".append")))
	if want := "root=UUID=" + strings.TrimSpace(string(uuid)) + " rw console=ttyS0"; appendLine != want {
		t.Errorf(".append = %q, want %q", appendLine, want)
	}
	list, err := exec.Command("tar", "-tJf", filepath.Join(target, liveBase+".tar.xz")).Output()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Fields(string(list))
	want := []string{filepath.Base(kernels[0]), liveBase + ".initrd", liveBase + ".xz", liveBase + ".append", liveBase + ".sha256"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("archive holds %v, want %v", got, want)
	}
	start := time.Now()
	boot(t, bootOptions{Kernel: kernels[0], Initrd: filepath.Join(target, liveBase+".initrd"), Append: appendLine + " console=ttyS0",
		Disk: root, Format: "raw"}, "login:", 4*time.Minute)
	t.Logf("login prompt after %v", time.Since(start).Round(time.Second))
}

// TestLiveBadInputs: bad descriptions and roots fail before anything is
// made, with an error naming the input and the fix, and leave the target
// dir as it was.
func TestLiveBadInputs(t *testing.T) {
	desc := func(typ string) string {
		return `<?xml version="1.0" encoding="utf-8"?>
<image schemaversion="7.4" name="bad">
    <description type="system"><author>t</author><contact>t@localhost</contact><specification>t</specification></description>
    <preferences><version>1.0.0</version><packagemanager>apt</packagemanager>` + typ + `</preferences>
</image>
`
	}
	// A root with a kernel and a dracut whose dmsquash-live reads squashfs only.
	kernelRoot := func(t *testing.T, module bool) string {
		root := t.TempDir()
		for _, d := range []string{"boot", "usr/lib/modules/6.1.0-1-amd64", "usr/lib/dracut/modules.d/90dmsquash-live"} {
			if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		files := map[string]string{"boot/vmlinuz-6.1.0-1-amd64": "kernel"}
		if module {
			files["usr/lib/dracut/modules.d/90dmsquash-live/module-setup.sh"] = "#!/bin/bash\n"
			files["usr/lib/dracut/modules.d/90dmsquash-live/dmsquash-live-root.sh"] = "mount -n -t squashfs\n"
		}
		for p, c := range files {
			if err := os.WriteFile(filepath.Join(root, p), []byte(c), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return root
	}
	cases := []struct {
		name, typ string
		root      func(t *testing.T) string
		want      []string
	}{
		{"unknown compression", `<type image="iso" squashfscompression="brotli"/>`, func(t *testing.T) string { return t.TempDir() },
			[]string{"squashfscompression", "brotli", "zstd"}},
		{"iso without kernel", `<type image="iso"/>`, func(t *testing.T) string { return t.TempDir() },
			[]string{"no kernel", "install a kernel"}},
		{"kis without kernel", `<type image="kis"/>`, func(t *testing.T) string { return t.TempDir() },
			[]string{"no kernel", "install a kernel"}},
		{"iso without dracut-live", `<type image="iso"/>`, func(t *testing.T) string { return kernelRoot(t, false) },
			[]string{"dmsquash-live", "dracut-live"}},
		{"erofs with an old dracut", `<type image="iso" filesystem="erofs"/>`, func(t *testing.T) string { return kernelRoot(t, true) },
			[]string{"erofs", "squashfs"}},
		{"kis on fat", `<type image="kis" filesystem="fat"/>`, func(t *testing.T) string { return kernelRoot(t, true) },
			[]string{"fat"}},
	}
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			root := c.root(t)
			writeDescription(t, root, desc(c.typ))
			target := filepath.Join(t.TempDir(), "out")
			if err := os.Mkdir(target, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(target, "keep"), []byte("mine"), 0o644); err != nil {
				t.Fatal(err)
			}
			r := kiwi(t, "system", "create", "--root", root, "--target-dir", target)
			if r.err == nil {
				t.Fatalf("create succeeded:\n%s", r.stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("error does not mention %q:\n%s", w, r.stderr)
				}
			}
			entries, _ := os.ReadDir(target)
			if len(entries) != 1 || mustRead(t, filepath.Join(target, "keep")) != "mine" {
				t.Errorf("target dir changed: %v", entries)
			}
		})
	}
}
