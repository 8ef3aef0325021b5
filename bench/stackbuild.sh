#!/bin/sh
# Times composing a 3-image stack into a root tree: kiwi system stackbuild
# --compose-only against KIWI's stackbuild plugin way (podman image mount +
# rsync --archive --hard-links --xattrs --acls --one-file-system --inplace
# per image). Stashes in local storage are composed from storage's
# unpacked layer directories, with the page cache dropped before each side
# and warm. The same images as OCI layouts (extracted by kiwi once, then
# taken from its stack cache) are compared with the warm rsync time.
# Prints medians (RUNS, default 5) and ratios.
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
# cold: page cache dropped before the run, so both read storage from disk.
cold() { sync; echo 3 >/proc/sys/vm/drop_caches; }
ours() {
  rm -rf "$1"; sync; [ -z "${2:-}" ] || cold; t0=$(now)
  k system stackbuild $stashes --target-dir "$1" --compose-only
  echo "$(now) - $t0" | bc
}
theirs() {
  rm -rf "$1"; mkdir -p "$1/build/image-root"; sync; [ -z "${2:-}" ] || cold; t0=$(now)
  for img in s1 s2 s3; do
    mnt=$(podman image mount "localhost/$img:latest")
    rsync --archive --hard-links --xattrs --acls --one-file-system --inplace "$mnt/" "$1/build/image-root/"
    podman image umount "localhost/$img:latest" >/dev/null
  done
  echo "$(now) - $t0" | bc
}
row() { printf '%-34s %8.2fs %13.2fs %7.1fx\n' "$1" "$2" "$3" "$(echo "$3 / $2" | bc -l)"; }
# This VM's disk and page cache make single runs vary by 2-3x: every
# figure is the median of $runs runs, the two sides taking turns.
runs=${RUNS:-5}
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Stashes in local storage: composed from storage's unpacked layers.
stashes="--stash s1 --stash s2 --stash s3"
oc= rc= ow= rw=
for i in $(seq "$runs"); do
  oc="$oc $(ours "$work/o" cold)"; rc="$rc $(theirs "$work/r" cold)"
  ow="$ow $(ours "$work/o")"; rw="$rw $(theirs "$work/r")"
done
oc=$(echo "$oc" | median); rc=$(echo "$rc" | median); ow=$(echo "$ow" | median); rw=$(echo "$rw" | median)
# The same images as OCI layouts: no storage, so kiwi extracts the layer
# tars once and keeps the composed stack in its cache.
for img in s1 s2 s3; do skopeo copy -q "containers-storage:localhost/$img:latest" "oci:$work/layout-$img:1"; done
stashes="--stash oci:$work/layout-s1:1 --stash oci:$work/layout-s2:1 --stash oci:$work/layout-s3:1"
ol=$(ours "$work/o")
oh=
for i in $(seq "$runs"); do oh="$oh $(ours "$work/o")"; done
oh=$(echo "$oh" | median)

printf '%-34s %9s %14s %8s\n' "run (median of $runs)" kiwi "mount+rsync" ratio
row "storage, cold page cache" "$oc" "$rc"
row "storage, warm (a second run)" "$ow" "$rw"
row "oci layouts, first (extract)" "$ol" "$rw"
row "oci layouts, again (stack cache)" "$oh" "$rw"
echo "stack: minbase Debian, Debian with kernel/dracut/grub, a small image; goals: first >= 3x, second >= 10x"
