#!/bin/sh
# Runs every test: unit tests, end-to-end tests against podman, a local
# registry and QEMU, and short fuzz runs. Installs what it needs first.
# Exits non-zero when any test fails.
set -eu
cd "$(dirname "$0")/.."
./hack/setup.sh
. ./hack/env.sh
# oras, which no Debian 12 package has: artifact.TestOrasPull checks that
# what `kiwi result push` writes is what oras reads. Pinned: built into
# bin/tools (on PATH through hack/env.sh) when missing or of another version.
oras_version=1.3.6
bin/tools/oras version 2>/dev/null | grep -q "^Version: *$oras_version\$" ||
  GOBIN=$PWD/bin/tools go install oras.land/oras/cmd/oras@v$oras_version
status=0
# Fixtures (the Debian roots, the rpm-md and pacman repositories) are
# built once, before the tests, and cached under KIWI_TEST_CACHE. On a
# fresh machine that takes minutes, mostly downloads: meanwhile go vet
# and the compilation of every test binary use the CPU.
fixtures_log=$(mktemp /var/tmp/kiwi-fixtures.XXXXXX.log)
( ./hack/debian-root.sh && ./hack/debian-root.sh bookworm-netboot && ./hack/distro-repos.sh ) >"$fixtures_log" 2>&1 &
fixtures=$!
go vet -tags "$KIWI_TAGS" ./... || status=1
go test -tags "$KIWI_TAGS" -count=1 -run '^$' ./... >/dev/null || status=1
if ! wait "$fixtures"; then
  cat "$fixtures_log" >&2
  rm -f "$fixtures_log"
  echo "test.sh: building the test fixtures failed" >&2
  exit 1
fi
rm -f "$fixtures_log"
# -v output goes to a file: the console gets the package results, the
# output of failed tests only (hack/testlog.awk), and the slowest tests,
# which is what keeping the run within its time needs.
log=$(mktemp /var/tmp/kiwi-test.XXXXXX.log)
# -parallel 64: the end-to-end tests marked pooled (tests/main_test.go)
# run two at a time after the others, longest first: their own pool
# limits them, so go test's must let all of them queue there at once
# (with fewer slots than pooled tests, the rest join late).
go test -tags "$KIWI_TAGS" -count=1 -parallel 64 -timeout 85m -v ./... >"$log" 2>&1 || status=1
awk -f hack/testlog.awk "$log"
echo "slowest tests:"
grep -E '^--- (PASS|FAIL|SKIP): ' "$log" | sed 's/^--- //' | sort -t'(' -k2 -rn | head -20
echo "pooled tests (their time above includes the queue):"
grep -oE 'pool: .* queued$' "$log" | sort -k4 -rn
# The serial tests run before the pool starts: their sum is the rest of
# the run's length.
echo "serial tests:"
grep -oE 'pool: [^ ]+' "$log" | sed 's/^pool: //' >"$log.pooled"
grep -E '^--- (PASS|FAIL|SKIP): ' "$log" | sed 's/^--- //' | grep -vwFf "$log.pooled" | sort -t'(' -k2 -rn | head -25
rm -f "$log.pooled"
rm -f "$log"
# Fuzz budgets are counts of executions, not durations: Go 1.26's fuzz
# coordinator can report a spurious "context deadline exceeded" when a
# duration runs out while a worker is busy (golang/go#75804, fixed in 1.27).
# The counts take about 30 s each on 2 cores.
for target in ./oci/layerfs:FuzzApply:10000 ./build/description:FuzzLoad:100000; do
  pkg=${target%%:*} rest=${target#*:}
  fn=${rest%%:*} execs=${KIWI_FUZZ_EXECS:-${rest#*:}}
  go test -tags "$KIWI_TAGS" -run '^$' -fuzz "^$fn\$" -fuzztime "${execs}x" -fuzzminimizetime 200x "$pkg" || status=1
done
exit $status
