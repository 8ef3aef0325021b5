#!/bin/sh
# The main job on embedded defaults: a registry container becomes a
# bootable VM disk. It builds kiwi, debootstraps a minbase Debian bookworm
# root (cached after the first run), pushes it as the container
# library/debian:bookworm to a registry it starts on 127.0.0.1, and runs
# kiwi system stackbuild with a small description (hack/demo: kernel,
# dracut, grub and init from deb.debian.org, disk type, root password) to
# turn that container into an EFI+BIOS qcow2 that grows to its disk on
# first boot.
set -eu
cd "$(dirname "$0")/.."
./hack/setup.sh
. ./hack/env.sh
go build -tags "$KIWI_TAGS" -o bin/kiwi ./cmd/kiwi
rootfs=$(./hack/debian-root.sh bookworm-minbase)
work=/var/tmp/kiwi-demo
rm -rf "$work"

# A private registry on loopback, stopped when the demo ends.
. ./hack/registry.sh
port=5555
registry_pid=
trap '[ -z "$registry_pid" ] || kill "$registry_pid" 2>/dev/null || true' EXIT
start_registry "$work" "$port"

./bin/kiwi system stash --root "$rootfs" --container-name debian --tag bookworm \
  --push "docker://127.0.0.1:$port/library/debian:bookworm"
./bin/kiwi system stackbuild --stash debian:bookworm --from-registry "127.0.0.1:$port/library" \
  --description hack/demo --target-dir "$work/out"
disk="$work/out/debian-demo.x86_64-1.0.0.qcow2"
cat <<MSG

Done: $disk (log in as root, password "kiwi")
Boot it with EFI:
  cp /usr/share/OVMF/OVMF_VARS_4M.fd $work/vars.fd
  qemu-system-x86_64 -accel tcg -m 1024 -nographic \\
    -drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \\
    -drive if=pflash,format=raw,file=$work/vars.fd \\
    -drive file=$disk,format=qcow2,if=virtio
or with BIOS:
  qemu-system-x86_64 -accel tcg -m 1024 -nographic -drive file=$disk,format=qcow2,if=virtio
MSG
