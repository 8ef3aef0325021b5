#!/bin/sh
# Times the main job: a Debian container from a registry (on 127.0.0.1)
# stacked with a small description (hack/demo: kernel, dracut, grub and
# init from deb.debian.org, plus one overlay file) into an EFI qcow2. Three
# runs, each into a new target dir: cold, again unchanged, and again after
# the overlay file changed. Next to it the same three runs the KIWI
# stackbuild plugin's way: podman pull, podman image mount + rsync into
# the root, then kiwi-ng system prepare --allow-existing-root of the
# description on it and system create (what system build does, but 9.24's
# build would bootstrap the existing root again).
#
# kiwi-ng 9.24 cannot make an oem disk on this machine (it mounts its vfat
# ESP, and the kernel has no vfat): its times end where it fails, and the
# step it reached is printed, so its ratios are lower bounds of the real
# ones. Both sides have warm package caches (one run each first); our cold
# run starts without phase layers, cached results and initrds.
# Needs the Debian mirror (deb.debian.org, or DEBIAN_MIRROR).
set -eu
cd "$(dirname "$0")/.."
. ./hack/env.sh
[ "$(id -u)" = 0 ] || { echo "bench/mainjob.sh: run as root" >&2; exit 1; }
command -v kiwi-ng >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q kiwi; }
command -v docker-registry >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker-registry; }
go build -tags "$KIWI_TAGS" -o bin/kiwi ./cmd/kiwi
rootfs=$(./hack/debian-root.sh bookworm-minbase)

bench=mainjob
. bench/lib.sh

. ./hack/registry.sh
port=${BENCH_REGISTRY_PORT:-5557}
registry_pid=
trap '[ -z "$registry_pid" ] || kill "$registry_pid" 2>/dev/null || true; cleanup' EXIT
start_registry "$work" "$port"
registry=127.0.0.1:$port/library
image=$registry/debian:bookworm
./bin/kiwi system stash --root "$rootfs" --container-name debian --tag bookworm --push "docker://$image" >"$work/stash.log" 2>&1 ||
  { tail -20 "$work/stash.log"; exit 1; }
podman rmi --all --force >/dev/null 2>&1

desc=$work/desc
cp -a hack/demo "$desc"
if [ -n "${DEBIAN_MIRROR:-}" ]; then
  sed -i "s|http://deb.debian.org/debian|$DEBIAN_MIRROR|" "$desc/config.xml"
fi
# kiwi-ng wants the repository's key or no check, and for an oem disk that
# grows at first boot its own dracut package (dracut-kiwi-oem-repart),
# which Debian does not have: no resize. Both sides get the same
# description.
sed -i -e 's|<repository type="apt-deb"|<repository type="apt-deb" repository_gpgcheck="false"|' \
  -e 's|<oem-resize>true</oem-resize>|<oem-resize>false</oem-resize>|' "$desc/config.xml"
mkdir -p "$desc/root/etc"
overlay() { echo "$1" >"$desc/root/etc/motd"; }

ours() { # $1: target dir
  ./bin/kiwi --shared-cache-dir "$work/ours-cache" system stackbuild --stash debian:bookworm --from-registry "$registry" \
    --description "$desc" --target-dir "$1" >"$work/ours.log" 2>&1 || { tail -30 "$work/ours.log"; exit 1; }
  [ -f "$1/debian-demo.x86_64-1.0.0.qcow2" ] || { echo "bench: no qcow2 in $1" >&2; exit 1; }
}
theirs() { # $1: target dir
  podman pull -q --tls-verify=false "$image" >/dev/null
  m=$(podman image mount "$image")
  mkdir -p "$1/build/image-root"
  rsync --archive --hard-links --xattrs --acls --one-file-system --inplace "$m/" "$1/build/image-root/"
  podman image umount "$image" >/dev/null
  # kiwi-ng 9.24's system build bootstraps an existing root again; its
  # system prepare skips that when the root's apt-get runs, so: prepare,
  # then create.
  kiwi-ng --shared-cache-dir "$work/kiwi-cache" system prepare --description "$desc" --root "$1/build/image-root" \
    --allow-existing-root >"$work/kiwi.log" 2>&1 &&
    kiwi-ng --shared-cache-dir "$work/kiwi-cache" system create --root "$1/build/image-root" --target-dir "$1" \
      >>"$work/kiwi.log" 2>&1 || true
}
# The last step kiwi-ng logged, and how it ended.
theirs_end() {
  step=$(grep -E '\[ INFO +\]' "$work/kiwi.log" | tail -1 | sed -E 's/.*\| //')
  if grep -q 'ERROR' "$work/kiwi.log"; then
    echo "failed after: $step ($(grep -E 'ERROR' "$work/kiwi.log" | tail -1 | sed -E 's/.*\| //' | cut -c1-100))"
  else
    echo "finished: $step"
  fi
}
timed() { # $1: function, $2: target dir; prints seconds
  sync
  t0=$(now)
  "$1" "$2"
  elapsed "$t0" "$(now)"
}

echo "warming the package caches..."
overlay one
ours "$work/warm-ours"
podman rmi --all --force >/dev/null 2>&1
rm -rf "$work/warm-ours" "$work/ours-cache/prepare" "$work/ours-cache/create"
theirs "$work/warm-kiwi"
echo "kiwi-ng warm-up: $(theirs_end)"
podman rmi --all --force >/dev/null 2>&1
rm -rf "$work/warm-kiwi"

overlay one
o_cold=$(timed ours "$work/o1")
o_same=$(timed ours "$work/o2")
overlay two
o_changed=$(timed ours "$work/o3")
grep 'built in' "$work/ours.log" | sed 's/.*| /kiwi, one overlay file changed: /'
podman rmi --all --force >/dev/null 2>&1
overlay one
k_cold=$(timed theirs "$work/k1")
k_cold_end=$(theirs_end)
k_same=$(timed theirs "$work/k2")
overlay two
k_changed=$(timed theirs "$work/k3")
k_changed_end=$(theirs_end)

printf '%-34s %9s %16s %8s\n' run kiwi "plugin+kiwi-ng" ratio
printf '%-34s %8.1fs %15.1fs %7.1fx\n' "cold (warm package caches)" "$o_cold" "$k_cold" "$(ratio "$k_cold" "$o_cold")"
printf '%-34s %8.1fs %15.1fs %7.1fx\n' "again, unchanged" "$o_same" "$k_same" "$(ratio "$k_same" "$o_same")"
printf '%-34s %8.1fs %15.1fs %7.1fx\n' "again, one overlay file changed" "$o_changed" "$k_changed" "$(ratio "$k_changed" "$o_changed")"
echo "kiwi-ng, cold: $k_cold_end"
echo "kiwi-ng, changed: $k_changed_end"
echo "goals: cold >= 2x; unchanged <= 3 s and >= 20x; one file changed <= 15 s"
