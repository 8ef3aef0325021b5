#!/bin/sh
# Times kiwi system prepare against kiwi-ng system prepare (Debian's kiwi
# package) on the same apt description (tests/testdata/debian-build: Debian
# bookworm with kernel, dracut, grub, systemd, users, an overlay, config.sh),
# both with a warm package cache: a first prepare, then the same prepare of
# the unchanged description again. Prints the times and ratios.
# Needs the Debian mirror (deb.debian.org, or DEBIAN_MIRROR).
set -eu
cd "$(dirname "$0")/.."
. ./hack/env.sh
[ "$(id -u)" = 0 ] || { echo "bench/build.sh: run as root" >&2; exit 1; }
command -v kiwi-ng >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q kiwi; }
go build -tags "$KIWI_TAGS" -o bin/kiwi ./cmd/kiwi

work=$(mktemp -d /var/tmp/kiwi-bench-build.XXXXXX)
export CONTAINERS_STORAGE_CONF="$work/storage.conf"
printf '[storage]\ndriver = "overlay"\ngraphroot = "%s/graph"\nrunroot = "%s/run"\n' "$work" "$work" >"$CONTAINERS_STORAGE_CONF"
cleanup() {
  podman rmi --all --force >/dev/null 2>&1 || true
  podman system reset --force >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

desc="$work/desc"
cp -a tests/testdata/debian-build "$desc"
if [ -n "${DEBIAN_MIRROR:-}" ]; then
  sed -i "s|http://deb.debian.org/debian|$DEBIAN_MIRROR|" "$desc/config.xml"
fi
# kiwi-ng wants the repository's key or no check, refuses a locale the root
# does not have installed (minbase has none) and fails deleting a package
# that is not installed; both sides get the same description.
sed -i -e 's|<repository type="apt-deb"|<repository type="apt-deb" repository_gpgcheck="false"|' \
  -e '/<locale>/d' -e '/<packages type="delete">/,/<\/packages>/d' "$desc/config.xml"

now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc; }
ratio() { echo "scale=1; $1 / $2" | bc; }

ours() { # $1: root
  ./bin/kiwi --shared-cache-dir "$work/ours-cache" system prepare --description "$desc" --root "$1" >"$work/ours.log" 2>&1
}
theirs() { # $1: root
  kiwi-ng --shared-cache-dir "$work/kiwi-cache" system prepare --description "$desc" --root "$1" >"$work/kiwi.log" 2>&1
}

# Warm both package caches (and kiwi's phase layers for the warm run's
# sake only after the timed cold run: the cold run must start without them).
echo "warming the package caches..."
ours "$work/warm-ours" || { tail -20 "$work/ours.log"; exit 1; }
podman rmi --all --force >/dev/null 2>&1
rm -rf "$work/ours-cache/prepare" "$work/warm-ours"
theirs_ok=1
theirs "$work/warm-kiwi" || { theirs_ok=0; echo "kiwi-ng prepare failed on this machine:"; tail -15 "$work/kiwi.log"; }
rm -rf "$work/warm-kiwi"

t0=$(now); ours "$work/o1" || { tail -20 "$work/ours.log"; exit 1; }; t1=$(now)
ours_cold=$(elapsed "$t0" "$t1")
t0=$(now); ours "$work/o2" || { tail -20 "$work/ours.log"; exit 1; }; t1=$(now)
ours_warm=$(elapsed "$t0" "$t1")
echo "kiwi prepare, warm package cache: first $ours_cold s, unchanged again $ours_warm s"
if [ "$theirs_ok" = 1 ]; then
  t0=$(now); theirs "$work/k1"; t1=$(now)
  kiwi_cold=$(elapsed "$t0" "$t1")
  t0=$(now); theirs "$work/k2"; t1=$(now)
  kiwi_warm=$(elapsed "$t0" "$t1")
  echo "kiwi-ng prepare, warm package cache: first $kiwi_cold s, unchanged again $kiwi_warm s"
  echo "ratio cold: $(ratio "$kiwi_cold" "$ours_cold")x (goal 2x); unchanged: $(ratio "$kiwi_warm" "$ours_warm")x (goal 10x)"
fi
