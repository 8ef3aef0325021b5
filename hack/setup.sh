#!/bin/sh
# Installs what kiwi, its tests and its benchmarks need on Debian 12, and
# the Go modules. Safe to run again: it installs only what is missing.
set -eu
[ "$(id -u)" = 0 ] || { echo "setup.sh: run as root (sudo $0)" >&2; exit 1; }
cd "$(dirname "$0")/.."

packages="
  podman runc skopeo umoci uidmap catatonit fuse-overlayfs
  debootstrap rsync docker-registry
  qemu-system-x86 qemu-utils ovmf
  grub-common grub-pc-bin grub-efi-amd64-bin
  e2fsprogs dosfstools mtools xorriso squashfs-tools erofs-utils btrfs-progs xfsprogs gdisk fdisk
  ca-certificates git gcc libc6-dev bc xz-utils pigz zsync
  zypper dnf rpm createrepo-c pacman-package-manager makepkg libarchive-tools
"
# The cross-arch box test (KIWI_TEST_CROSS=1, not in the default run): an
# aarch64 box is built through qemu-user and booted with qemu-system-aarch64.
if [ "${KIWI_TEST_CROSS:-}" = 1 ]; then
  packages="$packages qemu-system-arm qemu-user-static binfmt-support"
fi
missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "setup.sh: installing$missing"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
  # Tests start their own registry on 127.0.0.1; never leave the packaged
  # one listening on every interface.
  if [ -d /run/systemd/system ]; then systemctl disable --now docker-registry >/dev/null 2>&1 || true; fi
fi

if [ "${KIWI_TEST_CROSS:-}" = 1 ]; then
  # Without systemd (containers, these VMs) nothing mounts binfmt_misc or
  # enables the handler that runs aarch64 programs in a root.
  [ -e /proc/sys/fs/binfmt_misc/status ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  update-binfmts --enable qemu-aarch64
fi

# Go: Debian 12's own Go is too old for this module; use the one on PATH
# or in /usr/local/go.
PATH=$PATH:/usr/local/go/bin
if ! command -v go >/dev/null; then
  echo "setup.sh: Go 1.26 or newer is needed (install it to /usr/local/go from go.dev)" >&2
  exit 1
fi
want=$(sed -n 's/^go \([0-9.]*\)$/\1/p' go.mod)
have=$(go env GOVERSION | sed 's/^go//')
if [ "$(printf '%s\n%s\n' "$want" "$have" | sort -V | head -1)" != "$want" ]; then
  echo "setup.sh: Go $have is older than the $want go.mod needs" >&2
  exit 1
fi
go mod download
