#!/bin/sh
# Times kiwi as an ordinary user against kiwi as root on the same trees:
# the first stash of a debootstrapped Debian root, and an oem create of a
# bootable root (bench/create-config.xml's oem profile). The user is made
# for the run (useradd, with Debian's default 65536 subordinate ids) and
# removed afterwards; its trees are copies made in its namespace, so they
# hold the same owners as root's. Prints both times and the ratio.
set -eu
cd "$(dirname "$0")/.."
. ./hack/env.sh
[ "$(id -u)" = 0 ] || { echo "bench/rootless.sh: run as root (it adds and removes a user)" >&2; exit 1; }
go build -tags "$KIWI_TAGS" -o bin/kiwi ./cmd/kiwi
minbase=$(./hack/debian-root.sh)
bootroot=$(./hack/debian-root.sh bookworm-boot)

bench=rootless
. bench/lib.sh

user=kiwibench$$
useradd --create-home --shell /bin/sh "$user"
uid=$(id -u "$user")
home=$(getent passwd "$user" | cut -d: -f6)
runtime=/run/user/$uid
mkdir -p "$runtime" && chown "$user:" "$runtime" && chmod 700 "$runtime"
user_cleanup() {
  [ -f "$runtime/libpod/tmp/pause.pid" ] && kill -9 "$(cat "$runtime/libpod/tmp/pause.pid")" 2>/dev/null || true
  userdel --remove --force "$user" 2>/dev/null || true
  rm -rf "$home" "$runtime"
  cleanup
}
trap user_cleanup EXIT
as_user() {
  setpriv --reuid "$uid" --regid "$uid" --init-groups env -i HOME="$home" USER="$user" LOGNAME="$user" \
    XDG_RUNTIME_DIR="$runtime" PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin "$@"
}
install -o "$user" -m 755 bin/kiwi "$home/kiwi"
install -d -o "$user" "$home/.config" "$home/.config/containers" "$home/tmp"
printf '[storage]\ndriver = "overlay"\n' >"$home/.config/containers/storage.conf"
chown "$user:" "$home/.config/containers/storage.conf"

# The same tree for both: root's copy, and the user's made in its
# namespace (root's files the user's, the others subordinate ids).
copy_for_user() { # $1 source, $2 user's dir
  install -d -o "$user" "$2"
  tar -C "$1" --exclude='./dev/*' --xattrs --xattrs-include='*' -cf - . |
    as_user podman unshare tar --numeric-owner --xattrs --xattrs-include='*' -xpf - -C "$2"
}
copy_for_root() { rm -rf "$2"; cp -a "$1" "$2"; }
timed() { t0=$(now); "$@" >"$work/last.log" 2>&1 || { cat "$work/last.log" >&2; exit 1; }; elapsed "$t0" "$(now)"; }

copy_for_root "$minbase" "$work/root"
copy_for_user "$minbase" "$home/root"
sync
r_stash=$(timed ./bin/kiwi --shared-cache-dir "$work/cache" --temp-dir "$work" system stash --root "$work/root" --container-name bench)
u_stash=$(timed as_user "$home/kiwi" --temp-dir "$home/tmp" system stash --root "$home/root" --container-name bench)

for side in root user; do
  if [ $side = root ]; then dir=$work/boot; copy_for_root "$bootroot" "$dir"; else dir=$home/boot; copy_for_user "$bootroot" "$dir"; fi
  install -d "$dir/image"
  cp bench/create-config.xml "$dir/image/config.xml"
  [ $side = user ] && chown -R "$user:" "$dir/image"
done
sync
r_create=$(timed ./bin/kiwi --profile oem --temp-dir "$work" system create --root "$work/boot" --target-dir "$work/out")
u_create=$(timed as_user "$home/kiwi" --profile oem --temp-dir "$home/tmp" system create --root "$home/boot" --target-dir "$home/out")

printf '%-18s %10s %10s %8s\n' step root user "user/root"
printf '%-18s %9.2fs %9.2fs %7.2fx\n' "first stash" "$r_stash" "$u_stash" "$(echo "$u_stash / $r_stash" | bc -l)"
printf '%-18s %9.2fs %9.2fs %7.2fx\n' "create oem qcow2" "$r_create" "$u_create" "$(echo "$u_create / $r_create" | bc -l)"
echo "goal: the user's runs no more than 1.3x root's"
