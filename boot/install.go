package boot

import (
	"fmt"
	"strings"
)

// Install is what the install initrd of an oem install ISO does: find
// the ISO by its label, find the one target disk, write the disk image
// onto it, check it, and reboot into it. It is kiwi's dracut module
// kiwi-install, written for this kiwi (KIWI's is kiwi-dump from
// dracut-kiwi-oem-dump, which only SUSE packages).
type Install struct {
	// VolumeID is the ISO's label; Image is the squashfs on the ISO
	// holding the raw disk Raw; Checksum is Raw's SHA-256.
	VolumeID, Image, Raw, Checksum string
	// Size is the raw disk's size in bytes: smaller disks are no target.
	Size int64
	// DeviceFilter is oem-device-filter: a regular expression (ERE) of
	// device names never written to.
	DeviceFilter string
	// SkipVerify is oem-skip-verify: no read-back check.
	SkipVerify bool
	// Shutdown is oem-shutdown: power off instead of rebooting.
	Shutdown bool
}

// InstallModule is the dracut module's name.
const InstallModule = "kiwi-install"

const installModuleSetup = `#!/bin/bash
# kiwi: write the oem disk image from the install ISO onto the target disk.
check() { return 255; }
depends() { echo udev-rules; return 0; }
installkernel() { instmods loop squashfs isofs sr_mod cdrom; }
install() {
    inst_multiple -o dd sha256sum head lsblk blockdev mount umount readlink grep sed cat sync reboot poweroff
    inst_simple "$moddir/kiwi-install.conf" /etc/kiwi-install.conf
    inst_hook cmdline 90 "$moddir/kiwi-install-root.sh"
    inst_hook pre-mount 10 "$moddir/kiwi-install.sh"
}
`

// installRoot accepts root=install:CDLABEL=<label> (dracut needs every
// root= claimed) and waits for the ISO's device.
const installRoot = `#!/bin/sh
case "$root" in
install:CDLABEL=*)
    rootok=1
    wait_for_dev -n "/dev/disk/by-label/${root#install:CDLABEL=}"
    ;;
esac
`

const installScript = `#!/bin/sh
# kiwi-install: write the image onto the one target disk, check it, and
# reboot (or power off) into the installed system.
type getarg >/dev/null 2>&1 || . /lib/dracut-lib.sh
. /etc/kiwi-install.conf
case "$(getarg root=)" in install:CDLABEL=*) ;; *) return 0 ;; esac
fail() {
    warn "kiwi-install: $*"
    die "kiwi-install: $*"
}
iso=$(readlink -f "/dev/disk/by-label/$volid")
[ -b "$iso" ] || fail "no install media labelled $volid"
mkdir -p /run/kiwi-install/iso /run/kiwi-install/image
mount -t iso9660 -o ro "$iso" /run/kiwi-install/iso || fail "cannot mount the install media $iso"
mount -t squashfs -o ro,loop "/run/kiwi-install/iso/$image" /run/kiwi-install/image || fail "cannot mount $image"
raw=/run/kiwi-install/image/$rawname
# The disk the media is on (a CD, or a USB stick the ISO was written to).
source=$(lsblk -ndo PKNAME "$iso" 2>/dev/null)
[ -n "$source" ] || source=${iso#/dev/}
targets=""
for sys in /sys/block/*; do
    name=${sys##*/}
    case "$name" in loop*|ram*|zram*|sr*|fd*|md*|dm-*|nbd*) continue ;; esac
    [ "$name" = "$source" ] && continue
    [ "$(cat "$sys/size")" -gt 0 ] || continue
    if [ -n "$filter" ] && echo "/dev/$name" | grep -Eq -- "$filter"; then continue; fi
    if [ $(( $(cat "$sys/size") * 512 )) -lt "$size" ]; then
        info "kiwi-install: /dev/$name is smaller than the image: not a target"
        continue
    fi
    targets="$targets /dev/$name"
done
set -- $targets
[ $# -gt 0 ] || fail "no disk to install on (the image needs $size bytes; oem-device-filter: ${filter:-none})"
target=$1
info "kiwi-install: writing $rawname to $target (candidates:$targets)"
echo "kiwi-install: writing $rawname to $target" > /dev/console
dd if="$raw" of="$target" bs=4M conv=fsync 2>/dev/null || fail "writing $target failed"
if [ "$verify" = 1 ]; then
    echo "kiwi-install: checking $target" > /dev/console
    blockdev --flushbufs "$target"
    sum=$(head -c "$size" "$target" | sha256sum | sed 's/ .*//')
    [ "$sum" = "$checksum" ] || fail "$target does not hold the image after writing: sha256 $sum, want $checksum"
fi
umount /run/kiwi-install/image /run/kiwi-install/iso
sync
echo "kiwi-install: done: $target holds $rawname" > /dev/console
if [ "$shutdown" = 1 ]; then poweroff -f; else reboot -f; fi
`

// installModule writes kiwi-install into root's dracut modules with
// the settings of i.
func installModule(root string, i Install) (string, error) {
	for _, v := range []string{i.VolumeID, i.Image, i.Raw, i.Checksum} {
		if v == "" || strings.ContainsAny(v, "'\n") {
			return "", fmt.Errorf("install media setting %q: empty or not a plain word", v)
		}
	}
	flag := func(b bool) int {
		if b {
			return 1
		}
		return 0
	}
	conf := fmt.Sprintf("volid='%s'\nimage='%s'\nrawname='%s'\nchecksum='%s'\nsize=%d\nfilter='%s'\nverify=%d\nshutdown=%d\n",
		i.VolumeID, i.Image, i.Raw, i.Checksum, i.Size, strings.ReplaceAll(i.DeviceFilter, "'", `'\''`), flag(!i.SkipVerify), flag(i.Shutdown))
	return writeModule(root, InstallModule, map[string]string{
		"module-setup.sh": installModuleSetup, "kiwi-install-root.sh": installRoot,
		"kiwi-install.sh": installScript, "kiwi-install.conf": conf,
	})
}
