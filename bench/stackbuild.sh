#!/bin/sh
# Times composing a 3-image stack into a root tree: kiwi system stackbuild
# --compose-only (layers applied straight from storage) against KIWI's
# stackbuild plugin way (podman image mount + rsync --archive --hard-links
# --xattrs --acls --one-file-system --inplace per image), then both again
# (a second run of the same stack). Prints times and ratios.
set -eu
cd "$(dirname "$0")/.."
. ./hack/env.sh
[ "$(id -u)" = 0 ] || { echo "bench/stackbuild.sh: run as root" >&2; exit 1; }
go build -tags "$KIWI_TAGS" -o bin/kiwi ./cmd/kiwi
minbase=$(./hack/debian-root.sh bookworm-minbase)
bootroot=$(./hack/debian-root.sh bookworm-boot)

work=$(mktemp -d /var/tmp/kiwi-bench-stack.XXXXXX)
export CONTAINERS_STORAGE_CONF="$work/storage.conf"
printf '[storage]\ndriver = "overlay"\ngraphroot = "%s/graph"\nrunroot = "%s/run"\n' "$work" "$work" >"$CONTAINERS_STORAGE_CONF"
cleanup() {
  podman image umount --all >/dev/null 2>&1 || true
  podman rmi --all --force >/dev/null 2>&1 || true
  podman system reset --force >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
k() { ./bin/kiwi --shared-cache-dir "$work/cache" --temp-dir "$work" "$@" >/dev/null 2>&1; }

mkdir -p "$work/extra/etc" && echo extra >"$work/extra/etc/extra" && echo stacked >"$work/extra/etc/hostname"
k system stash --root "$minbase" --container-name s1
k system stash --root "$bootroot" --container-name s2
k system stash --root "$work/extra" --container-name s3

now() { date +%s.%N; }
ours() {
  rm -rf "$1"; t0=$(now)
  k system stackbuild --stash s1 --stash s2 --stash s3 --target-dir "$1" --compose-only
  echo "$(now) - $t0" | bc
}
theirs() {
  rm -rf "$1"; mkdir -p "$1/build/image-root"; t0=$(now)
  for img in s1 s2 s3; do
    mnt=$(podman image mount "localhost/$img:latest")
    rsync --archive --hard-links --xattrs --acls --one-file-system --inplace "$mnt/" "$1/build/image-root/"
    podman image umount "localhost/$img:latest" >/dev/null
  done
  echo "$(now) - $t0" | bc
}
sync; o1=$(ours "$work/o"); sync; r1=$(theirs "$work/r")
sync; o2=$(ours "$work/o"); sync; r2=$(theirs "$work/r")
printf '%-14s %9s %14s %8s\n' run kiwi "mount+rsync" ratio
printf '%-14s %8.2fs %13.2fs %7.1fx\n' first "$o1" "$r1" "$(echo "$r1 / $o1" | bc -l)"
printf '%-14s %8.2fs %13.2fs %7.1fx\n' second "$o2" "$r2" "$(echo "$r2 / $o2" | bc -l)"
echo "stack: minbase Debian, Debian with kernel/dracut/grub, a small image; goals: first >= 3x, second >= 10x"
