#!/bin/sh
# Builds kiwi and installs it as $PREFIX/bin/kiwi (PREFIX defaults to
# /usr/local), with kiwi-ng linked to it: scripts and pipelines written
# for KIWI NG call kiwi-ng, and get this kiwi, which behaves the same
# under either name.
set -eu
cd "$(dirname "$0")/.."
. ./hack/env.sh
prefix=${PREFIX:-/usr/local}
mkdir -p "$prefix/bin"
tmp=$(mktemp "$prefix/bin/.kiwi.XXXXXX")
trap 'rm -f "$tmp"' EXIT
go build -tags "$KIWI_TAGS" -o "$tmp" ./cmd/kiwi
chmod 755 "$tmp"
mv -f "$tmp" "$prefix/bin/kiwi"
ln -sfn kiwi "$prefix/bin/kiwi-ng"
echo "installed $prefix/bin/kiwi and $prefix/bin/kiwi-ng"
