# Sourced by the bench scripts: a private work dir with its own podman
# storage (removed, with what podman made there, when the script ends)
# and the timing helpers. $bench names the bench (set it first).
work=$(mktemp -d "/var/tmp/kiwi-bench-$bench.XXXXXX")
export CONTAINERS_STORAGE_CONF="$work/storage.conf"
printf '[storage]\ndriver = "overlay"\ngraphroot = "%s/graph"\nrunroot = "%s/run"\n' "$work" "$work" >"$CONTAINERS_STORAGE_CONF"
cleanup() {
  podman rmi --all --force >/dev/null 2>&1 || true
  podman system reset --force >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc; }
ratio() { echo "scale=1; $1 / $2" | bc; }
