# Sourced by hack/demo.sh and bench/mainjob.sh: start_registry DIR PORT
# starts Debian's docker-registry on 127.0.0.1:PORT, storing in DIR/registry
# (its config and log in DIR too), and sets registry_pid; the caller
# stops it (kill "$registry_pid") when it ends.
start_registry() {
  mkdir -p "$1/registry"
  cat >"$1/registry.yml" <<YML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $1/registry}}
http: {addr: 127.0.0.1:$2}
YML
  docker-registry serve "$1/registry.yml" >"$1/registry.log" 2>&1 &
  registry_pid=$!
  sleep 2
  kill -0 "$registry_pid" 2>/dev/null || { cat "$1/registry.log" >&2; echo "docker-registry did not start on 127.0.0.1:$2" >&2; return 1; }
}
