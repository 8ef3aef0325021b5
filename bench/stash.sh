#!/bin/sh
# Times kiwi system stash against the pipeline KIWI's stackbuild plugin uses
# (umoci unpack, rsync, umoci repack, skopeo copy to oci-archive, podman
# load) on a debootstrapped Debian root: a first stash, then a re-stash
# after changing about 1% of the root's bytes. Prints both times and ratios.
# Both sides write into the same private podman storage.
set -eu
cd "$(dirname "$0")/.."
. ./hack/env.sh
[ "$(id -u)" = 0 ] || { echo "bench/stash.sh: run as root" >&2; exit 1; }
go build -tags "$KIWI_TAGS" -o bin/kiwi ./cmd/kiwi
base=$(./hack/debian-root.sh)

bench=stash
. bench/lib.sh

root="$work/root"
cp -a "$base" "$root"
total=$(du -sb "$root" | cut -f1)


# ~1% of the bytes: rewrite the first part of the largest files and add one.
change_root() {
  target=$((total / 100)) done_bytes=0
  for f in $(find "$root/usr/lib" -type f -size +200k | head -20); do
    [ "$done_bytes" -ge "$target" ] && break
    n=$(stat -c %s "$f"); [ "$n" -gt 262144 ] && n=262144
    head -c "$n" /dev/urandom | dd of="$f" conv=notrunc status=none
    done_bytes=$((done_bytes + n))
  done
  head -c 65536 /dev/urandom >"$root/etc/bench-added"
  rm -rf "$root/usr/share/doc/apt"
  echo "$done_bytes"
}

kiwi_stash() { ./bin/kiwi --shared-cache-dir "$work/cache" --temp-dir "$work" system stash --root "$root" --container-name bench-kiwi >/dev/null 2>&1; }

# KIWI's pipeline (kiwi/oci_tools/umoci.py + kiwi-stackbuild-plugin stash).
ref_stash() {
  layout="$work/ref-layout" bundle="$work/ref-bundle" archive="$work/ref-stash.tar"
  rm -rf "$layout" "$bundle"
  if [ -f "$archive" ]; then
    skopeo copy --quiet "oci-archive:$archive:latest" "oci:$layout:latest"
  else
    umoci init --layout "$layout"
    umoci new --image "$layout:latest"
  fi
  umoci unpack --image "$layout:latest" "$bundle" >/dev/null
  rsync --archive --hard-links --xattrs --acls --delete \
    --exclude '/dev/*' --exclude '/sys/*' --exclude '/proc/*' "$root/" "$bundle/rootfs/"
  umoci repack --image "$layout:latest" "$bundle"
  umoci config --image "$layout:latest" --config.entrypoint /bin/sh \
    --config.label io.osinside.kiwi.maintainer=bench
  umoci gc --layout "$layout"
  rm -f "$archive"
  skopeo copy --quiet "oci:$layout:latest" "oci-archive:$archive:latest"
  podman load --quiet -i "$archive" >/dev/null
}

sync; t0=$(now); kiwi_stash; t1=$(now)
sync; ref_stash; t2=$(now)
changed=$(change_root)
sync; t3=$(now); kiwi_stash; t4=$(now)
sync; ref_stash; t5=$(now)

k1=$(elapsed "$t0" "$t1") r1=$(elapsed "$t1" "$t2")
k2=$(elapsed "$t3" "$t4") r2=$(elapsed "$t4" "$t5")
echo "root: $((total / 1048576)) MiB; changed for the re-stash: $((changed / 1024)) KiB (+64 KiB added file, one dir deleted)"
printf '%-18s %10s %16s %8s\n' step kiwi "KIWI pipeline" ratio
printf '%-18s %9.2fs %15.2fs %7.1fx\n' "first stash" "$k1" "$r1" "$(echo "$r1 / $k1" | bc -l)"
printf '%-18s %9.2fs %15.2fs %7.1fx\n' "re-stash (~1%)" "$k2" "$r2" "$(echo "$r2 / $k2" | bc -l)"
echo "goals: first >= 3x, re-stash >= 20x"
