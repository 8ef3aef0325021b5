package tests

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// bootRoot is a private copy of the cached bootable Debian root with the
// oem test description in image/ (create writes fstab, grub.cfg and the
// initrd into the root it is given, so the cache is never used directly).
func bootRoot(t *testing.T) string {
	return bootRootWith(t, filepath.Join(s.repo, "tests", "testdata", "debian-oem", "config.xml"))
}

// bootRootWith is bootRoot with the description file desc.
func bootRootWith(t *testing.T, desc string) string {
	return rootCopy(t, "bookworm-boot", desc)
}

// minbaseRoot is a private copy of the cached minbase Debian root with
// the benchmark's description (plain filesystem types) in image/.
func minbaseRoot(t *testing.T) string {
	return rootCopy(t, "bookworm-minbase", filepath.Join(s.repo, "bench", "create-config.xml"))
}

// rootCopy copies the cached root of kind (hack/debian-root.sh) into a
// temp dir of t and writes the description file desc into its image/.
func rootCopy(t *testing.T, kind, desc string) string {
	t.Helper()
	out, err := exec.Command(filepath.Join(s.repo, "hack", "debian-root.sh"), kind).Output()
	if err != nil {
		t.Fatalf("Debian root %s: %v", kind, err)
	}
	root := filepath.Join(t.TempDir(), "root")
	if b, err := exec.Command("cp", "-a", strings.TrimSpace(string(out)), root).CombinedOutput(); err != nil {
		t.Fatalf("copy root: %v %s", err, b)
	}
	writeDescription(t, root, mustRead(t, desc))
	return root
}

// createDisk runs kiwi system create for a profile of the test
// description. With noLoop every /dev/loop* is bound to /dev/null (in a
// private mount namespace), so any use of a loop device fails.
func createDisk(t *testing.T, profile string, noLoop bool) string {
	target, _ := createDiskLog(t, profile, noLoop)
	return target
}

// createDiskLog is createDisk that also returns kiwi's log.
func createDiskLog(t *testing.T, profile string, noLoop bool) (string, string) {
	t.Helper()
	return createDiskFrom(t, bootRoot(t), profile, noLoop)
}

// createDiskFrom is createDiskLog for a root the test prepared; global
// are more of kiwi's global options.
func createDiskFrom(t *testing.T, root, profile string, noLoop bool, global ...string) (string, string) {
	t.Helper()
	target := filepath.Join(t.TempDir(), "out")
	args := append(append([]string{"--debug", "--profile", profile}, global...), "system", "create", "--root", root, "--target-dir", target)
	var r result
	if noLoop {
		script := `for l in /dev/loop*; do mount --bind /dev/null "$l"; done; exec "$@"`
		r = command(t, "unshare", append([]string{"--mount", "--propagation", "private", "sh", "-c", script, "sh", s.kiwi}, args...)...)
	} else {
		r = kiwi(t, args...)
	}
	if r.err != nil {
		t.Fatalf("kiwi system create (%s): %v\n%s", profile, r.err, tail(r.stderr, 6000))
	}
	return target, r.stderr
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

const base = "debian-oem.x86_64-1.0.0"

// TestOEMBiosExt4BootsWithoutLoopDevices installs the disk with its
// install media (installiso): the ISO boots beside an empty disk and a
// second disk that oem-device-filter keeps out, writes the image onto
// the empty one, checks it and reboots; the installed disk then holds
// the raw image byte for byte. The PXE install archive (installpxe) is served over HTTP as a
// boot server serves it; its installer, booted with the archive's kernel,
// initrd and .append line, writes the image onto an empty disk. The build
// also makes a vagrant libvirt box (format="vagrant": the box's qcow2
// box.img, with the metadata.json and Vagrantfile vagrant reads).
func TestOEMBiosExt4BootsWithoutLoopDevices(t *testing.T) {
	pooled(t, 649)
	// The PXE image's xz at level 1: the default level takes two
	// minutes on this machine and is tested by the result package.
	conf := filepath.Join(t.TempDir(), "kiwi.yml")
	if err := os.WriteFile(conf, []byte("xz:\n  - options: -1 --threads=0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The root has what the PXE installer needs (dracut-network, curl).
	root := rootCopy(t, "bookworm-netboot", filepath.Join(s.repo, "tests", "testdata", "debian-oem", "config.xml"))
	target, _ := createDiskFrom(t, root, "bios-ext4", true, "--config", conf)
	checkResults(t, target, "raw", "vagrant.libvirt.box", "install.iso", "install.tar")
	dir := unpack(t, filepath.Join(target, base+".vagrant.libvirt.box"), "metadata.json", "Vagrantfile", "box.img")
	if b := mustRead(t, filepath.Join(dir, "metadata.json")); !strings.Contains(b, `"provider": "libvirt"`) || !strings.Contains(b, `"virtual_size": 16`) {
		t.Errorf("metadata.json:\n%s", b)
	}
	if b := mustRead(t, filepath.Join(dir, "Vagrantfile")); !strings.Contains(b, "config.vm.provider :libvirt") {
		t.Errorf("Vagrantfile:\n%s", b)
	}
	if out, err := exec.Command("qemu-img", "info", filepath.Join(dir, "box.img")).CombinedOutput(); err != nil || !strings.Contains(string(out), "file format: qcow2") {
		t.Errorf("box.img: %v\n%s", err, out)
	}

	// squashfscompression="lz4" (KIWI's setting of the install media's
	// squashfs): the compressor id in the squashfs superblock on the ISO.
	iso := filepath.Join(target, base+".install.iso")
	lba := strings.Fields(mustOutput(t, "sh", "-c", `xorriso -indev "$1" -find /"$2" -exec report_lba -- 2>/dev/null | grep "^File data lba:"`,
		"sh", iso, base+".raw.squashfs"))
	if len(lba) < 6 {
		t.Fatalf("no squashfs on the install media: %v", lba)
	}
	if id := mustOutput(t, "sh", "-c", `dd if="$1" bs=2048 skip="$2" count=1 status=none | od -An -tu2 -j20 -N2`, "sh", iso, lba[5]); strings.TrimSpace(id) != "5" {
		t.Errorf("the install media's squashfs has compressor id %s, want 5 (lz4)", strings.TrimSpace(id))
	}
	fi, err := os.Stat(filepath.Join(target, base+".raw"))
	if err != nil {
		t.Fatal(err)
	}
	disks := t.TempDir()
	first, filtered := filepath.Join(disks, "first.raw"), filepath.Join(disks, "filtered.raw")
	for _, d := range []string{first, filtered} {
		if err := os.Truncate(mustCreate(t, d), fi.Size()+256<<20); err != nil {
			t.Fatal(err)
		}
	}
	// vda is the target, vdb (kept out by oem-device-filter) must stay
	// empty; the ISO boots because the disks have nothing to boot.
	v := boot(t, bootOptions{Disk: first, CDROM: filepath.Join(target, base+".install.iso"),
		Extra: []string{"-drive", "file=" + filtered + ",format=raw,if=virtio", "-boot", "order=cd"}},
		"kiwi-install: done: /dev/vda holds "+base+".raw", 6*time.Minute)
	select {
	case <-v.done: // the reboot ends QEMU (-no-reboot)
	case <-time.After(2 * time.Minute):
		t.Errorf("the installer did not reboot:\n%s", v.tail(20))
	}
	v.stop()
	head := make([]byte, 1<<20)
	if f, err := os.Open(filtered); err != nil {
		t.Error(err)
	} else {
		_, err := io.ReadFull(f, head)
		f.Close()
		if err != nil || strings.Trim(string(head), "\x00") != "" {
			t.Errorf("the disk oem-device-filter names was written to (%v)", err)
		}
	}
	// The installer wrote the raw image byte for byte (that raw disks of
	// this builder boot is what TestBuildFromRepositories and
	// TestDistributions check; a login boot here cost CI a minute).
	sum := strings.Fields(mustRead(t, filepath.Join(target, base+".raw.sha256")))[0]
	got := mustOutput(t, "sh", "-c", `head -c "$1" "$2" | sha256sum | cut -d" " -f1`, "sh", strconv.FormatInt(fi.Size(), 10), first)
	if strings.TrimSpace(got) != sum {
		t.Errorf("the disk the ISO installer wrote does not hold the image: sha256 %s, want %s", strings.TrimSpace(got), sum)
	}

	t.Run("PXE", func(t *testing.T) { installOverNetwork(t, target, fi.Size()) })
}

// installOverNetwork unpacks the PXE install archive of the bios-ext4
// disk in target, serves it over HTTP on 127.0.0.1 (the guest's
// 10.0.2.2), boots its installer as a boot server would (the archive's
// kernel and install initrd, its .append line with the placeholder URL
// replaced) beside an empty disk, and checks that the disk then holds
// the raw image byte for byte (the raw disk's boot is checked above).
func installOverNetwork(t *testing.T, target string, size int64) {
	pxe := unpack(t, filepath.Join(target, base+".install.tar"), base+".append", base+".config.bootoptions", base+".initrd", base+".kernel",
		base+".sha256", base+".xz", "pxeboot."+base+".initrd", "pxeboot."+base+".kernel")
	sum := strings.Fields(mustRead(t, filepath.Join(target, base+".raw.sha256")))[0]
	if got := strings.Fields(mustRead(t, filepath.Join(pxe, base+".sha256"))); len(got) != 3 || got[0] != sum || got[1]+"*"+got[2] != fmt.Sprintf("%d*8192", size/8192) {
		t.Errorf("%s.sha256 = %v, want KIWI's %s %d 8192", base, got, sum, size/8192)
	}
	line := strings.TrimSpace(mustRead(t, filepath.Join(pxe, base+".append")))
	const placeholder = "rd.kiwi.install.pxe rd.kiwi.install.image=http://example.com/image.xz"
	if line != placeholder+" console=ttyS0" {
		t.Errorf(".append = %q, want KIWI's %q and the kernelcmdline", line, placeholder)
	}
	if b := mustRead(t, filepath.Join(pxe, base+".config.bootoptions")); !strings.HasPrefix(b, "root=UUID=") || !strings.Contains(b, "console=ttyS0") {
		t.Errorf(".config.bootoptions = %q, want the installed system's command line", b)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.FileServer(http.Dir(pxe))}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	url := fmt.Sprintf("http://10.0.2.2:%d/%s.xz", ln.Addr().(*net.TCPAddr).Port, base)
	disk := filepath.Join(t.TempDir(), "pxe-target.raw")
	if err := os.Truncate(mustCreate(t, disk), size+256<<20); err != nil {
		t.Fatal(err)
	}
	v := boot(t, bootOptions{Disk: disk, Kernel: filepath.Join(pxe, base+".kernel"), Initrd: filepath.Join(pxe, "pxeboot."+base+".initrd"),
		Append: strings.Replace(line, "http://example.com/image.xz", url, 1),
		Extra:  []string{"-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0"}},
		"kiwi-install: done: /dev/vda holds "+base+".raw", 8*time.Minute)
	select {
	case <-v.done:
	case <-time.After(2 * time.Minute):
		t.Errorf("the PXE installer did not reboot:\n%s", v.tail(20))
	}
	v.stop()
	got := mustOutput(t, "sh", "-c", `head -c "$1" "$2" | sha256sum | cut -d" " -f1`, "sh", strconv.FormatInt(size, 10), disk)
	if strings.TrimSpace(got) != sum {
		t.Errorf("the disk the PXE installer wrote does not hold the image: sha256 %s, want %s", strings.TrimSpace(got), sum)
	}
}

// mustCreate creates an empty file and returns its path.
func mustCreate(t *testing.T, p string) string {
	t.Helper()
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestOEMUefiShimXfsBoots boots the disk.raw of a Google Compute Engine
// tarball (format="gce").
func TestOEMUefiShimXfsBoots(t *testing.T) {
	pooled(t, 126)
	target, log := createDiskLog(t, "efi-xfs", false)
	if !strings.Contains(log, "shim and signed grub") {
		t.Errorf("firmware=uefi did not use the image's shim and signed grub:\n%s", tail(log, 2000))
	}
	checkResults(t, target, "raw", "tar.gz")
	dir := unpack(t, filepath.Join(target, base+".tar.gz"), "manifest.json", "disk.raw")
	if b := mustRead(t, filepath.Join(dir, "manifest.json")); b != `{"licenses":["projects/kiwi-tests/global/licenses/test"]}` {
		t.Errorf("manifest.json: %s", b)
	}
	boot(t, bootOptions{Disk: filepath.Join(dir, "disk.raw"), EFI: true}, "login:", 4*time.Minute)
}

// unpack extracts a tar or tar.gz result (tar finds the compression;
// sparse files stay sparse) into a temp dir and checks that it holds
// exactly the members want, in that order.
func unpack(t *testing.T, archive string, want ...string) string {
	t.Helper()
	list, err := exec.Command("tar", "-tf", archive).Output()
	if err != nil {
		t.Fatalf("list %s: %v", archive, err)
	}
	if got := strings.Fields(string(list)); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("%s holds %v, want %v", filepath.Base(archive), got, want)
	}
	dir := t.TempDir()
	if b, err := exec.Command("tar", "-xSf", archive, "-C", dir).CombinedOutput(); err != nil {
		t.Fatalf("unpack %s: %v %s", archive, err, b)
	}
	return dir
}

func TestOEMEfiBtrfsQcow2GrowsWithoutLoopDevices(t *testing.T) {
	pooled(t, 104)
	// The profile has a spare partition mounted at /srv/spare: what the
	// tree holds there must move to it.
	root := bootRoot(t)
	// No growpart (cloud-guest-utils) in this root: kiwi-resize grows the
	// root partition with sfdisk and partx, and this boot proves that path.
	if err := os.Remove(filepath.Join(root, "usr/bin/growpart")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "srv/spare"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "srv/spare/marker"), []byte("on the spare partition\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	target, _ := createDiskFrom(t, root, "efi-btrfs", true)
	checkResults(t, target, "raw", "qcow2")
	qcow := filepath.Join(target, base+".qcow2")
	info, err := exec.Command("qemu-img", "info", "--output=json", qcow).Output()
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		VirtualSize int64 `json:"virtual-size"`
	}
	if err := json.Unmarshal(info, &meta); err != nil {
		t.Fatal(err)
	}
	// kiwi image resize (issue 18): a size not larger is refused with
	// nothing changed; twice the size grows the raw disk (GPT backup at
	// the new end) and makes the qcow2 again; the first boot grows
	// partition and filesystem.
	rawSum := mustRead(t, filepath.Join(target, base+".raw.sha256"))
	if r := kiwi(t, "--profile", "efi-btrfs", "image", "resize", "--target-dir", target, "--root", root, "--size", "1M"); r.err == nil || !strings.Contains(r.stderr, "only grows a disk") ||
		mustRead(t, filepath.Join(target, base+".raw.sha256")) != rawSum {
		t.Errorf("a resize smaller than the disk: %v\n%s", r.err, r.stderr)
	}
	mustKiwi(t, "--profile", "efi-btrfs", "image", "resize", "--target-dir", target, "--root", root, "--size", fmt.Sprint(2*meta.VirtualSize))
	checkSHA256(t, filepath.Join(target, base+".raw"), filepath.Join(target, base+".raw.sha256"))
	checkSHA256(t, qcow, qcow+".sha256")
	if out, err := exec.Command("sgdisk", "-v", filepath.Join(target, base+".raw")).CombinedOutput(); err != nil || !strings.Contains(string(out), "No problems found") {
		t.Errorf("sgdisk -v of the resized disk: %v\n%s", err, out)
	}
	big := qcow
	v := boot(t, bootOptions{Disk: big, Format: "qcow2", EFI: true}, "login:", 4*time.Minute)
	pos := v.Login(t)
	out, pos := v.Run(t, pos, "df -B1 --output=size / | tail -1")
	if size := lastNumber(out); size < meta.VirtualSize*3/2 {
		journal, _ := v.Run(t, pos, "journalctl -b --no-pager | grep -i -e kiwi-resize -e growpart -e sfdisk -e partx | tail -20; lsblk")
		t.Fatalf("root filesystem is %d bytes on a %d byte disk: it did not grow\n%s", size, 2*meta.VirtualSize, journal)
	}
	if out, pos = v.Run(t, pos, "journalctl -b --no-pager | grep -c 'kiwi-resize: sfdisk: CHANGED'"); lastNumber(out) < 1 {
		t.Errorf("the root partition was not grown by kiwi-resize's sfdisk path: %q", out)
	}
	out, pos = v.Run(t, pos, "findmnt -n -o FSTYPE,LABEL /srv/spare; cat /srv/spare/marker")
	if !strings.Contains(out, "ext4") || !strings.Contains(out, "SPARE") || !strings.Contains(out, "on the spare partition") {
		t.Errorf("spare partition at /srv/spare: %q", out)
	}
	// grub.cfg came from the root's own grub-mkconfig.
	if out, _ = v.Run(t, pos, "grep -c 'BEGIN /etc/grub.d/10_linux' /boot/grub/grub.cfg"); lastNumber(out) != 1 {
		t.Errorf("grub.cfg was not made by grub-mkconfig: %q", out)
	}
}

// checkResults checks the result files of an oem create.
func checkResults(t *testing.T, target string, formats ...string) {
	t.Helper()
	for _, f := range formats {
		for _, name := range []string{base + "." + f, base + "." + f + ".sha256"} {
			if _, err := os.Stat(filepath.Join(target, name)); err != nil {
				t.Errorf("result %s: %v", name, err)
			}
		}
	}
	pk, err := os.ReadFile(filepath.Join(target, base+".packages"))
	if err != nil || !regexp.MustCompile(`(?m)^linux-image-amd64\|None\|[^|]+\|None\|amd64\|None\|None$`).Match(pk) {
		t.Errorf(".packages does not list the kernel package: %v\n%.300s", err, pk)
	}
	if _, err := os.Stat(filepath.Join(target, base+".verified")); err != nil {
		t.Error(err)
	}
	var manifest map[string]struct {
		Filename string `json:"filename"`
	}
	b, err := os.ReadFile(filepath.Join(target, "kiwi.result.json"))
	if err != nil || json.Unmarshal(b, &manifest) != nil || manifest["disk_image"].Filename != filepath.Join(target, base+".raw") {
		t.Errorf("kiwi.result.json: %v\n%s", err, b)
	}
	entries, _ := os.ReadDir(target)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("work file %s left in the target dir", e.Name())
		}
	}
}

func TestCreateBadInputChangesNothing(t *testing.T) {
	target := filepath.Join(t.TempDir(), "out")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(target, "keep"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	emptyRoot := t.TempDir()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"system", "create", "--target-dir", target}, "needs --root"},
		{[]string{"system", "create", "--root", filepath.Join(emptyRoot, "nope"), "--target-dir", target}, "is not a directory"},
		{[]string{"system", "create", "--root", emptyRoot, "--target-dir", target}, "description"},
	}
	for _, c := range cases {
		r := kiwi(t, c.args...)
		if r.err == nil || !strings.Contains(r.stderr, c.want) {
			t.Errorf("kiwi %s: err=%v stderr=%q, want failure mentioning %q", strings.Join(c.args, " "), r.err, r.stderr, c.want)
		}
	}
	entries, _ := os.ReadDir(target)
	if len(entries) != 1 {
		t.Errorf("target dir changed: %d entries", len(entries))
	}
}

// lastNumber is the last decimal number in s (console output carries
// terminal escapes around it).
func lastNumber(s string) int64 {
	m := regexp.MustCompile(`[0-9]+`).FindAllString(s, -1)
	if len(m) == 0 {
		return -1
	}
	n, _ := strconv.ParseInt(m[len(m)-1], 10, 64)
	return n
}

func TestFilesystemImageTypes(t *testing.T) {
	pooled(t, 85)
	root := minbaseRoot(t)
	// system update with the root's own description and apt: a package
	// no repository has changes nothing; less is installed.
	if r := kiwi(t, "--profile", "ext4", "system", "update", "--root", root, "--add-package", "no-such-package-kiwi"); r.err == nil ||
		!strings.Contains(r.stderr, "install no-such-package-kiwi") || !strings.Contains(r.stderr, "Unable to locate package no-such-package-kiwi") {
		t.Errorf("system update of a missing package: %v\n%s", r.err, tail(r.stderr, 800))
	}
	mustKiwi(t, "--profile", "ext4", "system", "update", "--root", root, "--add-package", "less")
	target := filepath.Join(t.TempDir(), "out")
	mustKiwi(t, "--profile", "ext4", "system", "create", "--root", root, "--target-dir", target)
	img := filepath.Join(target, "bench-create.x86_64-1.0.0.ext4")
	if out, err := exec.Command("e2fsck", "-fn", img).CombinedOutput(); err != nil {
		t.Fatalf("e2fsck: %v\n%s", err, out)
	}
	// /etc/os-release is a symlink in Debian; debugfs cat does not follow it.
	out, err := exec.Command("debugfs", "-R", "cat /usr/lib/os-release", img).Output()
	if err != nil || !strings.Contains(string(out), "bookworm") {
		t.Fatalf("the image does not hold the root's os-release: %v %s", err, out)
	}
	if out, err := exec.Command("debugfs", "-R", "stat /usr/bin/less", img).CombinedOutput(); err != nil || !strings.Contains(string(out), "Type: regular") {
		t.Errorf("the package system update added is not in the image: %v %s", err, out)
	}
	mustKiwi(t, "--profile", "ext4", "system", "update", "--root", root, "--delete-package", "less")
	if _, err := os.Stat(filepath.Join(root, "usr/bin/less")); err == nil {
		t.Error("system update --delete-package left less in the root")
	}
	resultListAndBundle(t, target)

	// Issue 20: with SOURCE_DATE_EPOCH, two creates from two copies of
	// the root (written a second apart: other ctimes and atimes) give
	// the same bytes in every result file.
	t.Run("ReproducibleWithSourceDateEpoch", func(t *testing.T) {
		a, b := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
		for _, dst := range []string{a, b} {
			if out, err := exec.Command("cp", "-a", root, dst).CombinedOutput(); err != nil {
				t.Fatalf("%v %s", err, out)
			}
			time.Sleep(1100 * time.Millisecond)
		}
		env := append(slices.Clone(s.env), "SOURCE_DATE_EPOCH=1700000000")
		for _, fs := range []string{"ext4", "squashfs", "erofs"} {
			var sums []map[string]string
			for _, r := range []string{a, b} {
				out := filepath.Join(t.TempDir(), "out")
				if res := kiwiEnv(t, env, "--profile", fs, "system", "create", "--root", r, "--target-dir", out); res.err != nil {
					t.Fatalf("create %s: %v\n%s", fs, res.err, tail(res.stderr, 2000))
				}
				got := map[string]string{}
				for _, ext := range []string{fs, "packages", "verified", "changes"} {
					got[ext] = mustOutput(t, "sha256sum", filepath.Join(out, "bench-create.x86_64-1.0.0."+ext))[:64]
				}
				sums = append(sums, got)
			}
			if !reflect.DeepEqual(sums[0], sums[1]) {
				t.Errorf("%s: two creates with SOURCE_DATE_EPOCH differ:\n%v\n%v", fs, sums[0], sums[1])
			}
		}
	})
}

// resultListAndBundle is issue 18's check of result list and bundle on
// an ext4 image's target dir: KIWI's lines and names, the image
// xz-compressed (fast xz options from the runtime config) with a
// .sha256 that sha256sum -c takes and a zsync file, a bad id refused
// before anything is made.
func resultListAndBundle(t *testing.T, target string) {
	t.Helper()
	const base = "bench-create.x86_64-1.0.0"
	list := kiwi(t, "result", "list", "--target-dir", target)
	for _, want := range []string{"| Result files:\n", "| --> filesystem_image: " + filepath.Join(target, base+".ext4") + "\n",
		"| --> image_packages: " + filepath.Join(target, base+".packages") + "\n"} {
		if list.err != nil || !strings.Contains(list.stdout, want) {
			t.Errorf("result list: %v, no %q in\n%s%s", list.err, want, list.stdout, list.stderr)
		}
	}
	conf := filepath.Join(t.TempDir(), "kiwi.yml")
	if err := os.WriteFile(conf, []byte("xz:\n  - options: -0 --threads=0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(t.TempDir(), "bundle")
	if r := kiwi(t, "result", "bundle", "--target-dir", target, "--id", "a/b", "--bundle-dir", bundle); r.err == nil || !strings.Contains(r.stderr, "cannot hold a '/'") {
		t.Errorf("a bundle id with a slash: %v\n%s", r.err, r.stderr)
	}
	if _, err := os.Stat(bundle); err == nil {
		t.Error("the refused bundle made the bundle dir")
	}
	mustKiwi(t, "--config", conf, "result", "bundle", "--target-dir", target, "--id", "Build42", "--bundle-dir", bundle,
		"--zsync-source", "http://127.0.0.1/images")
	var got []string
	entries, _ := os.ReadDir(bundle)
	for _, e := range entries {
		got = append(got, e.Name())
	}
	want := []string{base + "-Build42.changes.xz", base + "-Build42.ext4.xz", base + "-Build42.ext4.xz.sha256", base + "-Build42.ext4.xz.zsync",
		base + "-Build42.packages", base + "-Build42.verified"}
	sort.Strings(want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("bundle dir holds %q, want %q", got, want)
	}
	check := exec.Command("sha256sum", "-c", base+"-Build42.ext4.xz.sha256")
	check.Dir = bundle
	if out, err := check.CombinedOutput(); err != nil {
		t.Errorf("sha256sum -c: %v %s", err, out)
	}
	if z := mustRead(t, filepath.Join(bundle, base+"-Build42.ext4.xz.zsync")); !strings.Contains(z, "URL: http://127.0.0.1/images/"+base+"-Build42.ext4.xz\n") {
		t.Errorf("zsync control file:\n%.300s", z)
	}
	if out, err := exec.Command("sh", "-c", `xz -dc "$1" | cmp - "$2"`, "sh", filepath.Join(bundle, base+"-Build42.ext4.xz"), filepath.Join(target, base+".ext4")).CombinedOutput(); err != nil {
		t.Errorf("the bundled image is not the result: %v %s", err, out)
	}
	// .changes: the Debian changelogs of the root's packages.
	if out, err := exec.Command("sh", "-c", `xz -dc "$1" | grep -A1 '^bash|$'`, "sh", filepath.Join(bundle, base+"-Build42.changes.xz")).Output(); err != nil || !strings.Contains(string(out), "bash (") {
		t.Errorf("the bundled .changes has no changelog of bash: %v %q", err, out)
	}
}

// TestParallelCreatesIntoDifferentTargets: three creates at once, each
// from its own root into its own target dir, all succeed with sound
// images (no shared temp name, lock or cache entry gets in the way).
func TestParallelCreatesIntoDifferentTargets(t *testing.T) {
	const n = 3
	roots, targets := make([]string, n), make([]string, n)
	for i := range n {
		roots[i] = minbaseRoot(t)
		targets[i] = filepath.Join(t.TempDir(), "out")
	}
	var wg sync.WaitGroup
	results := make([]result, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = kiwi(t, "--profile", "ext4", "system", "create", "--root", roots[i], "--target-dir", targets[i])
		}()
	}
	wg.Wait()
	for i, r := range results {
		if r.err != nil {
			t.Errorf("create %d of %d at once: %v\n%s", i+1, n, r.err, tail(r.stderr, 1500))
			continue
		}
		img := filepath.Join(targets[i], "bench-create.x86_64-1.0.0.ext4")
		if out, err := exec.Command("e2fsck", "-fn", img).CombinedOutput(); err != nil {
			t.Errorf("e2fsck of create %d: %v\n%s", i+1, err, out)
		}
	}
}

// TestSecondRunIntoABusyTargetFailsFast: while one create writes into a
// target dir, a second one into the same dir fails at once, naming the
// first; SIGINT then stops the first with nothing left behind (no work
// dir, no result, no child process).
func TestSecondRunIntoABusyTargetFailsFast(t *testing.T) {
	root := minbaseRoot(t)
	// images.sh holds the first run inside the target's lock.
	if err := os.WriteFile(filepath.Join(root, "image", "images.sh"), []byte("#!/bin/sh\nexec sleep 61.25\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "out")
	first := exec.Command(s.kiwi, "--profile", "ext4", "system", "create", "--root", root, "--target-dir", target)
	first.Env = s.env
	var firstErr strings.Builder
	first.Stderr = &firstErr
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- first.Wait() }()
	deadline := time.Now().Add(time.Minute)
	for exec.Command("pgrep", "-f", "sleep 61.25").Run() != nil {
		if time.Now().After(deadline) {
			_ = first.Process.Kill()
			t.Fatalf("images.sh did not start:\n%s", firstErr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}

	start := time.Now()
	r := kiwi(t, "--profile", "ext4", "system", "create", "--root", root, "--target-dir", target)
	if r.err == nil || !strings.Contains(r.stderr, "in use by another kiwi run (pid "+strconv.Itoa(first.Process.Pid)+")") {
		t.Errorf("second create into a busy target: err=%v\nstdout:%s\nstderr:%s\nfirst:%s", r.err, r.stdout, r.stderr, firstErr.String())
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the second create took %v to fail", took)
	}

	if err := first.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Error("an interrupted create exited 0")
		}
	case <-time.After(30 * time.Second):
		_ = first.Process.Kill()
		t.Fatal("create did not stop on SIGINT")
	}
	if out, err := exec.Command("pgrep", "-f", "sleep 61.25").Output(); err == nil {
		for _, pid := range strings.Fields(string(out)) {
			if n, err := strconv.Atoi(pid); err == nil {
				_ = syscall.Kill(n, syscall.SIGKILL)
			}
		}
		t.Error("images.sh's process outlived the interrupted create")
	}
	entries, _ := os.ReadDir(target)
	for _, e := range entries {
		t.Errorf("left in the target dir after SIGINT: %s", e.Name())
	}
}

// TestKilledRunIsCleanedUp: a create killed with -9 (no cleanup of its
// own runs) leaves its work dir; its child dies with it, and
// `kiwi system cleanup` finds and removes what it left, reporting it.
func TestKilledRunIsCleanedUp(t *testing.T) {
	root := minbaseRoot(t)
	if err := os.WriteFile(filepath.Join(root, "image", "images.sh"), []byte("#!/bin/sh\nexec sleep 62.5\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "out")
	run := exec.Command(s.kiwi, "--profile", "ext4", "system", "create", "--root", root, "--target-dir", target)
	run.Env = s.env
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for exec.Command("pgrep", "-f", "sleep 62.5").Run() != nil {
		if time.Now().After(deadline) {
			_ = run.Process.Kill()
			t.Fatal("images.sh did not start")
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = run.Process.Kill()
	_ = run.Wait()
	time.Sleep(500 * time.Millisecond)
	if out, err := exec.Command("pgrep", "-f", "sleep 62.5").Output(); err == nil {
		for _, pid := range strings.Fields(string(out)) {
			if n, err := strconv.Atoi(pid); err == nil {
				_ = syscall.Kill(n, syscall.SIGKILL)
			}
		}
		t.Error("images.sh's process outlived kiwi killed with -9")
	}
	left, _ := filepath.Glob(filepath.Join(target, ".kiwi-create-*"))
	if len(left) != 1 {
		t.Fatalf("a killed create should leave its work dir (that is what cleanup is for): %v", left)
	}

	r := mustKiwi(t, "system", "cleanup")
	if !strings.Contains(r.stdout, "removed "+left[0]) {
		t.Errorf("cleanup did not report removing %s:\n%s", left[0], r.stdout)
	}
	if _, err := os.Stat(left[0]); err == nil {
		t.Errorf("%s is still there after cleanup", left[0])
	}
	if r := mustKiwi(t, "system", "cleanup"); !strings.Contains(r.stdout, "nothing left behind") {
		t.Errorf("a second cleanup found more:\n%s", r.stdout)
	}
}

// TestCreateOnAFullDiskFailsClearly: a target dir on a filesystem too
// small for the image gives a "no space" error and keeps nothing.
func TestCreateOnAFullDiskFailsClearly(t *testing.T) {
	root := minbaseRoot(t)
	small := t.TempDir()
	// A 64 MiB tmpfs in a private mount namespace: it vanishes with the
	// command, so what is left in it is listed from inside.
	r := command(t, "unshare", "--mount", "--propagation", "private", "sh", "-c",
		`mount -t tmpfs -o size=64m kiwi-full "$1" || exit 99
out=$1/out; mkdir "$out"; shift
"$@" --target-dir "$out"; rc=$?
echo "LEFT:$(ls -A "$out" | tr '\n' ' ')"
exit $rc`, "sh", small, s.kiwi, "--profile", "ext4", "system", "create", "--root", root)
	var ee *exec.ExitError
	if r.err == nil || !errors.As(r.err, &ee) || ee.ExitCode() == 99 {
		t.Fatalf("create on a full disk: %v\n%s", r.err, r.stderr)
	}
	if !strings.Contains(r.stderr, "no space left for the image in") {
		t.Errorf("the error does not say the disk is full:\n%s", tail(r.stderr, 2000))
	}
	if !strings.Contains(r.stdout, "LEFT:\n") && strings.TrimSpace(r.stdout) != "LEFT:" {
		t.Errorf("a failed create left files in the target dir: %q", r.stdout)
	}
}

// TestOEMReproducibleWithSourceDateEpoch is issue 20's check of an oem
// disk: two creates from two copies of the boot root, made a second
// apart (so every ctime and atime differs), with the same
// SOURCE_DATE_EPOCH give the same bytes in every result file: the GPT
// raw disk (derived GUIDs and filesystem UUIDs, ESP, ext4 root with
// clamped times, swap), its qcow2, and the package lists.
func TestOEMReproducibleWithSourceDateEpoch(t *testing.T) {
	pooled(t, 102)
	a := bootRoot(t)
	time.Sleep(1100 * time.Millisecond)
	b := bootRoot(t)
	env := append(slices.Clone(s.env), "SOURCE_DATE_EPOCH=1700000000")
	var sums []map[string]string
	var outs []string
	for _, root := range []string{a, b} {
		out := filepath.Join(t.TempDir(), "out")
		outs = append(outs, out)
		if r := kiwiEnv(t, env, "--profile", "efi-ext4", "system", "create", "--root", root, "--target-dir", out); r.err != nil {
			t.Fatalf("create: %v\n%s", r.err, tail(r.stderr, 3000))
		}
		got := map[string]string{}
		for _, ext := range []string{"raw", "qcow2", "packages", "verified", "changes"} {
			got[ext] = mustOutput(t, "sha256sum", filepath.Join(out, base+"."+ext))[:64]
		}
		sums = append(sums, got)
	}
	if !reflect.DeepEqual(sums[0], sums[1]) {
		// Where the disks differ, in bytes from the start (the log
		// gives the partition offsets).
		diff, _ := exec.Command("sh", "-c", `cmp -l "$1" "$2" | head -20`, "sh", filepath.Join(outs[0], base+".raw"), filepath.Join(outs[1], base+".raw")).Output()
		t.Errorf("two oem creates with SOURCE_DATE_EPOCH differ:\n%v\n%v\nfirst differing bytes of the raw disks:\n%s", sums[0], sums[1], diff)
	}
}
