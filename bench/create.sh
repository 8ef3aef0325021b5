#!/bin/sh
# Times kiwi system create against kiwi-ng system create (Debian package
# kiwi, the reference) on the same prepared Debian bookworm root: an oem
# qcow2 disk, a plain ext4 filesystem image, a live ISO and a kis set
# (where kiwi-ng fails on this machine, that is reported). Pick types with
# KIWI_BENCH_TYPES="oem ext4 iso kis" (all by default). Prints both times and the ratio, and
# where kiwi's time goes (from its --debug log).
set -eu
cd "$(dirname "$0")/.."
. ./hack/env.sh
[ "$(id -u)" = 0 ] || { echo "bench/create.sh: run as root" >&2; exit 1; }
command -v kiwi-ng >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q kiwi >/dev/null
go build -tags "$KIWI_TAGS" -o bin/kiwi ./cmd/kiwi
cached=$(./hack/debian-root.sh bookworm-boot)
work=$(mktemp -d /var/tmp/kiwi-bench-create.XXXXXX)
trap 'rm -rf "$work"' EXIT

fresh_root() {
  rm -rf "$work/root" "$work/out"
  cp -a "$cached" "$work/root"
  mkdir -p "$work/root/image"
  cp bench/create-config.xml "$work/root/image/config.xml"
  # The copy's writeback would otherwise slow whichever tool runs first.
  sync
}
now() { date +%s.%N; }
run_timed() { # $1: label, rest: command; prints seconds, or FAIL@seconds
  label=$1; shift
  t0=$(now)
  if "$@" >"$work/$label.log" 2>&1; then printf '%.1f\n' "$(echo "$(now) - $t0" | bc)"; else printf 'FAIL@%.1f\n' "$(echo "$(now) - $t0" | bc)"; fi
}
# A tool that failed after T seconds would have needed at least T to
# finish: the ratio is then a lower bound (">=").
ratio() {
  case "$1" in FAIL*) echo "-"; return ;; esac
  case "$2" in
    FAIL@*) printf '>=%.1fx' "$(echo "${2#FAIL@} / $1" | bc -l)" ;;
    *) printf '%.1fx' "$(echo "$2 / $1" | bc -l)" ;;
  esac
}

printf '%-12s %10s %10s %8s\n' type kiwi kiwi-ng ratio
for profile in ${KIWI_BENCH_TYPES:-oem ext4 iso kis}; do
  fresh_root
  ours=$(run_timed "kiwi-$profile" ./bin/kiwi --debug --profile "$profile" system create --root "$work/root" --target-dir "$work/out")
  fresh_root
  ref=$(run_timed "kiwi-ng-$profile" kiwi-ng --profile "$profile" system create --root "$work/root" --target-dir "$work/out")
  printf '%-12s %10s %10s %8s\n' "$profile" "$ours" "$ref" "$(ratio "$ours" "$ref")"
  if [ "${ref#FAIL}" != "$ref" ]; then
    echo "  kiwi-ng failed: $(grep -E 'ERROR|Error|error' "$work/kiwi-ng-$profile.log" | tail -1 | cut -c1-240)"
    # dracut's own reason (e.g. a module the root lacks) hides in its output.
    grep -E "dracut module '[^']*' (cannot be found or installed|depends on)" "$work/kiwi-ng-$profile.log" | sed 's/^/  /' | head -3
  fi
  # Where kiwi's time goes: each external command's duration.
  awk '/msg=done|\| done/ { for (i=1;i<=NF;i++) { if ($i ~ /^cmd=/) c=$i; if ($i ~ /^took=/) t=$i }; printf "    %s %s\n", c, t }' "$work/kiwi-$profile.log" | sort | uniq | head -12
done
echo "goal: kiwi >= 3x faster"
