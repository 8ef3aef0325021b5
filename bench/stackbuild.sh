#!/bin/sh
# Times composing a 3-image stack into a root tree: kiwi system stackbuild
# --compose-only against KIWI's stackbuild plugin way (podman image mount +
# rsync --archive --hard-links --xattrs --acls --one-file-system --inplace
# per image).
#
# Stashes in local storage are composed from storage's unpacked layer
# directories. That is done on this machine's own filesystem (ext4: file
# data must be copied) and, with local storage and the target dir on one
# filesystem with reflinks, on xfs and btrfs (loop-mounted image files
# here; the default root filesystems of RHEL, SUSE and Fedora), where kiwi
# shares the data with storage and rsync still copies it. Each is timed
# with the page cache dropped before the run (cold) and as a run right
# after another (second run). The same images as OCI layouts (copied into
# storage by both sides, then composed, or mounted and rsynced) are
# compared on this machine's filesystem, first with none of their layers in
# storage, then again.
#
# Every timed run writes into a new directory; the outputs are removed
# only after all runs of a filesystem: on this VM, writing right after
# deleting a gigabyte costs 2-3x more system time (both tools alike).
# Prints medians (RUNS, default 5; the two tools take turns) and ratios.
# FILESYSTEMS (default "host xfs btrfs") picks the sections.
set -eu
cd "$(dirname "$0")/.."
. ./hack/env.sh
[ "$(id -u)" = 0 ] || { echo "bench/stackbuild.sh: run as root" >&2; exit 1; }
go build -tags "$KIWI_TAGS" -o bin/kiwi ./cmd/kiwi
minbase=$(./hack/debian-root.sh bookworm-minbase)
bootroot=$(./hack/debian-root.sh bookworm-boot)

top=$(mktemp -d /var/tmp/kiwi-bench-stack.XXXXXX)
mnt=
cleanup() {
  if [ -n "${CONTAINERS_STORAGE_CONF:-}" ]; then
    podman image umount --all >/dev/null 2>&1 || true
    podman system reset --force >/dev/null 2>&1 || true
  fi
  [ -z "$mnt" ] || umount "$mnt" 2>/dev/null || true
  rm -rf "$top"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
cold() { sync; echo 3 >/proc/sys/vm/drop_caches; }
k() { ./bin/kiwi --shared-cache-dir "$work/cache" --temp-dir "$work" "$@" >/dev/null 2>&1; }
# Each timed run gets a new output dir, numbered here (the runs themselves
# happen in command substitutions, whose variables do not come back), and
# any failure ends the benchmark instead of timing an error.
n=0
next() { n=$((n + 1)); t=$work/out$n; }
ours() {
  sync; [ -z "${2:-}" ] || cold; t0=$(now)
  k system stackbuild $stashes --target-dir "$1" --compose-only || { echo "bench: kiwi stackbuild into $1 failed" >&2; exit 1; }
  [ -f "$1/build/image-root/etc/extra" ] || { echo "bench: $1 has no etc/extra" >&2; exit 1; }
  echo "$(now) - $t0" | bc
}
theirs() {
  mkdir -p "$1/build/image-root"; sync; [ -z "${2:-}" ] || cold; t0=$(now)
  for img in s1 s2 s3; do
    m=$(podman image mount "localhost/$img:latest") && [ -d "$m" ] || { echo "bench: podman image mount $img failed" >&2; exit 1; }
    rsync --archive --hard-links --xattrs --acls --one-file-system --inplace "$m/" "$1/build/image-root/" || exit 1
    podman image umount "localhost/$img:latest" >/dev/null || exit 1
  done
  echo "$(now) - $t0" | bc
}
# The plugin's way for OCI layouts: skopeo copies them into storage
# first, then mount + rsync.
theirs_layouts() {
  t0=$(now)
  for img in s1 s2 s3; do
    skopeo copy -q "oci:$work/layout-$img:1" "containers-storage:localhost/$img:latest" || { echo "bench: skopeo copy $img failed" >&2; exit 1; }
  done
  t1=$(theirs "$1")
  echo "$(now) - $t0" | bc
}
runs=${RUNS:-5}
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
rows=
row() { rows="$rows$(printf '%-44s %8.2fs %13.2fs %7.1fx' "$1" "$2" "$3" "$(echo "$3 / $2" | bc -l)")
"; }

# section FS: storage and target dirs on FS ("host": where /var/tmp is),
# the three stashes stored there, then the timed runs.
section() {
  fs=$1 label=$1
  work=$top/$fs
  mkdir -p "$work"
  if [ "$fs" = host ]; then
    label=$(findmnt -n -o FSTYPE -T "$work")
  else
    # Sparse: only what is written takes space on the host filesystem.
    truncate -s 16G "$top/$fs.img"
    case $fs in
    xfs) mkfs.xfs -q -m reflink=1 "$top/$fs.img" ;;
    btrfs) mkfs.btrfs -q "$top/$fs.img" >/dev/null ;;
    esac
    mnt=$work
    mount -o loop "$top/$fs.img" "$work"
    label="$fs (loop image)"
  fi
  export CONTAINERS_STORAGE_CONF="$work/storage.conf"
  printf '[storage]\ndriver = "overlay"\ngraphroot = "%s/graph"\nrunroot = "%s/run"\n' "$work" "$work" >"$CONTAINERS_STORAGE_CONF"
  mkdir -p "$work/extra/etc" && echo extra >"$work/extra/etc/extra" && echo stacked >"$work/extra/etc/hostname"
  k system stash --root "$minbase" --container-name s1
  k system stash --root "$bootroot" --container-name s2
  k system stash --root "$work/extra" --container-name s3

  stashes="--stash s1 --stash s2 --stash s3"
  oc= rc= ow= rw=
  for i in $(seq "$runs"); do
    next; oc="$oc $(ours "$t" cold)"
    next; rc="$rc $(theirs "$t" cold)"
    next; ow="$ow $(ours "$t")"
    next; rw="$rw $(theirs "$t")"
  done
  rw=$(echo "$rw" | median)
  row "$label: cold page cache" "$(echo "$oc" | median)" "$(echo "$rc" | median)"
  row "$label: second run" "$(echo "$ow" | median)" "$rw"

  if [ "$fs" = host ]; then
    # The same images as OCI layouts. kiwi copies them into local storage
    # (as podman pull or skopeo copy would) and composes them from there;
    # the plugin's way copies them with skopeo, then mounts and rsyncs.
    # Each first run starts with none of their layers in storage.
    for img in s1 s2 s3; do skopeo copy -q "containers-storage:localhost/$img:latest" "oci:$work/layout-$img:1"; done
    stashes="--stash oci:$work/layout-s1:1 --stash oci:$work/layout-s2:1 --stash oci:$work/layout-s3:1"
    lf= la= tf=
    for i in $(seq "$runs"); do
      podman rmi --all --force >/dev/null 2>&1
      next; lf="$lf $(ours "$t")"
      next; la="$la $(ours "$t")"
      podman rmi --all --force >/dev/null 2>&1
      next; tf="$tf $(theirs_layouts "$t")"
    done
    row "$label: oci layouts, first (copy in)" "$(echo "$lf" | median)" "$(echo "$tf" | median)"
    row "$label: oci layouts, again" "$(echo "$la" | median)" "$rw"
  fi

  podman image umount --all >/dev/null 2>&1 || true
  podman system reset --force >/dev/null 2>&1 || true
  unset CONTAINERS_STORAGE_CONF
  if [ -n "$mnt" ]; then
    umount "$mnt"
    mnt=
    rm -f "$top/$fs.img"
  fi
  rm -rf "$work"
}

for fs in ${FILESYSTEMS:-host xfs btrfs}; do
  case $fs in
  host | xfs | btrfs) section "$fs" ;;
  *) echo "bench/stackbuild.sh: FILESYSTEMS: $fs? (host, xfs, btrfs)" >&2; exit 2 ;;
  esac
done

printf '%-44s %9s %14s %8s\n' "run (median of $runs)" kiwi "mount+rsync" ratio
printf '%s' "$rows"
echo "stack: minbase Debian, Debian with kernel/dracut/grub, a small image; goals: >= 3x, a second run >= 10x"
echo "xfs and btrfs: local storage and target dir on the same filesystem; kiwi shares file data by reflink, rsync copies it"
