package disk

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kiwi-go/kiwi/internal/runner"
	"github.com/kiwi-go/kiwi/internal/timing"
)

// ISO is a hybrid ISO 9660 image to write from a media directory: it
// boots as a CD (El Torito, BIOS and EFI) and, written to a disk, as a
// disk (grub's hybrid MBR for BIOS, the EFI system partition in a GPT
// for EFI).
type ISO struct {
	Media string // the directory tree that becomes the ISO filesystem
	// VolumeID is the label (at most 32 characters); Publisher,
	// ApplicationID and Preparer are the ISO's metadata fields.
	VolumeID, Publisher, ApplicationID, Preparer string
	// BIOSImage is the El Torito no-emulation boot image (grub's
	// i386-pc-eltorito image), a path inside Media.
	BIOSImage string
	// HybridMBR is a host path to grub's boot_hybrid.img: the MBR code
	// that starts BIOSImage when the ISO is booted as a disk.
	HybridMBR string
	// EFIImage is a FAT image file (host path) holding
	// EFI/BOOT/BOOTX64.EFI. It is appended as the ESP partition and is
	// the El Torito EFI boot image.
	EFIImage string
	// Epoch (SOURCE_DATE_EPOCH), given to xorriso, which then takes it
	// for the dates it writes (volume dates, the GPT's GUIDs) instead
	// of the clock's; the media's file times are clamped to it.
	Epoch *time.Time
}

// MaxVolumeID is the longest ISO 9660 volume ID.
const MaxVolumeID = 32

// Check reports what makes the ISO impossible to write.
func (i ISO) Check() error {
	if i.VolumeID == "" || len(i.VolumeID) > MaxVolumeID {
		return fmt.Errorf("volume id %q: it must have 1 to %d characters", i.VolumeID, MaxVolumeID)
	}
	if i.BIOSImage == "" || i.HybridMBR == "" || i.EFIImage == "" {
		return fmt.Errorf("a hybrid ISO needs a BIOS image, a hybrid MBR and an EFI image")
	}
	return nil
}

// Args is xorriso's command line (mkisofs emulation) writing the ISO to
// out. The layout is the one current distributions ship: the ISO
// filesystem starts 16 blocks in (-partition_offset) so it is a
// mountable first partition of the disk, the EFI FAT image is appended
// as partition 2 and described by a GPT (with a protective MBR holding
// grub's hybrid boot code), and the El Torito catalog names the BIOS
// image and that appended partition as the EFI image. -iso-level 3 lets
// a squashfs over 4 GiB be one file.
func (i ISO) Args(out string) []string {
	args := []string{"-as", "mkisofs",
		"-iso-level", "3", "-r", "-J", "-joliet-long",
		"-V", i.VolumeID,
	}
	if i.Publisher != "" {
		args = append(args, "-publisher", i.Publisher)
	}
	if i.ApplicationID != "" {
		args = append(args, "-A", i.ApplicationID)
	}
	if i.Preparer != "" {
		args = append(args, "-p", i.Preparer)
	}
	args = append(args,
		"--grub2-mbr", i.HybridMBR,
		"-partition_offset", "16",
		"--mbr-force-bootable",
		"-append_partition", "2", "0xef", i.EFIImage,
		"-appended_part_as_gpt",
		"-c", "boot/boot.catalog",
		"-b", strings.TrimPrefix(i.BIOSImage, "/"), "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table", "--grub2-boot-info",
		"-eltorito-alt-boot",
		"-e", "--interval:appended_partition_2:all::", "-no-emul-boot",
		"-o", out,
		i.Media,
	)
	return args
}

// MakeISO writes the ISO to out with xorriso. Nothing is mounted.
func MakeISO(ctx context.Context, r runner.Runner, i ISO, out string) error {
	defer timing.Start(ctx, "iso")()
	if err := i.Check(); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(i.Media, i.BIOSImage)); err != nil {
		return fmt.Errorf("El Torito image: %w", err)
	}
	var env []string
	if i.Epoch != nil {
		env = []string{"SOURCE_DATE_EPOCH=" + strconv.FormatInt(i.Epoch.Unix(), 10)}
		// xorriso's mkisofs emulation keeps the files' own times: the
		// media tree (kiwi's staging dir) gets them clamped.
		if err := clampTreeTimes(i.Media, *i.Epoch); err != nil {
			return err
		}
	}
	if _, err := r.Run(ctx, runner.Cmd{Name: "xorriso", Args: i.Args(out), Env: env}); err != nil {
		return fmt.Errorf("write ISO %s: %w", filepath.Base(out), err)
	}
	return nil
}
