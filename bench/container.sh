#!/bin/sh
# Times a docker-type build (bench/container-config.xml: Debian bookworm,
# containerconfig, two image packages) by kiwi system build against
# kiwi-ng system build (Debian's kiwi 9.24: debootstrap, apt, then umoci
# unpack, rsync, umoci repack/config, skopeo to docker-archive, xz), both
# with warm package caches: a first build (cold: no phase or image cache)
# and the same build of the unchanged description again, then one after
# a change to config.sh. Both write KIWI's default .docker.tar.xz.
# Prints times and ratios.
# Needs the Debian mirror (deb.debian.org, or DEBIAN_MIRROR).
set -eu
cd "$(dirname "$0")/.."
. ./hack/env.sh
[ "$(id -u)" = 0 ] || { echo "bench/container.sh: run as root" >&2; exit 1; }
command -v kiwi-ng >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q kiwi; }
for tool in umoci skopeo; do
  command -v $tool >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $tool; }
done
go build -tags "$KIWI_TAGS" -o bin/kiwi ./cmd/kiwi

bench=container
. bench/lib.sh

desc="$work/desc"
mkdir -p "$desc"
cp bench/container-config.xml "$desc/config.xml"
printf '#!/bin/bash\nset -e\necho bench > /etc/bench-marker\n' >"$desc/config.sh"
if [ -n "${DEBIAN_MIRROR:-}" ]; then
  sed -i "s|http://deb.debian.org/debian|$DEBIAN_MIRROR|" "$desc/config.xml"
fi


ours() { # $1: target dir
  ./bin/kiwi --shared-cache-dir "$work/ours-cache" system build --description "$desc" --target-dir "$1" >"$work/ours.log" 2>&1
}
theirs() { # $1: target dir
  kiwi-ng --shared-cache-dir "$work/kiwi-cache" system build --description "$desc" --target-dir "$1" >"$work/kiwi.log" 2>&1
}

echo "warming the package caches..."
ours "$work/warm-ours" || { tail -20 "$work/ours.log"; exit 1; }
podman rmi --all --force >/dev/null 2>&1
rm -rf "$work/ours-cache/prepare" "$work/ours-cache/container" "$work/warm-ours"
theirs_ok=1
theirs "$work/warm-kiwi" || { theirs_ok=0; echo "kiwi-ng build failed on this machine:"; tail -15 "$work/kiwi.log"; }
rm -rf "$work/warm-kiwi"

t0=$(now); ours "$work/o1" || { tail -20 "$work/ours.log"; exit 1; }; t1=$(now)
ours_cold=$(elapsed "$t0" "$t1")
t0=$(now); ours "$work/o2" || { tail -20 "$work/ours.log"; exit 1; }; t1=$(now)
ours_warm=$(elapsed "$t0" "$t1")
size=$(stat -c %s "$work"/o1/*.docker.tar.xz)
echo "kiwi build (docker), warm package cache: first $ours_cold s, unchanged again $ours_warm s ($size bytes)"
if [ "$theirs_ok" = 1 ]; then
  t0=$(now); theirs "$work/k1" || { tail -20 "$work/kiwi.log"; exit 1; }; t1=$(now)
  kiwi_cold=$(elapsed "$t0" "$t1")
  t0=$(now); theirs "$work/k2" || { tail -20 "$work/kiwi.log"; exit 1; }; t1=$(now)
  kiwi_warm=$(elapsed "$t0" "$t1")
  size=$(stat -c %s "$work"/k1/*.docker.tar.xz)
  echo "kiwi-ng build (docker), warm package cache: first $kiwi_cold s, unchanged again $kiwi_warm s ($size bytes)"
  echo "ratio cold: $(ratio "$kiwi_cold" "$ours_cold")x (goal 3x); unchanged: $(ratio "$kiwi_warm" "$ours_warm")x (goal 20x)"
fi
# A changed config.sh: the configuration runs again; here the bootstrap
# and packages layers and their compressed streams are reused.
printf '#!/bin/bash\nset -e\necho changed > /etc/bench-marker\n' >"$desc/config.sh"
t0=$(now); ours "$work/o3" || { tail -20 "$work/ours.log"; exit 1; }; t1=$(now)
ours_changed=$(elapsed "$t0" "$t1")
echo "kiwi build (docker) after a config.sh change: $ours_changed s"
if [ "$theirs_ok" = 1 ]; then
  t0=$(now); theirs "$work/k3" || { tail -20 "$work/kiwi.log"; exit 1; }; t1=$(now)
  kiwi_changed=$(elapsed "$t0" "$t1")
  echo "kiwi-ng build (docker) after a config.sh change: $kiwi_changed s"
  echo "ratio after a config.sh change: $(ratio "$kiwi_changed" "$ours_changed")x"
fi
