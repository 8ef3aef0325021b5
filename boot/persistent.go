package boot

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Persistent is KIWI's hybridpersistent: a live ISO written to a disk
// gets a write partition on its first boot, and the live system keeps
// its changes there instead of in RAM.
type Persistent struct {
	// Filesystem of the write partition: ext4, xfs or btrfs.
	Filesystem string
	// Label names the partition (at most 12 characters, for xfs).
	Label string
}

// PersistentLabel is the write partition's default label.
const PersistentLabel = "live-rw"

// persistentModuleSetup is kiwi's dracut module for hybridpersistent.
// dracut's own dmsquash-live-autooverlay needs rd.live.overlay on the
// kernel command line, and with it dmsquash-live stops a CD boot at a
// "Press [Enter]" prompt because a CD has no persistent overlay. So the
// overlay is named on the command line only by this module, and only
// when the media is a writable partitioned disk.
const persistentModuleSetup = `#!/bin/bash
# kiwi: the write partition of a live system on a disk (hybridpersistent).
check() { return 255; }
depends() { echo dmsquash-live; return 0; }
installkernel() { instmods ext4 xfs btrfs; }
install() {
    inst_multiple blkid sfdisk partx sed mount umount mkdir readlink cat basename udevadm sleep
    inst_multiple -o mkfs.ext4 mkfs.xfs mkfs.btrfs
    inst_hook pre-udev 25 "$moddir/kiwi-persistent-genrules.sh"
    inst_script "$moddir/kiwi-persistent.sh" /sbin/kiwi-persistent
    dracut_need_initqueue
}
`

// persistentGenrules queues the setup for the live media's device. Its
// job name sorts before dmsquash-live-root's, so in the settled queue it
// runs first and the overlay is named before dmsquash-live looks for it.
const persistentGenrules = `#!/bin/sh
case "$root" in
    live:/dev/*)
        {
            printf 'KERNEL=="%s", RUN+="/sbin/initqueue --settled --onetime --unique --name 00-kiwi-persistent /sbin/kiwi-persistent %s"\n' \
                "${root#live:/dev/}" "${root#live:}"
            printf 'SYMLINK=="%s", RUN+="/sbin/initqueue --settled --onetime --unique --name 00-kiwi-persistent /sbin/kiwi-persistent %s"\n' \
                "${root#live:/dev/}" "${root#live:}"
        } >> /etc/udev/rules.d/95-kiwi-persistent.rules
        ;;
esac
`

// persistentScript finds or makes the write partition and names it as
// dmsquash-live's overlay (rd.live.overlay in /etc/cmdline.d, which
// dracut's getarg reads like the kernel command line). On a CD, a
// read-only or an unpartitioned device it does nothing: the overlay
// stays in RAM, as without hybridpersistent.
const persistentScript = `#!/bin/sh
# kiwi: hybridpersistent. $1 is the live media's device.
type getarg >/dev/null 2>&1 || . /lib/dracut-lib.sh
fs=@FS@
label=@LABEL@
conf=/etc/cmdline.d/95-kiwi-persistent.conf
[ -e "$conf" ] && exit 0
live=$(readlink -f "$1")
sys=/sys/class/block/${live##*/}
if [ -e "$sys/partition" ]; then
    disk=/dev/$(basename "$(readlink -f "$sys/..")")
else
    disk=$live
fi
dsys=/sys/class/block/${disk##*/}
case ${disk##*/} in
    sr*) info "kiwi-persistent: live media on a CD: changes stay in RAM"; exit 0 ;;
esac
if [ "$(cat "$dsys/ro")" != 0 ] || [ -z "$(blkid -p -s PTTYPE -o value "$disk")" ]; then
    info "kiwi-persistent: $disk is read-only or has no partition table: changes stay in RAM"
    exit 0
fi
part=$(blkid -L "$label")
if [ -z "$part" ]; then
    # First boot. The image was smaller than the disk: move GPT's backup
    # header to the disk's end, then add a partition on the space after
    # the last partition, 1 MiB aligned.
    # Each table write makes the kernel drop and re-add the partitions,
    # and udev then probes them: wait for that before the next write.
    if [ "$(blkid -p -s PTTYPE -o value "$disk")" = gpt ]; then
        sfdisk --relocate gpt-bak-std "$disk" >/dev/null 2>&1
        udevadm settle
    fi
    end=0
    for p in "$dsys"/"${disk##*/}"*; do
        [ -e "$p/start" ] || continue
        e=$(($(cat "$p/start") + $(cat "$p/size")))
        [ "$e" -gt "$end" ] && end=$e
    done
    start=$(( (end + 2047) / 2048 * 2048 ))
    if [ $((start + 131072)) -gt "$(cat "$dsys/size")" ]; then
        warn "kiwi-persistent: less than 64 MiB free after the last partition of $disk: changes stay in RAM"
        exit 0
    fi
    # sfdisk only writes the table; the kernel is told below. Its own
    # re-read fails with EBUSY while udev still has a partition open,
    # and then the new partition would stay unknown until a reboot.
    if ! echo "$start,,L" | sfdisk --append --quiet --no-tell-kernel "$disk" >/tmp/kiwi-persistent.log 2>&1; then
        warn "kiwi-persistent: adding a partition to $disk failed: $(cat /tmp/kiwi-persistent.log)"
        exit 0
    fi
    # The new partition's number, from the table just written.
    nr=$(sfdisk --dump "$disk" | sed -n "s|^$disk""p\{0,1\}\([0-9][0-9]*\) *: *start= *$start,.*|\1|p")
    if [ -z "$nr" ]; then
        warn "kiwi-persistent: the partition added at sector $start of $disk is not in its table: changes stay in RAM"
        exit 0
    fi
    findpart() {
        for p in "$dsys"/"${disk##*/}"*; do
            [ -e "$p/start" ] && [ "$(cat "$p/start")" = "$start" ] && part=/dev/${p##*/}
        done
    }
    for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
        udevadm settle
        findpart
        [ -n "$part" ] && break
        # Only this partition is added (BLKPG): the others, the live
        # medium among them, are left as they are, even while in use.
        partx --add --nr "$nr" "$disk" >/dev/null 2>&1
        sleep 0.5
    done
    udevadm settle
    findpart
    if [ -z "$part" ] || [ ! -b "$part" ]; then
        warn "kiwi-persistent: the new partition on $disk did not show up: changes stay in RAM"
        exit 0
    fi
    force=-f
    [ "$fs" = ext4 ] && force=-F
    if ! mkfs."$fs" $force -L "$label" "$part" >/tmp/kiwi-persistent.log 2>&1; then
        warn "kiwi-persistent: mkfs.$fs on $part failed: $(cat /tmp/kiwi-persistent.log)"
        exit 0
    fi
    # dmsquash-live's persistent overlayfs: LiveOS/overlay-<label>-<uuid>
    # of the live media, and its work directory.
    mnt=/run/kiwi-persistent
    mkdir -p "$mnt"
    mount -t "$fs" "$part" "$mnt" || exit 0
    mkdir -p "$mnt/LiveOS/ovlwork" "$mnt/LiveOS/overlay-$(blkid -s LABEL -o value "$live")-$(blkid -s UUID -o value "$live")"
    umount "$mnt"
    info "kiwi-persistent: made the write partition $part ($fs, label $label)"
fi
mkdir -p /etc/cmdline.d
echo "rd.live.overlay=LABEL=$label" > "$conf"
`

// Check tells whether root has what the module needs at boot.
func (p Persistent) Check(root string) error {
	switch p.Filesystem {
	case "ext4", "xfs", "btrfs":
	default:
		return fmt.Errorf("hybridpersistent_filesystem %q: use ext4, xfs or btrfs", p.Filesystem)
	}
	if len(p.Label) > 12 {
		return fmt.Errorf("write partition label %q: at most 12 characters (xfs)", p.Label)
	}
	for _, tool := range []string{"sfdisk", "partx", "mkfs." + p.Filesystem} {
		found := false
		for _, dir := range []string{"usr/sbin", "sbin", "usr/bin", "bin"} {
			found = found || exists(filepath.Join(root, dir, tool))
		}
		if !found {
			return fmt.Errorf("hybridpersistent needs %s in the image (Debian: packages fdisk, util-linux and e2fsprogs, xfsprogs or btrfs-progs)", tool)
		}
	}
	return nil
}

// installPersistentModule writes kiwi's hybridpersistent dracut module
// into root and returns its name.
func installPersistentModule(root string, p Persistent) (string, error) {
	if p.Label == "" {
		p.Label = PersistentLabel
	}
	if err := p.Check(root); err != nil {
		return "", err
	}
	script := strings.NewReplacer("@FS@", p.Filesystem, "@LABEL@", p.Label).Replace(persistentScript)
	return writeModule(root, "kiwi-persistent", map[string]string{
		"module-setup.sh":             persistentModuleSetup,
		"kiwi-persistent-genrules.sh": persistentGenrules,
		"kiwi-persistent.sh":          script,
	})
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
