#!/bin/sh
# Builds (once) a Debian bookworm root tree used by tests and benchmarks,
# and prints its path. Kinds:
#   bookworm-minbase  debootstrap --variant=minbase (~200 MB, ~1 min)
#   bookworm-boot     minbase plus a kernel, dracut (with dracut-live for
#                     live ISOs), systemd, grub for BIOS
#                     and EFI and the filesystem tools a disk needs; root's
#                     password is "linux" (~500 MB, a few minutes; no
#                     drivers for hardware a QEMU guest never has)
#   bookworm-netboot  bookworm-boot plus what an initrd that installs over
#                     the network needs (installpxe): dracut-network,
#                     curl, xz-utils, iproute2, dbus (~30 s more)
# The tree is created next to its final place and renamed, so a killed run
# never leaves a half-made root that later runs would trust.
set -eu
cache=${KIWI_TEST_CACHE:-/var/cache/kiwi-tests}
name=${1:-bookworm-minbase}
case "$name" in
  bookworm-minbase) include="" ;;
  bookworm-boot) include="--include=dracut,systemd-sysv,udev,kmod,grub-pc-bin,grub-efi-amd64-bin,grub2-common,e2fsprogs,btrfs-progs,xfsprogs,dosfstools,fdisk,gdisk,cloud-guest-utils,passwd,login,dracut-live" ;;
  bookworm-netboot) include="" ;;
  *) echo "unknown root $name (bookworm-minbase, bookworm-boot, bookworm-netboot)" >&2; exit 2 ;;
esac
# The cache is keyed by what makes the root (this script), so a changed
# recipe builds a new root instead of reusing a stale one.
key=$(sha256sum "$0" | cut -c1-12)
dest="$cache/$name-$key"
if [ -d "$dest" ]; then echo "$dest"; exit 0; fi
mkdir -p "$cache"
tmp=$(mktemp -d "$cache/.$name.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
if [ "$name" = bookworm-netboot ]; then
  # Debian's dracut-network puts the network into every initrd of the
  # root (/etc/dracut.conf.d/11-ifcfg.conf), and its handler here,
  # systemd-networkd, needs ip and dbus: iproute2 and dbus, which a
  # standard Debian system has.
  base=$("$0" bookworm-boot)
  cp -a "$base" "$tmp/root"
  unshare --mount --propagation private sh -ec '
    mount -t proc proc "$1/proc"; mount -t sysfs sys "$1/sys"; mount --rbind /dev "$1/dev"
    cp /etc/resolv.conf "$1/etc/resolv.conf"
    chroot "$1" apt-get update -q
    DEBIAN_FRONTEND=noninteractive chroot "$1" apt-get install -y -q --no-install-recommends dracut-network curl xz-utils iproute2 dbus
  ' sh "$tmp/root" >"$tmp/log" 2>&1 || { tail -20 "$tmp/log" >&2; exit 1; }
  rm -rf "$tmp/root/var/lib/apt/lists/"* "$tmp/root/var/cache/apt/"*.bin "$tmp/root/var/cache/apt/archives/"*.deb
else
  # shellcheck disable=SC2086 # include is one word or none
  debootstrap --variant=minbase $include bookworm "$tmp/root" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" >"$tmp/log" 2>&1 || {
    tail -20 "$tmp/log" >&2; exit 1; }
fi
if [ "$name" = bookworm-boot ]; then
  # The kernel comes through apt, which resolves its initramfs dependency
  # to the dracut already there (debootstrap would pick initramfs-tools).
  # A private mount namespace: /proc, /sys and /dev vanish with it.
  unshare --mount --propagation private sh -ec '
    mount -t proc proc "$1/proc"; mount -t sysfs sys "$1/sys"; mount --rbind /dev "$1/dev"
    INITRD=No DEBIAN_FRONTEND=noninteractive chroot "$1" apt-get install -y -q --no-install-recommends linux-image-amd64 shim-signed grub-efi-amd64-signed
  ' sh "$tmp/root" >>"$tmp/log" 2>&1 || { tail -20 "$tmp/log" >&2; exit 1; }
  # Test guests are QEMU machines with virtio disks and network: drivers
  # for hardware they never have are left out of the tree. They were 40%
  # of its data and two thirds of every generic (dracut --no-hostonly)
  # initrd (184 MB unpacked, 62 MB packed), which every image test packs,
  # copies and boots under TCG. e100 stays: the kconfig test strips the
  # firmware it names.
  kernel="$tmp/root/usr/lib/modules/$(ls "$tmp/root/usr/lib/modules")/kernel"
  find "$kernel/drivers/net/ethernet" -name '*.ko*' ! -name 'e100.ko*' -delete
  find "$kernel/drivers/scsi" -mindepth 2 -name '*.ko*' -delete
  rm -rf "$kernel/drivers/net/wireless" "$kernel/drivers/net/usb" "$kernel/drivers/net/can" "$kernel/drivers/net/wwan" \
    "$kernel/drivers/gpu" "$kernel/drivers/media" "$kernel/drivers/infiniband" "$kernel/drivers/iio" \
    "$kernel/drivers/staging" "$kernel/drivers/comedi" "$kernel/drivers/isdn" "$kernel/drivers/usb" \
    "$kernel/sound" "$kernel/net/wireless" "$kernel/net/mac80211" "$kernel/net/bluetooth" \
    "$kernel/fs/ocfs2" "$kernel/fs/smb" "$kernel/fs/f2fs" "$kernel/fs/gfs2" "$kernel/fs/ceph"
  chroot "$tmp/root" depmod "$(ls "$tmp/root/usr/lib/modules")"
  echo 'root:linux' | chroot "$tmp/root" chpasswd
  echo kiwi-test >"$tmp/root/etc/hostname"
  # debootstrap leaves the apt lists and the initrd it built for the build
  # host's view; images get their own initrd from kiwi.
  rm -rf "$tmp/root/var/lib/apt/lists/"* "$tmp/root/boot/initrd.img-"* "$tmp/root/var/cache/apt/"*.bin \
    "$tmp/root/var/cache/apt/archives/"*.deb
fi
mv "$tmp/root" "$dest"
# Roots made by older recipes are never used again.
for old in "$cache/$name" "$cache/$name"-*; do
  [ "$old" = "$dest" ] || rm -rf "$old"
done
echo "$dest"
