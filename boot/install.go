package boot

import (
	"fmt"
	"path/filepath"
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
	// Remote is the PXE variant (installpxe): booted with KIWI's
	// rd.kiwi.install.pxe rd.kiwi.install.image=<URL of the .xz image>,
	// it brings the network up (rd.neednet=1, ip=dhcp unless ip= is
	// given), reads the checksum and size from the .sha256 beside the
	// image and streams the image (curl | xz -d) onto the disk.
	// VolumeID, Image, Raw, Checksum and Size are not used.
	Remote bool
}

// InstallModule is the dracut module's name.
const InstallModule = "kiwi-install"

const installModuleSetup = `#!/bin/bash
# kiwi: write the oem disk image from the install ISO (or, remote=1,
# from a URL) onto the target disk.
check() { return 255; }
depends() {
    . "$moddir/kiwi-install.conf"
    if [ "$remote" = 1 ]; then echo udev-rules network url-lib; else echo udev-rules; fi
    return 0
}
installkernel() { instmods loop squashfs isofs sr_mod cdrom; }
install() {
    inst_multiple -o dd sha256sum head lsblk blockdev mount umount readlink grep sed awk cat sleep sync reboot poweroff curl xz
    inst_simple "$moddir/kiwi-install.conf" /etc/kiwi-install.conf
    inst_hook cmdline 30 "$moddir/kiwi-install-root.sh"
    inst_hook pre-mount 10 "$moddir/kiwi-install.sh"
}
`

// installRoot accepts root=install:CDLABEL=<label> (dracut needs every
// root= claimed) and waits for the ISO's device; with KIWI's
// rd.kiwi.install.pxe it asks for the network as KIWI's kiwi-dump does
// (before the network modules read the command line, cmdline 30).
const installRoot = `#!/bin/sh
if getargbool 0 rd.kiwi.install.pxe; then
    mkdir -p /etc/cmdline.d
    echo "rd.neednet=1" > /etc/cmdline.d/kiwi-install-net.conf
    if ! getarg ip= >/dev/null; then
        echo "ip=dhcp" >> /etc/cmdline.d/kiwi-install-net.conf
        # systemd-networkd (dracut's handler where the image has it)
        # reads ip= from /proc/cmdline only, before this hook: it gets
        # the same DHCP as a network file.
        if [ -d /usr/lib/systemd/network ]; then
            mkdir -p /run/systemd/network
            printf '[Match]\nType=ether\n\n[Network]\nDHCP=yes\n' > /run/systemd/network/90-kiwi-install.network
        fi
    fi
    root=install:REMOTE
    rootok=1
fi
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
fail() {
    warn "kiwi-install: $*"
    die "kiwi-install: $*"
}
run=/run/kiwi-install
mkdir -p $run/iso $run/image
if getargbool 0 rd.kiwi.install.pxe; then
    [ "$remote" = 1 ] || fail "rd.kiwi.install.pxe: this initrd installs from its ISO; boot the PXE archive's pxeboot initrd"
    url=$(getarg rd.kiwi.install.image=)
    case "$url" in
    *?.xz) ;;
    *) fail "rd.kiwi.install.image=$url: give the URL of the PXE archive's <image>.xz" ;;
    esac
    # A systemd-networkd that started before kiwi-install-root.sh wrote
    # its network file reads it now.
    command -v networkctl >/dev/null && networkctl reload >/dev/null 2>&1
    # KIWI's .sha256 beside the image: checksum, blocks, block size. The
    # network may still be coming up: a minute of retries.
    n=0
    until curl -fsS -o $run/image.sha256 "${url%.xz}.sha256" 2>$run/curl.err; do
        n=$((n + 1))
        [ $n -lt 60 ] || fail "cannot fetch ${url%.xz}.sha256: $(cat $run/curl.err)"
        sleep 1
    done
    read -r checksum blocks blocksize _ < $run/image.sha256
    size=$((blocks * blocksize))
    [ "$size" -gt 0 ] || fail "${url%.xz}.sha256 names no size: $(cat $run/image.sha256)"
    rawname=${url##*/}
    rawname=${rawname%.xz}.raw
    source=""
    write_image() {
        { curl -fsS "$url" 2>$run/curl.err || echo "curl: $(cat $run/curl.err)" > $run/failed; } |
            { xz -dc || echo "xz -d failed" >> $run/failed; } |
            dd of="$1" bs=4M conv=fsync 2>/dev/null && [ ! -e $run/failed ]
    }
else
    case "$(getarg root=)" in install:CDLABEL=*) ;; *) return 0 ;; esac
    iso=$(readlink -f "/dev/disk/by-label/$volid")
    [ -b "$iso" ] || fail "no install media labelled $volid"
    mount -t iso9660 -o ro "$iso" $run/iso || fail "cannot mount the install media $iso"
    mount -t squashfs -o ro,loop "$run/iso/$image" $run/image || fail "cannot mount $image"
    raw=$run/image/$rawname
    # The disk the media is on (a CD, or a USB stick the ISO was written to).
    source=$(lsblk -ndo PKNAME "$iso" 2>/dev/null)
    [ -n "$source" ] || source=${iso#/dev/}
    write_image() { dd if="$raw" of="$1" bs=4M conv=fsync 2>/dev/null; }
fi
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
# progress reports every 15 s how far a step is (the MiB the kernel wrote
# to or read from the target: field 7 or 3 of its stat), so that a long
# write is seen to go on.
progress() {
    while sleep 15; do
        echo "kiwi-install: $1 $(awk -v f="$2" '{ print int($f / 2048) }' "/sys/block/${target#/dev/}/stat") MiB of $((size / 1048576))" > /dev/console
    done
}
echo "kiwi-install: writing $rawname to $target" > /dev/console
progress "writing $target:" 7 &
ticker=$!
write_image "$target" || { kill $ticker; fail "writing $target failed$(cat $run/failed 2>/dev/null)"; }
kill $ticker
if [ "$verify" = 1 ]; then
    echo "kiwi-install: checking $target" > /dev/console
    blockdev --flushbufs "$target"
    progress "checking $target:" 3 &
    ticker=$!
    sum=$(head -c "$size" "$target" | sha256sum | sed 's/ .*//')
    kill $ticker
    [ "$sum" = "$checksum" ] || fail "$target does not hold the image after writing: sha256 $sum, want $checksum"
fi
[ "$remote" = 1 ] || umount $run/image $run/iso
sync
echo "kiwi-install: done: $target holds $rawname" > /dev/console
if [ "$shutdown" = 1 ]; then poweroff -f; else reboot -f; fi
`

// installModule writes kiwi-install into root's dracut modules with
// the settings of i.
func installModule(root string, i Install) (string, error) {
	for _, v := range []string{i.VolumeID, i.Image, i.Raw, i.Checksum} {
		if !i.Remote && (v == "" || strings.ContainsAny(v, "'\n")) {
			return "", fmt.Errorf("install media setting %q: empty or not a plain word", v)
		}
	}
	flag := func(b bool) int {
		if b {
			return 1
		}
		return 0
	}
	conf := fmt.Sprintf("volid='%s'\nimage='%s'\nrawname='%s'\nchecksum='%s'\nsize=%d\nfilter='%s'\nverify=%d\nshutdown=%d\nremote=%d\n",
		i.VolumeID, i.Image, i.Raw, i.Checksum, i.Size, strings.ReplaceAll(i.DeviceFilter, "'", `'\''`), flag(!i.SkipVerify), flag(i.Shutdown), flag(i.Remote))
	return writeModule(root, InstallModule, map[string]string{
		"module-setup.sh": installModuleSetup, "kiwi-install-root.sh": installRoot,
		"kiwi-install.sh": installScript, "kiwi-install.conf": conf,
	})
}

// PXETools tells whether the root tree at root has what the PXE install
// initrd (Install.Remote) needs: dracut's network and url-lib modules
// and curl and xz. It changes nothing; the error names the packages.
func PXETools(root string) error {
	var missing []string
	for _, m := range []string{"network", "url-lib"} {
		if found, _ := filepath.Glob(filepath.Join(root, "usr/lib/dracut/modules.d/[0-9][0-9]"+m)); len(found) == 0 {
			missing = append(missing, "dracut's "+m+" module (Debian, Ubuntu: package dracut-network; Fedora, RHEL: dracut-network; openSUSE, SLES: dracut)")
		}
	}
	for _, t := range [][2]string{{"curl", "curl"}, {"xz", "xz-utils or xz"}} {
		if !toolInRoot(root, t[0]) {
			missing = append(missing, fmt.Sprintf("%s (package %s)", t[0], t[1]))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("installpxe: the PXE install initrd fetches the image over the network, and the image lacks %s: add the packages to the image, or leave installpxe out",
			strings.Join(missing, ", "))
	}
	return nil
}
