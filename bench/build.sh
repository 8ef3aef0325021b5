#!/bin/sh
# Times kiwi system prepare against kiwi-ng system prepare (Debian's kiwi
# package) on the same description, both with a warm package cache: a
# first prepare, then the same prepare of the unchanged description again.
# Prints the times and ratios. Rows (argument; default both):
#   apt     tests/testdata/debian-build: Debian bookworm with kernel,
#           dracut, grub, systemd, users, an overlay, config.sh
#   zypper  bench/zypper-config.xml: an rpm root (filesystem, zypper, and
#           four image packages) from an rpm-md repository made here by
#           repacking a debootstrapped root (hack/repack); kiwi-ng runs the
#           host's zypper for the bootstrap and the root's own after it
# Needs the Debian mirror (deb.debian.org, or DEBIAN_MIRROR).
set -eu
cd "$(dirname "$0")/.."
. ./hack/env.sh
[ "$(id -u)" = 0 ] || { echo "bench/build.sh: run as root" >&2; exit 1; }
command -v kiwi-ng >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q kiwi; }
go build -tags "$KIWI_TAGS" -o bin/kiwi ./cmd/kiwi

bench=build
. bench/lib.sh

rows=${1:-apt zypper}
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


ours() { # $1: root
  ./bin/kiwi --shared-cache-dir "$work/ours-cache" system prepare --description "$desc" --root "$1" >"$work/ours.log" 2>&1
}
theirs() { # $1: root
  kiwi-ng --shared-cache-dir "$work/kiwi-cache" system prepare --description "$desc" --root "$1" >"$work/kiwi.log" 2>&1
}

row() { # $1: name
  # Warm both package caches (and kiwi's phase layers for the warm run's
  # sake only after the timed cold run: the cold run must start without them).
  echo "$1: warming the package caches..."
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
  echo "$1: kiwi prepare, warm package cache: first $ours_cold s, unchanged again $ours_warm s"
  if [ "$theirs_ok" = 1 ]; then
    t0=$(now); theirs "$work/k1"; t1=$(now)
    kiwi_cold=$(elapsed "$t0" "$t1")
    t0=$(now); theirs "$work/k2"; t1=$(now)
    kiwi_warm=$(elapsed "$t0" "$t1")
    echo "$1: kiwi-ng prepare, warm package cache: first $kiwi_cold s, unchanged again $kiwi_warm s"
    echo "$1: ratio cold: $(ratio "$kiwi_cold" "$ours_cold")x (goal 2x); unchanged: $(ratio "$kiwi_warm" "$ours_warm")x (goal 10x)"
  fi
  rm -rf "$work/o1" "$work/o2" "$work/k1" "$work/k2"
  podman rmi --all --force >/dev/null 2>&1
}

for r in $rows; do
  case "$r" in
  apt) row apt ;;
  zypper)
    # The repository: a debootstrapped root with zypper and the image
    # packages, repacked as rpms (the same tool the tests' fixture uses).
    echo "zypper: making the rpm-md repository..."
    debootstrap --variant=minbase --include=zypper,less,procps,iproute2,vim-tiny bookworm "$work/zroot" \
      "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" >"$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log"; exit 1; }
    go run ./hack/repack -root "$work/zroot" -rpm "$work/repo" >/dev/null
    createrepo_c -q "$work/repo"
    rm -rf "$work/zroot"
    desc="$work/zdesc"
    mkdir -p "$desc"
    sed "s|@REPO@|$work/repo|" bench/zypper-config.xml >"$desc/config.xml"
    row zypper ;;
  *) echo "bench/build.sh: unknown row $r (apt, zypper)" >&2; exit 2 ;;
  esac
done
