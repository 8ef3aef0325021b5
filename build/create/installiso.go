package create

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kiwi-go/kiwi/boot"
	"github.com/kiwi-go/kiwi/disk"
	"github.com/kiwi-go/kiwi/internal/checksum"
	"github.com/kiwi-go/kiwi/result"
)

// defaultInstallVolumeID is KIWI's label of install media.
const defaultInstallVolumeID = "INSTALL"

// installInitrd is where in the root the install initrd is made, beside
// the image's own, and taken from at once.
const installInitrd = "/boot/kiwi-install.initrd"

// installISO makes KIWI's oem install media from the raw disk:
// <base>.install.iso, a hybrid ISO (BIOS and EFI, as a CD and written to
// a USB disk, as the live ISO) whose initrd writes the disk image onto
// the target disk, checks it and reboots into it (boot.Install). The
// raw disk goes onto the media in a squashfs (compressed, holes kept),
// from a hard link: it is not copied. Nothing is mounted.
func installISO(ctx context.Context, o Options, t DiskType, kernel *boot.Kernel, src installSource, work, base string) (Result, error) {
	volid := t.InstallVolumeID
	if volid == "" {
		volid = defaultInstallVolumeID
	}
	media := filepath.Join(work, "install-media")
	loader := fmt.Sprintf(liveLoaderDir, t.Arch)
	for _, d := range []string{loader, "boot/grub/i386-pc"} {
		if err := os.MkdirAll(filepath.Join(media, d), 0o755); err != nil {
			return Result{}, err
		}
	}
	o.Log.Info("install media: the disk image in a squashfs", "volid", volid, "compression", t.InstallCompression)
	image := filepath.Join(work, "install-image")
	if err := os.Mkdir(image, 0o755); err != nil {
		return Result{}, err
	}
	if err := os.Link(src.path, filepath.Join(image, base+".raw")); err != nil {
		return Result{}, err
	}
	squash := base + ".raw.squashfs"
	compression := t.InstallCompression
	if compression == "" {
		compression = "zstd"
	}
	if err := disk.Make(ctx, o.Run, o.filesystem(base, "install", disk.Filesystem{Type: "squashfs", Compression: compression}), image, filepath.Join(media, squash), 0); err != nil {
		return Result{}, fmt.Errorf("install media image: %w", err)
	}
	if err := os.RemoveAll(image); err != nil {
		return Result{}, err
	}

	inst := &boot.Install{VolumeID: volid, Image: squash, Raw: base + ".raw", Checksum: src.sum, Size: src.size,
		DeviceFilter: t.DeviceFilter, SkipVerify: t.SkipVerify, Shutdown: t.InstallShutdown}
	if err := makeInstallInitrd(ctx, o, kernel, inst, filepath.Join(media, loader, "initrd")); err != nil {
		return Result{}, err
	}
	if err := copyResult(filepath.Join(o.Root, kernel.Image), filepath.Join(media, loader, "linux")); err != nil {
		return Result{}, err
	}

	id, marker, err := markMedia(media, o.mediaID(base+".install"))
	if err != nil {
		return Result{}, err
	}
	title := t.DisplayName
	if title == "" {
		title = t.Name
	}
	menu := boot.Menu{
		Title: "Install " + title, MarkerFile: marker, KernelDir: "/" + loader,
		Kernel: &boot.Kernel{Version: kernel.Version, Image: loader + "/linux", Initrd: loader + "/initrd"},
		// kiwi's installer finds the media by its label.
		Cmdline: mediaCmdline([]string{"root=install:CDLABEL=" + volid}, t.KernelCmdline, t.Console), Timeout: t.BootTimeout,
		Serial: strings.Contains(t.Console, "serial"), Console: t.Console,
	}
	if err := os.WriteFile(filepath.Join(media, "boot/grub/grub.cfg"), []byte(menu.Config()), 0o644); err != nil {
		return Result{}, fmt.Errorf("write grub.cfg: %w", err)
	}
	mbr, efiImage, err := bootImages(ctx, o, t.Firmware, media, marker, work)
	if err != nil {
		return Result{}, err
	}
	name := base + ".install.iso"
	o.Log.Info("writing the install ISO", "file", name)
	if err := disk.MakeISO(ctx, o.Run, disk.ISO{Media: media, VolumeID: volid, Publisher: defaultPublisher,
		ApplicationID: id, Preparer: "kiwi", BIOSImage: liveBIOSImage, HybridMBR: mbr, EFIImage: efiImage, Epoch: o.Epoch}, filepath.Join(work, name)); err != nil {
		return Result{}, err
	}
	if err := os.RemoveAll(media); err != nil {
		return Result{}, err
	}
	return Result{Key: "installation_image", File: result.File{Filename: name, Shasum: true, Bundle: true}}, nil
}

// makeInstallInitrd builds the installer's initrd (kiwi-install with the
// settings i) with the image's dracut, beside the image's own initrd,
// and moves it to dst: the root keeps no trace of it.
func makeInstallInitrd(ctx context.Context, o Options, kernel *boot.Kernel, i *boot.Install, dst string) error {
	o.Log.Info("building the install initrd (dracut)", "module", boot.InstallModule, "pxe", i.Remote)
	if err := boot.MakeInitrd(ctx, o.Run, o.Root, kernel, boot.InitrdOptions{Install: i, Output: installInitrd, CacheDir: o.initrdCache()}); err != nil {
		return err
	}
	initrd := filepath.Join(o.Root, installInitrd)
	err := copyResult(initrd, dst)
	if rerr := os.Remove(initrd); err == nil {
		err = rerr
	}
	return err
}

// installSource is the raw disk the installers write: its path, and its
// size and SHA-256, read once for both install media.
type installSource struct {
	path string
	size int64
	sum  string
}

func readInstallSource(raw string) (installSource, error) {
	fi, err := os.Stat(raw)
	if err != nil {
		return installSource{}, err
	}
	sum, err := checksum.File(raw)
	if err != nil {
		return installSource{}, err
	}
	return installSource{path: raw, size: fi.Size(), sum: sum}, nil
}
