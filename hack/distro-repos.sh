#!/bin/sh
# Builds (once) the rpm-md and pacman repositories the tests make zypper,
# dnf and pacman roots from, and prints the directory holding them:
#   rpm/     the bookworm-boot root's packages repacked as rpms
#            (hack/repack), with createrepo_c's repodata
#   pacman/  the same as pacman packages, with the database "fixture"
#            (repo-add)
# No openSUSE, Fedora or Arch mirror is reachable here: these are Debian's
# files in other package formats (see docs/package-managers.md for what
# that covers). Cached like hack/debian-root.sh, keyed by this script,
# the repacker and the root's recipe; made next to its place and renamed.
set -eu
cache=${KIWI_TEST_CACHE:-/var/cache/kiwi-tests}
here=$(cd "$(dirname "$0")" && pwd)
root=$("$here/debian-root.sh" bookworm-boot)
key=$(cat "$0" "$here/repack/main.go" "$here/debian-root.sh" | sha256sum | cut -c1-12)
dest="$cache/distro-repos-$key"
if [ -d "$dest" ]; then echo "$dest"; exit 0; fi
mkdir -p "$cache"
tmp=$(mktemp -d "$cache/.distro-repos.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
(cd "$here/.." && go run ./hack/repack -root "$root" -rpm "$tmp/rpm" -pacman "$tmp/pacman") >&2
createrepo_c -q "$tmp/rpm" >&2
(cd "$tmp/pacman" && repo-add -q fixture.db.tar.gz ./*.pkg.tar.gz) >&2
mv "$tmp" "$dest"
for old in "$cache"/distro-repos-*; do
  [ "$old" = "$dest" ] || rm -rf "$old"
done
echo "$dest"
