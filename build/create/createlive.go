package create

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/kiwi-go/kiwi/boot"
	"github.com/kiwi-go/kiwi/build/description"
	"github.com/kiwi-go/kiwi/disk"
	"github.com/kiwi-go/kiwi/internal/runner"
	"github.com/kiwi-go/kiwi/result"
)

// LiveType is what create needs to know of a live ISO <type image="iso">
// (and its <bootloader>), as plain values.
type LiveType struct {
	// Name, Version and Arch make the result name
	// <name>.<arch>-<version>.iso.
	Name, Version, Arch string
	DisplayName         string

	// VolumeID is the ISO label the initrd finds the media by (volid,
	// default "CDROM" as KIWI); Publisher is the ISO's publisher field.
	VolumeID, Publisher string
	// Filesystem is the root image on the media: squashfs (default) or
	// erofs, holding the root tree directly.
	Filesystem string
	// Compression is squashfs's compressor (squashfscompression): zstd
	// (default), xz, gzip, lzo, lz4 or uncompressed.
	Compression   string
	KernelCmdline string
	Firmware      string // uefi: shim and signed grub on the EFI image
	MediaCheck    bool
	// HybridPersistent asks for a write partition made on first boot
	// (hybridpersistent, with HybridPersistentFS); see Live.
	HybridPersistent   bool
	HybridPersistentFS string
	FSCreateOptions    []string

	BootTimeout int // seconds
	Console     string
}

// Defaults of a live ISO, as KIWI has them (the publisher is ours).
const (
	defaultVolumeID  = "CDROM"
	defaultPublisher = "kiwi"
	liveGrubDir      = "/boot/grub"
)

// squashfsCompressors are the squashfscompression values mksquashfs
// knows.
var squashfsCompressors = map[string]bool{"zstd": true, "xz": true, "gzip": true, "lzo": true, "lz4": true, "uncompressed": true}

// checkSquashfsCompression refuses a squashfscompression value
// mksquashfs does not know ("" is the kind's default).
func checkSquashfsCompression(c string) error {
	if c != "" && !squashfsCompressors[c] {
		return fmt.Errorf("squashfscompression %q: use zstd, xz, gzip, lzo, lz4 or uncompressed", c)
	}
	return nil
}

// LiveTypeOf reads a live ISO type from a description; false when the
// selected type is not image="iso".
func LiveTypeOf(d *description.Description) (LiveType, bool) {
	t := d.Type
	if t.Image != "iso" {
		return LiveType{}, false
	}
	lt := LiveType{
		Name: d.Name, Version: d.Version, Arch: d.TargetArch, DisplayName: d.DisplayName,
		VolumeID: t.VolID, Publisher: t.Publisher, Filesystem: t.Filesystem, Compression: t.SquashfsCompression,
		KernelCmdline: t.KernelCmdline, Firmware: t.Firmware, MediaCheck: t.MediaCheck,
		HybridPersistent: t.HybridPersistent, HybridPersistentFS: t.HybridPersistentFS,
		FSCreateOptions: strings.Fields(t.FSCreateOptions), BootTimeout: 10,
	}
	if lt.Version == "" {
		lt.Version = "1.0.0"
	}
	if b := t.Bootloader; b != nil {
		if b.Timeout != nil {
			lt.BootTimeout = *b.Timeout
		}
		lt.Console = b.Console
	}
	return lt, true
}

// withDefaults fills in KIWI's defaults and checks the values: the
// checks of a live ISO that need nothing but the type.
func (t LiveType) withDefaults() (LiveType, error) {
	if t.VolumeID == "" {
		t.VolumeID = defaultVolumeID
	}
	if t.Publisher == "" {
		t.Publisher = defaultPublisher
	}
	if t.Filesystem == "" {
		t.Filesystem = "squashfs"
	}
	if t.Compression == "" {
		t.Compression = "zstd"
	}
	if t.Version == "" {
		t.Version = "1.0.0"
	}
	if t.HybridPersistent && t.HybridPersistentFS == "" {
		t.HybridPersistentFS = "ext4"
	}
	if len(t.VolumeID) > disk.MaxVolumeID || strings.ContainsAny(t.VolumeID, " \t") {
		return t, fmt.Errorf("volid %q: a live ISO's volume id has at most %d characters and no spaces (it is on the kernel command line)", t.VolumeID, disk.MaxVolumeID)
	}
	if err := checkSquashfsCompression(t.Compression); err != nil {
		return t, err
	}
	if t.Filesystem != "squashfs" && t.Filesystem != "erofs" {
		return t, fmt.Errorf("filesystem %q for a live ISO: the root goes on the media as squashfs (default) or erofs", t.Filesystem)
	}
	return t, nil
}

// liveCmdline is the kernel command line of a live ISO: dracut's live
// root on the media labelled volid, with an overlayfs write layer in
// RAM, then the type's kernelcmdline (and a serial console when the
// bootloader asks for one and kernelcmdline names none).
func liveCmdline(t LiveType) string {
	return mediaCmdline([]string{"root=live:CDLABEL=" + t.VolumeID, "rd.live.image", "rd.live.overlay.overlayfs=1"}, t.KernelCmdline, t.Console)
}

// mediaCmdline is the kernel command line of boot media: args, then the
// type's kernelcmdline, and a serial console when the bootloader asks
// for one and kernelcmdline names none.
func mediaCmdline(args []string, kernelCmdline, console string) string {
	if kernelCmdline != "" {
		args = append(args, kernelCmdline)
	}
	if strings.Contains(console, "serial") && !strings.Contains(kernelCmdline, "console=") {
		args = append(args, "console=tty0", "console=ttyS0,115200")
	}
	return strings.Join(args, " ")
}

// Paths on the live media.
const (
	liveLoaderDir = "boot/%s/loader" // KIWI's place for kernel and initrd
	liveRootImage = "LiveOS/squashfs.img"
	liveBIOSImage = "boot/grub/i386-pc/eltorito.img"
)

// checkRoot checks that root has what a live ISO of t needs inside it:
// a kernel, dracut's live module (reading erofs where t asks for it)
// and, for hybridpersistent, the tools of the first-boot partition.
func (t LiveType) checkRoot(root string) error {
	if _, err := boot.FindKernel(root); err != nil {
		return err
	}
	present, erofs := boot.LiveModuleStatus(root)
	if !present {
		return fmt.Errorf("the image has no dracut module %s in /usr/lib/dracut/modules.d: install the package dracut-live in the image (Debian, Fedora; openSUSE: dracut-kiwi-live is not supported, use dracut's)", boot.LiveModule)
	}
	if t.Filesystem == "erofs" && !erofs {
		return fmt.Errorf("filesystem=\"erofs\": the image's dracut %s module mounts squashfs only: use filesystem=\"squashfs\" (or a dracut that reads erofs)", boot.LiveModule)
	}
	if t.HybridPersistent {
		p := boot.Persistent{Filesystem: t.HybridPersistentFS, Label: boot.PersistentLabel}
		if err := p.Check(root); err != nil {
			return err
		}
	}
	return boot.HasDracut(root)
}

// Live turns the root tree into a hybrid live ISO in the target
// dir: <base>.iso (plus .sha256), .packages, .verified and
// kiwi.result.json.
//
// The ISO boots as a CD under BIOS (El Torito, grub) and EFI (grub, or
// shim and signed grub for firmware="uefi", on a FAT image made with
// mkfs.fat and mtools), and written to a disk it boots the same ways
// (grub's hybrid MBR; the EFI image is the ESP of a GPT). grub finds the
// media by a marker file; the kernel gets root=live:CDLABEL=<volid>
// rd.live.image, so dracut's dmsquash-live module (which must be in the
// image: Debian and Fedora package it as dracut-live) finds the media by
// its label, mounts the squashfs (or erofs) root image and puts an
// overlayfs in RAM on top. KIWI's own kiwi-live module is not used; the
// flags attribute (overlay, dmsquash) selects the same module.
//
// Nothing is mounted and no loop device is used. hybridpersistent adds
// kiwi's dracut module kiwi-persistent: booted from a disk, the live
// system gets a write partition (hybridpersistent_filesystem, label
// live-rw) on the space after the ISO on its first boot and keeps its
// changes there; as a CD it keeps them in RAM. mediacheck implants an MD5
// with implantisomd5 (isomd5sum) when it is on the host, and adds a
// boot entry that checks it (rd.live.check) when the image has
// checkisomd5; whatever is missing is a warning.
//
// The root tree gets the live initrd in /boot. Results appear in the
// target dir only when all are complete; a failure leaves the target dir
// as it was.
func Live(ctx context.Context, t LiveType, o Options) ([]Result, error) {
	t, err := t.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := t.checkRoot(o.Root); err != nil {
		return nil, err
	}
	kernel, err := boot.FindKernel(o.Root)
	if err != nil {
		return nil, err
	}
	var persistent *boot.Persistent
	if t.HybridPersistent {
		persistent = &boot.Persistent{Filesystem: t.HybridPersistentFS, Label: boot.PersistentLabel}
	}
	o, work, err := begin(ctx, o)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	log := o.Log
	base := fmt.Sprintf("%s.%s-%s", t.Name, t.Arch, t.Version)
	log.Info("kernel", "version", kernel.Version)
	log.Info("live ISO", "volid", t.VolumeID, "publisher", t.Publisher, "root", t.Filesystem, "compression", t.Compression)
	if persistent != nil {
		log.Info("hybridpersistent: written to a disk, the first boot adds a write partition", "fs", t.HybridPersistentFS, "label", boot.PersistentLabel)
	}
	tagger, checkEntry := "", false
	if t.MediaCheck {
		if p, err := exec.LookPath("implantisomd5"); err == nil {
			tagger = p
		} else {
			log.Warn("mediacheck: implantisomd5 (package isomd5sum) is not on this host: the ISO gets no checksum and no media check entry")
		}
		checkEntry = tagger != "" && hasFile(o.Root, "usr/bin/checkisomd5")
		if tagger != "" && !checkEntry {
			log.Warn("mediacheck: the image has no checkisomd5 (package isomd5sum): the ISO gets its checksum but no media check entry")
		}
	}

	media := filepath.Join(work, "media")
	loader := fmt.Sprintf(liveLoaderDir, t.Arch)
	for _, d := range []string{loader, "boot/grub/i386-pc", "LiveOS"} {
		if err := os.MkdirAll(filepath.Join(media, d), 0o755); err != nil {
			return nil, err
		}
	}
	id, marker, err := markMedia(media, o.mediaID(base))
	if err != nil {
		return nil, err
	}
	menu := boot.Menu{
		Title: t.DisplayName, MarkerFile: marker, KernelDir: "/" + loader,
		Kernel:  &boot.Kernel{Version: kernel.Version, Image: loader + "/linux", Initrd: loader + "/initrd"},
		Cmdline: liveCmdline(t), Timeout: t.BootTimeout,
		Serial: strings.Contains(t.Console, "serial"), Console: t.Console,
		MediaCheck: checkEntry,
	}
	if menu.Title == "" {
		menu.Title = t.Name
	}
	if err := os.WriteFile(filepath.Join(media, "boot/grub/grub.cfg"), []byte(menu.Config()), 0o644); err != nil {
		return nil, fmt.Errorf("write grub.cfg: %w", err)
	}

	packages := startPackageResults(ctx, o, work, base)
	defer packages()

	log.Info("building live initrd (dracut)", "modules", boot.LiveModule)
	if err := boot.MakeInitrd(ctx, o.Run, o.Root, kernel, boot.InitrdOptions{
		Modules: []string{boot.LiveModule}, Omit: []string{"multipath", "plymouth"}, Persistent: persistent, CacheDir: o.initrdCache()}); err != nil {
		return nil, err
	}
	for src, dst := range map[string]string{kernel.Image: loader + "/linux", kernel.Initrd: loader + "/initrd"} {
		if err := copyResult(filepath.Join(o.Root, src), filepath.Join(media, dst)); err != nil {
			return nil, err
		}
	}

	mbr, efiImage, err := bootImages(ctx, o, t.Firmware, media, marker, work)
	if err != nil {
		return nil, err
	}

	// KIWI's moment for a live ISO's edit boot config script: the boot
	// files are on the media, the root is not packed yet; it runs on the
	// host in the root dir, told iso:<media dir> and boot partition 1.
	if err := runHostScript(ctx, o, "edit_boot_config.sh", "iso:"+media, "1"); err != nil {
		return nil, err
	}

	log.Info("packing the root", "fs", t.Filesystem, "compression", t.Compression)
	fsys := o.filesystem(base, "live-root", disk.Filesystem{Type: t.Filesystem, Label: "ROOT", UUID: o.fsUUID(base, "live-root"), Compression: t.Compression,
		CreateOptions: t.FSCreateOptions})
	if err := disk.Make(ctx, o.Run, fsys, o.Root, filepath.Join(media, liveRootImage), 0); err != nil {
		return nil, fmt.Errorf("live root image: %w", err)
	}

	iso := filepath.Join(work, base+".iso")
	log.Info("writing ISO", "file", base+".iso")
	if err := disk.MakeISO(ctx, o.Run, disk.ISO{Media: media, VolumeID: t.VolumeID, Publisher: t.Publisher,
		ApplicationID: id, Preparer: "kiwi", BIOSImage: liveBIOSImage, HybridMBR: mbr, EFIImage: efiImage, Epoch: o.Epoch}, iso); err != nil {
		return nil, err
	}
	if tagger != "" {
		if _, err := o.Run.Run(ctx, runner.Cmd{Name: tagger, Args: []string{"--force", iso}}); err != nil {
			return nil, fmt.Errorf("mediacheck checksum: %w", err)
		}
	}
	if err := os.RemoveAll(media); err != nil {
		return nil, err
	}
	extra, err := packages()
	if err != nil {
		return nil, err
	}
	results := []Result{{Key: "live_image", File: result.File{Filename: base + ".iso", Shasum: true, Bundle: true}}}
	return publish(o, work, append(results, extra...))
}

// makeEFIImage builds the EFI boot files and packs them into a FAT
// image (mkfs.fat and mtools: nothing mounted), returning its path.
func makeEFIImage(ctx context.Context, o Options, firmware, work, marker string) (string, error) {
	dir := filepath.Join(work, "efi")
	signed, err := boot.FillESP(ctx, o.Run, o.Root, dir, boot.ESPOptions{SecureBoot: firmware == "uefi", MarkerFile: marker, GrubDir: liveGrubDir})
	if err != nil {
		return "", err
	}
	switch {
	case signed:
		o.Log.Info("EFI: shim and signed grub from the image (secure boot)")
	case firmware == "uefi":
		o.Log.Warn("firmware=uefi, but the image has no shim-signed and grub-efi-amd64-signed: booting with an unsigned grub")
	}
	used, err := treeSize(dir)
	if err != nil {
		return "", err
	}
	// Room for the FAT itself; KIWI's limit for El Torito images is 31 MiB.
	size := (used + 2*disk.MiB + disk.MiB - 1) / disk.MiB * disk.MiB
	if size > 31*disk.MiB {
		return "", fmt.Errorf("the EFI boot files take %d MiB, more than an El Torito image may hold (31 MiB)", used/disk.MiB)
	}
	img := filepath.Join(work, "efi.img")
	// The volume id: mkfs.fat's random one, or with an epoch one derived
	// from the media's id (itself derived then).
	fsys := o.filesystem(marker, "efiboot", disk.Filesystem{Type: "fat", Label: "EFIBOOT", Size: size})
	if o.Epoch != nil {
		fsys.UUID = strings.ToUpper(o.fsUUID(marker, "efiboot")[:8])
	}
	if err := disk.Make(ctx, o.Run, fsys, dir, img, 0); err != nil {
		return "", fmt.Errorf("EFI FAT image: %w", err)
	}
	return img, nil
}

func hasFile(root, p string) bool {
	_, err := os.Stat(filepath.Join(root, p))
	return err == nil
}

// markMedia gives boot media in dir the id (the ISO's application id)
// and the marker file grub finds them by, /boot/<id>.
func markMedia(dir, id string) (string, string, error) {
	marker := "/boot/" + id
	return id, marker, os.WriteFile(filepath.Join(dir, marker), []byte(id+"\n"), 0o644)
}

// bootImages puts grub's BIOS El Torito image into media and makes the
// EFI FAT image (in work): what a hybrid ISO boots from, as a CD and
// written to a disk. It returns the hybrid MBR and the EFI image.
func bootImages(ctx context.Context, o Options, firmware, media, marker, work string) (mbr, efiImage string, err error) {
	o.Log.Info("building grub boot images (BIOS El Torito, EFI)")
	if err := boot.MakeCDImage(ctx, o.Run, o.Root, marker, liveGrubDir, filepath.Join(media, liveBIOSImage)); err != nil {
		return "", "", err
	}
	if mbr, err = boot.HybridMBR(o.Root); err != nil {
		return "", "", err
	}
	efiImage, err = makeEFIImage(ctx, o, firmware, work, marker)
	return mbr, efiImage, err
}

// mediaID is the id naming the media of the image base: its marker
// file and the ISO's application id (KIWI's mbrid has the same 0x
// form). Random (it tells these media from any other in the machine),
// or with an epoch derived like the filesystem UUIDs.
func (o Options) mediaID(base string) string {
	return "0x" + o.fsUUID(base, "media")[:8]
}

// copyResult copies src to dst (mode 0644): a result file made from a
// file of the root.
func copyResult(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return out.Close()
}
