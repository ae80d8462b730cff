#!/usr/bin/env bash
# Run two local instances of Debian's docker-registry (Docker Distribution
# 2.8) and push effect-testcontainers/toolbox:1 to each:
#   127.0.0.1:5000   no authentication
#   127.0.0.1:5001   HTTP basic authentication, user etc-user, password
#                    etc-password, plain HTTP without TLS
# Each instance keeps its config, htpasswd file and storage in
# /var/lib/effect-testcontainers/registry/<port>/, its pid in registry.pid
# there, and logs to /var/log/effect-testcontainers-registry-<port>.log.
# Docker Engine treats 127.0.0.0/8 as an insecure registry range by default,
# so it pushes to and pulls from both over plain HTTP.
#
# Needs the engine (scripts/engine.sh) and the toolbox image (scripts/images.sh).
set -euo pipefail

state_root=/var/lib/effect-testcontainers/registry
toolbox_image=effect-testcontainers/toolbox:1
toolbox_repository=effect-testcontainers/toolbox
toolbox_tag=1
auth_user=etc-user
auth_password=etc-password
start_timeout_seconds=30

log() { printf '[registry] %s\n' "$*"; }
fail() {
  printf '[registry] error: %s\n' "$*" >&2
  exit 1
}

apt_install() {
  log "installing Debian packages: $*"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# Print the HTTP status of GET $1, or 000 when the connection fails. Extra curl
# arguments (credentials, headers) follow the URL.
http_status() {
  local url=$1
  shift
  curl --silent --output /dev/null --max-time 5 --write-out '%{http_code}' "$@" "$url" || true
}

# Succeed when a registry responds to /v2/ on port $1: 200 without
# authentication, 401 when it requires credentials.
registry_responds() {
  local status
  status="$(http_status "http://127.0.0.1:$1/v2/")"
  [[ "$status" == 200 || "$status" == 401 ]]
}

write_config() {
  local port=$1 dir=$2 with_auth=$3
  cat >"$dir/config.yml" <<YAML
# Written by scripts/registry.sh; rewritten on each run.
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
YAML
  if [[ "$with_auth" == auth ]]; then
    cat >>"$dir/config.yml" <<YAML
auth:
  htpasswd:
    realm: effect-testcontainers
    path: $dir/htpasswd
YAML
  fi
}

write_htpasswd() {
  local file=$1
  if [[ -s "$file" ]] && htpasswd -vb "$file" "$auth_user" "$auth_password" >/dev/null 2>&1; then
    return
  fi
  # The registry accepts bcrypt entries only.
  htpasswd -Bbc "$file" "$auth_user" "$auth_password" 2>/dev/null
  log "wrote $file for user $auth_user"
}

# Start the instance on port $1 unless a registry responds there. $2 is "auth"
# or "none". Return 1, after printing the log tail, when it does not respond in
# time.
start_registry() {
  local port=$1 with_auth=$2
  local dir="$state_root/$port"
  local log_file="/var/log/effect-testcontainers-registry-$port.log"

  if registry_responds "$port"; then
    log "a registry already responds on 127.0.0.1:$port"
    return 0
  fi

  mkdir -p "$dir/storage"
  write_config "$port" "$dir" "$with_auth"
  if [[ "$with_auth" == auth ]]; then
    write_htpasswd "$dir/htpasswd"
  fi

  log "starting docker-registry on 127.0.0.1:$port, log in $log_file"
  # setsid detaches the registry from this shell. Every inherited file
  # descriptor above 2 is closed, so a caller that reads our output until end
  # of file does not wait for the registry.
  (
    for fd_path in /proc/self/fd/*; do
      fd="${fd_path##*/}"
      if ((fd > 2)); then
        eval "exec ${fd}>&-" 2>/dev/null || true
      fi
    done
    exec setsid nohup docker-registry serve "$dir/config.yml" </dev/null >>"$log_file" 2>&1
  ) &
  local pid=$!
  printf '%s\n' "$pid" >"$dir/registry.pid"

  local deadline=$((SECONDS + start_timeout_seconds))
  until registry_responds "$port"; do
    if ! kill -0 "$pid" 2>/dev/null || ((SECONDS >= deadline)); then
      log "docker-registry on 127.0.0.1:$port exited or did not respond to /v2/ within ${start_timeout_seconds} s. Last lines of $log_file:"
      tail -n 20 "$log_file" >&2 || true
      kill "$pid" 2>/dev/null || true
      rm -f "$dir/registry.pid"
      return 1
    fi
    sleep 0.2
  done
  log "docker-registry (pid $pid) responds on 127.0.0.1:$port"
}

# Push the toolbox image to the registry on port $1 unless its manifest is
# there. Extra arguments are curl credentials. With them, the push logs in with
# a Docker CLI config of its own, so ~/.docker/config.json stays untouched.
push_toolbox() {
  local port=$1
  shift
  local target="127.0.0.1:$port/$toolbox_repository:$toolbox_tag"
  local manifest_url="http://127.0.0.1:$port/v2/$toolbox_repository/manifests/$toolbox_tag"
  local accept='Accept: application/vnd.docker.distribution.manifest.v2+json'

  if [[ "$(http_status "$manifest_url" -H "$accept" "$@")" == 200 ]]; then
    log "$target is already in the registry, skipping the push"
    return
  fi
  docker image inspect "$toolbox_image" >/dev/null 2>&1 \
    || fail "$toolbox_image not found; run scripts/images.sh first"

  local docker_cli=(docker)
  if [[ $# -gt 0 ]]; then
    local config_dir="$state_root/$port/docker-config"
    mkdir -p "$config_dir"
    chmod 700 "$config_dir"
    docker_cli=(docker --config "$config_dir")
    printf '%s\n' "$auth_password" \
      | "${docker_cli[@]}" login --username "$auth_user" --password-stdin "127.0.0.1:$port" >/dev/null 2>&1 \
      || fail "docker login to 127.0.0.1:$port as $auth_user failed"
  fi

  docker tag "$toolbox_image" "$target"
  if ! "${docker_cli[@]}" push "$target" >/dev/null; then
    docker image rm "$target" >/dev/null 2>&1 || true
    fail "docker push $target failed"
  fi
  # Drop the local tag, so a test that pulls $target really pulls it.
  docker image rm "$target" >/dev/null
  [[ "$(http_status "$manifest_url" -H "$accept" "$@")" == 200 ]] \
    || fail "the registry on 127.0.0.1:$port has no manifest for $target after the push"
  log "pushed $target"
}

main() {
  if ! command -v curl >/dev/null; then
    apt_install curl
  fi
  if ! command -v docker-registry >/dev/null; then
    apt_install docker-registry
  fi
  if ! command -v htpasswd >/dev/null; then
    apt_install apache2-utils
  fi

  start_registry 5000 none || fail "docker-registry on 127.0.0.1:5000 failed to start"
  push_toolbox 5000

  if start_registry 5001 auth; then
    local anonymous_status
    anonymous_status="$(http_status http://127.0.0.1:5001/v2/)"
    [[ "$anonymous_status" == 401 ]] \
      || fail "127.0.0.1:5001 returned HTTP $anonymous_status to a request without credentials, expected 401"
    push_toolbox 5001 --user "$auth_user:$auth_password"
  else
    log "skipping the registry with authentication on 127.0.0.1:5001, see the log above"
  fi
}

main "$@"
